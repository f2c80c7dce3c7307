"""Shenzhen's districts, streets and communities, as the duties list and analysts need them.

Read straight from ``configs/gazetteer/shenzhen.yaml`` and ``communities.yaml`` (the
leadfinder's resolver reads the same files for matching text; here only the names and
which street holds which community matter): to check a place an analyst types, to accept
short forms (西乡 → 西乡街道, 宝安 → 宝安区) and to name the street office that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from xianban.configfile import SafeLoader
from xianban.errors import ConfigError
from xianban.records import Geo


@dataclass(frozen=True, slots=True)
class District:
    name: str
    short: str
    streets: frozenset[str]
    """Full street names (西乡街道)."""


class Places:
    """The administrative places of Shenzhen: district → streets → communities."""

    def __init__(
        self,
        districts: dict[str, District],
        communities: dict[str, tuple[tuple[str, str], ...]],
        aliases: dict[str, str],
    ) -> None:
        self.districts = districts
        self.communities = communities
        self._aliases = aliases
        self._short = {d.short: d.name for d in districts.values()}
        self.street_district = {s: d.name for d in districts.values() for s in d.streets}

    @classmethod
    def load(cls, configs_dir: Path) -> Places:
        return _load(configs_dir.resolve())

    def short(self, district: str) -> str:
        found = self.districts.get(district)
        return found.short if found else district.removesuffix("区")

    def district_name(self, value: str) -> str | None:
        """宝安区, 宝安 or 光明新区 → the district's name; None if it is no district."""
        value = value.strip()
        if value in self.districts:
            return value
        return self._aliases.get(value) or self._short.get(value)

    def street_name(self, value: str, district: str | None) -> str | None:
        """西乡街道 or 西乡 (in 宝安区) → 西乡街道; None if no such street (there)."""
        value = value.strip()
        full = value if value.endswith("街道") else f"{value}街道"
        home = self.street_district.get(full)
        if home is None or (district is not None and home != district):
            return None
        return full

    def community_homes(self, value: str) -> tuple[tuple[str, str], ...]:
        value = value.strip()
        full = value if value.endswith("社区") else f"{value}社区"
        return self.communities.get(full, ())

    def check(self, geo: Geo) -> tuple[Geo, list[str]]:
        """The place in full names, and what is wrong with it (Chinese, for the analyst).

        A street must lie in the district, a community in the street; a street or community
        alone fills in its district (and street) when the name is unique."""
        problems: list[str] = []
        district = street = community = None
        if geo.district:
            district = self.district_name(geo.district)
            if district is None:
                problems.append(f"深圳没有“{geo.district}”这个区")
        if geo.street:
            street = self.street_name(geo.street, district)
            if street is None:
                where = f"{district}没有" if district else "深圳没有"
                problems.append(f"{where}“{geo.street}”这个街道")
            elif district is None and not geo.district:
                district = self.street_district[street]
        if geo.community:
            homes = self.community_homes(geo.community)
            fitting = [
                (d, s)
                for d, s in homes
                if (district is None or d == district) and (street is None or s == street)
            ]
            full = geo.community if geo.community.endswith("社区") else f"{geo.community}社区"
            if not fitting:
                where = street or district or "深圳"
                problems.append(f"{where}没有“{geo.community}”这个社区")
            elif len(fitting) == 1:
                community = full
                district, street = district or fitting[0][0], street or fitting[0][1]
            else:
                community = full
                problems.append(f"“{full}”不止一个，请同时填写所在街道")
        fixed = geo.model_copy(
            update={
                "district": district or (geo.district if problems else None),
                "street": street,
                "community": community,
            }
        )
        return fixed, problems


@lru_cache(maxsize=4)
def _load(configs_dir: Path) -> Places:
    folder = configs_dir / "gazetteer"
    shenzhen = _read(folder / "shenzhen.yaml")
    communities_file = _read(folder / "communities.yaml")
    try:
        districts = {
            name: District(
                name=name,
                short=str(body["short"]),
                streets=frozenset(f"{s}街道" for s in body["streets"]),
            )
            for name, body in shenzhen["districts"].items()
        }
        communities = {
            str(name): tuple((str(d), str(s)) for d, s in homes)
            for name, homes in communities_file["communities"].items()
        }
        aliases = {str(k): str(v) for k, v in (shenzhen.get("district_aliases") or {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"gazetteer {folder}: unexpected shape ({exc!r})") from None
    return Places(districts, communities, aliases)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), SafeLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"gazetteer {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"gazetteer {path}: not a mapping")
    return data
