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
    not_places: frozenset[str]


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
    communities: Communities
    outside: Outside

    @model_validator(mode="after")
    def _anchors_exist(self) -> Gazetteer:
        """A road or POI must point at a district and street this gazetteer knows."""
        streets = self.street_district()
        for alias, target in self.shenzhen.district_aliases.items():
            if target not in self.shenzhen.districts:
                raise ValueError(f"{alias}: unknown district {target}")
        for name, (district, street) in {**self.places.roads, **self.places.pois}.items():
            if district is not None and district not in self.shenzhen.districts:
                raise ValueError(f"{name}: unknown district {district}")
            if street is not None and streets.get(street) != district:
                raise ValueError(f"{name}: street {street} is not in {district}")
        for name, homes in self.communities.communities.items():
            for district, street in homes:
                if streets.get(street) != district:
                    raise ValueError(f"{name}: street {street} is not in {district}")
        return self

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
    for part in ("shenzhen", "places", "communities", "outside"):
        path = folder / f"{part}.yaml"
        try:
            parts[part] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"gazetteer {path}: {exc}") from exc
    try:
        return Gazetteer.model_validate(parts)
    except ValidationError as exc:
        raise ConfigError(f"gazetteer {folder}: {exc}") from exc
