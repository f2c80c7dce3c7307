"""The shipped gazetteer (configs/gazetteer/), validated once at load.

Names are data, not code: a wrong or missing place is fixed in YAML, and a typo there
(a street under no district, a POI pointing at an unknown street) fails at start-up
instead of quietly placing posts in the wrong district.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xianban.errors import ConfigError

Anchor = tuple[str | None, str | None]
StreetCode = Annotated[str, Field(pattern=r"^4403\d{5}$")]


class District(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    short: str
    streets: dict[str, StreetCode]


class Shenzhen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    districts: dict[str, District]
    ambiguous_short: frozenset[str]
    weak_district_short: frozenset[str]
    district_aliases: dict[str, str]


class Places(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    roads: dict[str, Anchor]
    pois: dict[str, Anchor]
    # A short or former name → the road or POI it stands for.
    aliases: dict[str, str] = Field(default_factory=dict)
    not_places: frozenset[str]


class Metro(BaseModel):
    """Metro stations: the line maps (for completeness checks) and each station's anchor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lines: dict[str, tuple[str, ...]]
    stations: dict[str, Anchor]
    # The bare name is an ordinary word or another place: only "X站" forms count.
    suffix_only: frozenset[str]
    # The bare name counts only with a locative word or a place of the same district.
    weak: frozenset[str]


class Communities(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    communities: dict[str, tuple[tuple[str, str], ...]]


class Outside(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cities: tuple[str, ...]
    districts: dict[str, str]


class Gazetteer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    shenzhen: Shenzhen
    places: Places
    metro: Metro
    communities: Communities
    outside: Outside

    @model_validator(mode="after")
    def _anchors_exist(self) -> Gazetteer:
        """A road or POI must point at a district and street this gazetteer knows."""
        streets = self.street_district()
        for alias, target in self.shenzhen.district_aliases.items():
            if target not in self.shenzhen.districts:
                raise ValueError(f"{alias}: unknown district {target}")
        anchored = (self.places.roads, self.places.pois, self.metro.stations)
        for name, (district, street) in (item for part in anchored for item in part.items()):
            if district is not None and district not in self.shenzhen.districts:
                raise ValueError(f"{name}: unknown district {district}")
            if street is not None and streets.get(street) != district:
                raise ValueError(f"{name}: street {street} is not in {district}")
        for alias, target in self.places.aliases.items():
            if target not in self.places.roads and target not in self.places.pois:
                raise ValueError(f"alias {alias}: {target} is no road or POI")
        self._check_metro()
        for name, homes in self.communities.communities.items():
            for district, street in homes:
                if streets.get(street) != district:
                    raise ValueError(f"{name}: street {street} is not in {district}")
        return self

    def _check_metro(self) -> None:
        """Every station on a line has an anchor and the reverse; a station also listed as a
        POI must sit in the same place, or the two files contradict each other."""
        metro = self.metro
        on_lines = {s for stations in metro.lines.values() for s in stations}
        if missing := sorted(on_lines - set(metro.stations)):
            raise ValueError(f"stations without an anchor: {missing}")
        if unused := sorted(set(metro.stations) - on_lines):
            raise ValueError(f"stations on no line: {unused}")
        for part in ("suffix_only", "weak"):
            if odd := sorted(getattr(metro, part) - set(metro.stations)):
                raise ValueError(f"metro {part}: not stations: {odd}")
        if both := sorted(metro.suffix_only & metro.weak):
            raise ValueError(f"metro: both suffix_only and weak: {both}")
        for name, anchor in metro.stations.items():
            for poi in (name, f"{name}站"):
                if poi in self.places.pois and self.places.pois[poi] != anchor:
                    raise ValueError(
                        f"station {name} {list(anchor)} and POI {poi} "
                        f"{list(self.places.pois[poi])} disagree"
                    )

    def street_district(self) -> dict[str, str]:
        """Full street name → its district."""
        return {
            f"{s}街道": d
            for d, district in self.shenzhen.districts.items()
            for s in district.streets
        }


def load_gazetteer(configs_dir: Path) -> Gazetteer:
    """Read the gazetteer files; any problem is one ConfigError naming the file."""
    folder = configs_dir / "gazetteer"
    parts: dict[str, object] = {}
    for part in ("shenzhen", "places", "metro", "communities", "outside"):
        path = folder / f"{part}.yaml"
        try:
            parts[part] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"gazetteer {path}: {exc}") from exc
    try:
        return Gazetteer.model_validate(parts)
    except ValidationError as exc:
        raise ConfigError(f"gazetteer {folder}: {exc}") from exc
