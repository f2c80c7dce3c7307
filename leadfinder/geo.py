"""Where a post is: one Aho-Corasick pass over every place name, then a vote.

Short names are the hard part. Many street names are ordinary words (光明, 凤凰, 东门) or
equal a district's (龙华街道 vs 龙华区), so an ambiguous short form is only "weak"
evidence: it counts when another place of the same district is named too, or when a
locative word follows it ("东门这边" is the street, "小区东门" a gate). Other cities'
districts are in the automaton as well, so "广州天河" says *not ours* instead of nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import ahocorasick

from leadfinder.gazetteer import Gazetteer, load_gazetteer
from xianban.records import Geo, PlaceHints

Precision = Literal["none", "city", "district", "street", "community", "road", "poi"]
Kind = Literal["district", "street", "community", "road", "poi", "city", "outside", "noise"]

CROSSING = re.compile(
    r"([\u4e00-\u9fff0-9]{1,8}?(?:大道|路|街))[与和跟同及]"
    r"([\u4e00-\u9fff0-9]{1,8}?(?:大道|路|街))(?:的)?(?:交叉口|交汇处|十字路口|路口|交界)"
)
# The regex costs more than the whole automaton pass; most posts have none of these words.
CROSSING_WORDS = ("路口", "交叉", "交汇", "交界")
SHENZHEN = ("深圳", "鹏城")
# Words after a bare name that make it a place: "东门这边" is the street, "小区东门" is a gate.
LOCATIVE_CUES = frozenset(
    (
        "这边",
        "那边",
        "这里",
        "那里",
        "这块",
        "那块",
        "这一",
        "那一",
        "附近",
        "一带",
        "片区",
        "周边",
        "辖区",
        "街道",
        "这儿",
        "那儿",
        "一片",
    )
)


@dataclass(frozen=True, slots=True)
class GeoMatch:
    geo: Geo
    precision: Precision
    in_shenzhen: bool | None
    outside: str | None
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: Kind
    name: str
    district: str | None
    street: str | None
    weak: bool
    # Every (district, street) of a community name shared by several streets.
    homes: tuple[tuple[str, str], ...] = ()


NOWHERE = GeoMatch(Geo(), "none", None, None, ())


class GeoResolver:
    """Built once from the gazetteer; resolve() is one automaton pass plus a small vote."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._automaton = ahocorasick.Automaton()
        self._entries: dict[str, _Entry] = {}
        self._cued: dict[str, _Entry] = {}
        sz = gazetteer.shenzhen
        # First, so that "招商银行" is a longer match that hides 招商 (and wins any clash).
        for phrase in sorted(gazetteer.places.not_places):
            self._add(phrase, _Entry("noise", phrase, None, None, weak=False))
        for district, info in sz.districts.items():
            self._add(district, _Entry("district", district, district, None, weak=False))
            weak_short = info.short in sz.weak_district_short
            self._add(info.short, _Entry("district", district, district, None, weak=weak_short))
            for short in info.streets:
                street = f"{short}街道"
                entry = _Entry("street", street, district, street, weak=False)
                self._add(street, entry)
                self._add(f"{info.short}{short}", entry)
                self._add(f"{district}{short}", entry)
                if short != info.short:
                    self._add(
                        short,
                        _Entry("street", street, district, street, short in sz.ambiguous_short),
                    )
        for alias, district in sz.district_aliases.items():
            self._add(alias, _Entry("district", district, district, None, weak=False))
        for name, (anchor_d, anchor_s) in gazetteer.places.roads.items():
            self._add(name, _Entry("road", name, anchor_d, anchor_s, weak=False))
        for name, (anchor_d, anchor_s) in gazetteer.places.pois.items():
            self._add(name, _Entry("poi", name, anchor_d, anchor_s, weak=False))
        shorts = {district: info.short for district, info in sz.districts.items()}
        for name, homes in gazetteer.communities.communities.items():
            # "光明区凤凰社区" would otherwise be read as 光明区凤凰 (the street) + 社区.
            for district in {d for d, _ in homes}:
                narrowed = _community(name, tuple(h for h in homes if h[0] == district))
                self._add(f"{district}{name}", narrowed)
                self._add(f"{shorts[district]}{name}", narrowed)
            self._add(name, _community(name, homes))
        for city in SHENZHEN:
            self._add(city, _Entry("city", city, None, None, weak=False))
        for city in gazetteer.outside.cities:
            self._add(city, _Entry("outside", city, None, None, weak=False))
        for name, city in gazetteer.outside.districts.items():
            self._add(name, _Entry("outside", f"{city}{name}", None, None, weak=False))
        self._automaton.make_automaton()

    def _add(self, surface: str, entry: _Entry) -> None:
        # A stronger entry wins a clash (the same surface from two lists): first one stays.
        if surface not in self._entries:
            self._entries[surface] = entry
            self._automaton.add_word(surface, surface)
            if entry.weak:
                self._cued[surface] = replace(entry, weak=False)

    @classmethod
    def load(cls, configs_dir: Path) -> GeoResolver:
        return cls(load_gazetteer(configs_dir))

    def patterns(self) -> Iterable[tuple[str, str]]:
        """Shenzhen surface forms for jieba user dictionaries: (form, kind)."""
        for surface, entry in self._entries.items():
            if entry.kind in ("district", "street", "community", "road", "poi"):
                yield surface, entry.kind

    def resolve(self, text: str, hints: PlaceHints | None = None) -> GeoMatch:
        found = self._scan(text)
        if hints is not None and hints.poi:
            found += self._scan(hints.poi)
        match = self._vote(found, text)
        if match.in_shenzhen is None and hints is not None:
            return self._from_hints(hints, match)
        return match

    def _scan(self, text: str) -> list[tuple[str, _Entry]]:
        """Every match not inside a longer one, in text order.

        Not iter_long: its leftmost-longest choice lets "罗湖东门" (district + street) eat
        the start of "东门步行街"; keeping every maximal match keeps both.
        """
        hits = sorted(
            ((end - len(surface) + 1, end, surface) for end, surface in self._automaton.iter(text)),
            key=lambda hit: (hit[0], -hit[1]),
        )
        found = []
        reach = -1
        for _, end, surface in hits:
            if end <= reach:
                continue  # inside an earlier, longer match: 南山 in 寿比南山, 招商 in 招商银行
            reach = end
            entry = self._entries[surface]
            if entry.weak and text[end + 1 : end + 3] in LOCATIVE_CUES:
                entry = self._cued[surface]
            found.append((surface, entry))
        return found

    def _vote(self, found: list[tuple[str, _Entry]], text: str) -> GeoMatch:
        crossing = CROSSING.search(text) if any(w in text for w in CROSSING_WORDS) else None
        if not found and crossing is None:
            return NOWHERE  # most posts name no place: skip the vote entirely
        strong = [
            (s, e) for s, e in found if not e.weak and e.kind not in ("city", "outside", "noise")
        ]
        votes = Counter(e.district for _, e in strong if e.district is not None)
        weak = [(s, e) for s, e in found if e.weak and e.district in votes]
        places = strong + weak
        if not places and crossing is None:
            outside = next((e.name for _, e in found if e.kind == "outside"), None)
            if outside is not None:
                return GeoMatch(Geo(), "none", False, outside, (f"外地:{outside}",))
            if any(e.kind == "city" for _, e in found):
                return GeoMatch(Geo(), "city", True, None, ("地名:深圳",))
            return NOWHERE
        votes.update(e.district for _, e in weak if e.district is not None)
        district = votes.most_common(1)[0][0] if votes else None
        ours = [(s, e) for s, e in places if e.district in (district, None)]
        street = _first(e.street for _, e in ours if e.kind == "street")
        street = street or _unique(e.street for _, e in ours if e.street is not None)
        street = street or _unique(
            s for _, e in ours for d, s in e.homes if d == district and e.kind == "community"
        )
        community = _first(e.name for _, e in ours if e.kind == "community")
        road = _first(e.name for _, e in ours if e.kind == "road")
        if crossing is not None:
            road = road or crossing.group(1)
        poi = _first(e.name for _, e in ours if e.kind == "poi")
        geo = Geo(district=district, street=street, community=community, road=road, poi=poi)
        evidence = tuple(f"地名:{s}→{e.district or '深圳'}" for s, e in ours)
        if crossing is not None:
            evidence += (f"路口:{crossing.group(0)}",)
        return GeoMatch(geo, _precision(geo), True, None, evidence)

    def _from_hints(self, hints: PlaceHints, match: GeoMatch) -> GeoMatch:
        """The platform's IP属地 or city field: city-level at best, never a district."""
        for label in (hints.city, hints.ip_location):
            if not label:
                continue
            if any(city in label for city in SHENZHEN):
                return GeoMatch(Geo(), "city", True, None, (f"平台属地:{label}",))
            other = self._vote(self._scan(label), label)
            if other.in_shenzhen is False and label is hints.city:
                return GeoMatch(Geo(), "none", False, other.outside, (f"平台城市:{label}",))
        return match


def _community(name: str, homes: tuple[tuple[str, str], ...]) -> _Entry:
    """A shared name keeps only what all its homes agree on; the vote may narrow it later."""
    district = _unique(d for d, _ in homes)
    street = _unique(s for _, s in homes)
    return _Entry("community", name, district, street, weak=False, homes=homes)


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v is not None), None)


def _unique(values: Iterable[str | None]) -> str | None:
    """The one value all sources agree on, or None: a shared name keeps the coarser level."""
    distinct = {v for v in values if v is not None}
    return distinct.pop() if len(distinct) == 1 else None


def _precision(geo: Geo) -> Precision:
    levels: tuple[Precision, ...] = ("poi", "road", "community", "street", "district")
    return next((level for level in levels if getattr(geo, level) is not None), "city")
