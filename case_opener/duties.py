"""The duties list (权责清单): category and sub-item × place → the unit that acts, and why.

``configs/routing.yaml`` is the data; this module validates it once and applies it. A
decision is a ``Route``: the unit's official name, its level, the place it was decided at
and one line per step (which entry, which phrase chose the sub-item, which fallback), so
the case can say why it went where it went and a 退单 can be argued with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import opencc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from case_opener.places import Places
from xianban.configfile import load_yaml
from xianban.errors import ConfigError
from xianban.labels import CATEGORY_LABELS, UNIT_LEVEL_LABELS
from xianban.records import CATEGORIES, Geo, Lead, UnitLevel

# The list's phrases are simplified Chinese; a post from a mirror site or a Hong Kong
# writer in traditional characters (外牆的瓷磚) names the same matter.
_T2S = opencc.OpenCC("t2s")


class Unit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: UnitLevel
    name: str | None = None
    """Template; street and community units take theirs from ``names``."""
    city: str | None = None
    """District units: the city-level counterpart when the district is unknown."""

    @model_validator(mode="after")
    def _named(self) -> Unit:
        if self.level in ("city", "district") and not self.name:
            raise ValueError(f"a {self.level} unit needs a name")
        if self.level == "city" and self.name and "{" in self.name:
            raise ValueError(f"a city unit's name takes no place: {self.name}")
        return self


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str
    phrases: list[str] = Field(min_length=1)
    unit: Unit


class Matter(BaseModel):
    """A matter (事项) that names the acting unit whatever category the text was filed under."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    matter: str
    category: str
    phrases: list[str] = Field(min_length=1)
    unit: Unit


class Duty(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Unit
    items: list[Item] = Field(default_factory=list)


class Names(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    street: str
    community: str
    district_centre: str
    city_centre: str


class DutiesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    names: Names
    district_names: dict[str, dict[str, str]] = Field(default_factory=dict)
    default: Unit
    matters: list[Matter] = Field(default_factory=list)
    categories: dict[str, Duty]

    @model_validator(mode="after")
    def _every_category(self) -> DutiesFile:
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        missing = sorted(set(CATEGORIES) - set(self.categories))
        if unknown or missing:
            raise ValueError(f"categories: unknown {unknown}, missing {missing}")
        odd = sorted({m.category for m in self.matters} - set(CATEGORIES))
        if odd:
            raise ValueError(f"matters: unknown categories {odd}")
        return self


@dataclass(frozen=True, slots=True)
class Route:
    """Where a case goes: the unit, its level, the place decided at, and why."""

    unit: str
    level: UnitLevel
    category: str
    item: str | None
    district: str | None
    street: str | None
    community: str | None
    why: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "unit_level": self.level,
            "category": self.category,
            "item": self.item,
            "district": self.district,
            "street": self.street,
            "community": self.community,
            "why": list(self.why),
        }


class DutiesList:
    """The validated duties list over the gazetteer's places."""

    def __init__(self, duties: DutiesFile, places: Places) -> None:
        self.duties = duties
        self.places = places
        self._check_district_names()

    @classmethod
    def load(cls, configs_dir: Path) -> DutiesList:
        return cls(load_yaml(DutiesFile, configs_dir / "routing.yaml"), Places.load(configs_dir))

    def _check_district_names(self) -> None:
        for district in self.duties.district_names:
            if district not in self.places.districts:
                raise ConfigError(f"routing.yaml district_names: unknown district {district}")

    def route(
        self,
        category: str,
        geo: Geo,
        text: str = "",
        *,
        exclude: frozenset[str] = frozenset(),
        matters: bool = True,
    ) -> Route:
        """The unit for a problem of ``category`` at ``geo`` described by ``text``.

        ``exclude`` names units that already sent the case back: the entry is skipped for
        the next one down (the category's own unit, then the street office). ``matters``
        off applies the category's own duty only (what the simulated city judges by)."""
        label = CATEGORY_LABELS.get(category, category)
        duty = self.duties.categories.get(category)
        text = _T2S.convert(text)
        steps: list[str] = []
        candidates: list[tuple[Unit, str | None, str]] = []
        for matter in self.duties.matters if matters else ():
            hit = next((p for p in matter.phrases if p in text), None)
            if hit is not None and matter.category == category:
                break  # the first matter named is the lead's own: its items are the finer duty
            if hit is not None:
                owner = CATEGORY_LABELS.get(matter.category, matter.category)
                candidates.append(
                    (matter.unit, matter.matter, f"事项“{matter.matter}”（命中“{hit}”，{owner}）")
                )
                break
        if duty is None:
            candidates.append((self.duties.default, None, f"分类“{label}”不在权责清单中"))
        else:
            for item in duty.items:
                hit = next((p for p in item.phrases if p in text), None)
                if hit is not None:
                    candidates.append((item.unit, item.item, f"{label}·{item.item}（命中“{hit}”）"))
                    break
            candidates.append((duty.unit, None, f"{label}（本类默认承办）"))
        candidates.append((Unit(level="street"), None, "属地街道办事处兜底"))
        return self._first(category, candidates, self._place(geo), steps, exclude)

    def route_lead(self, lead: Lead) -> Route:
        """The unit for ``lead``: its category and place, and the matter its title or text names
        (the case opener files by this, the lead page shows it, ``eval --sim`` judges it)."""
        return self.route(lead.category, lead.geo, f"{lead.title or ''}\n{lead.text}")

    def street_office(self, geo: Geo) -> Route:
        """The street office holding ``geo`` (for 现场核查), or the dispatch centre above."""
        candidates: list[tuple[Unit, str | None, str]] = [
            (Unit(level="street"), None, "现场核查由属地街道办事处承办")
        ]
        return self._first("", candidates, self._place(geo), [], frozenset())

    def _first(
        self,
        category: str,
        candidates: list[tuple[Unit, str | None, str]],
        place: tuple[str | None, str | None, str | None],
        steps: list[str],
        exclude: frozenset[str],
    ) -> Route:
        for unit, item, entry in candidates:
            name, level, place_steps = self._name(unit, place)
            if name in exclude:
                steps.append(f"{name} 已退单，改派下一承办单位")
                continue
            steps.append(f"权责清单：{entry} → {UNIT_LEVEL_LABELS[unit.level]}单位")
            steps.extend(place_steps)
            steps.append(f"承办单位：{name}（{UNIT_LEVEL_LABELS[level]}）")
            return Route(name, level, category, item, *place, tuple(steps))
        centre = self.duties.names.city_centre
        steps.append(f"承办单位：{centre}（市级，由市民生诉求中心分拨）")
        return Route(centre, "city", category, None, *place, tuple(steps))

    def _place(self, geo: Geo) -> tuple[str | None, str | None, str | None]:
        """(district, street, community) in full names; what the gazetteer does not know is
        dropped, and a known street or community fills in what holds it."""
        fixed, _ = self.places.check(geo)
        district = fixed.district if fixed.district in self.places.districts else None
        street = fixed.street if fixed.street in self.places.street_district else None
        if street is not None and self.places.street_district[street] != district:
            street = None
        community = fixed.community if street is not None else None
        return district, street, community

    def _name(
        self, unit: Unit, place: tuple[str | None, str | None, str | None]
    ) -> tuple[str, UnitLevel, list[str]]:
        district, street, community = place
        names = self.duties.names
        where = " ".join(p for p in place if p) or "未识别"
        steps = [f"地点：{where}"]
        level: UnitLevel = unit.level
        if level == "community" and community is None:
            steps.append("未识别社区，由所在街道办事处承办")
            level = "street"
        if level == "street" and street is None:
            if district is None:
                steps.append("未识别所在区与街道，由市民生诉求中心分拨")
                return names.city_centre, "city", steps
            steps.append(f"未识别街道，由{district}民生诉求中心分拨")
            return self._fill(names.district_centre, district), "district", steps
        if level == "district" and district is None:
            if unit.city:
                steps.append(f"未识别所在区，由市级主管部门 {unit.city} 承办")
                return unit.city, "city", steps
            steps.append("未识别所在区，由市民生诉求中心分拨")
            return names.city_centre, "city", steps
        template = {
            "community": names.community,
            "street": names.street,
        }.get(level, unit.name or "")
        return self._fill(template, district, street, community), level, steps

    def _fill(
        self,
        template: str,
        district: str | None,
        street: str | None = None,
        community: str | None = None,
    ) -> str:
        if district is not None:
            template = self.duties.district_names.get(district, {}).get(template, template)
        return template.format(
            district=district or "",
            short=self.places.short(district) if district else "",
            street=street or "",
            community=community or "",
        )

    def units(self) -> set[str]:
        """Every unit name the list can produce (for checking a unit a 退单 suggests)."""
        out = {self.duties.names.city_centre}
        units = [self.duties.default, *(m.unit for m in self.duties.matters)]
        for duty in self.duties.categories.values():
            units.append(duty.unit)
            units.extend(item.unit for item in duty.items)
        for district, body in self.places.districts.items():
            out.add(self._fill(self.duties.names.district_centre, district))
            for street in body.streets:
                out.add(self._fill(self.duties.names.street, district, street))
            for unit in units:
                if unit.level == "district" and unit.name:
                    out.add(self._fill(unit.name, district))
        for unit in units:
            if unit.level == "city" and unit.name:
                out.add(unit.name)
            if unit.city:
                out.add(unit.city)
        for name, homes in self.places.communities.items():
            for district, street in homes:
                out.add(self._fill(self.duties.names.community, district, street, name))
        return out
