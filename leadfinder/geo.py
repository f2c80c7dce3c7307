"""Where a post is: one Aho-Corasick pass over every place name, place shapes, then a vote.

Short names are the hard part. Many street names are ordinary words (光明, 凤凰, 东门) or
equal a district's (龙华街道 vs 龙华区), so an ambiguous short form is only "weak"
evidence: it counts when another place of the same district is named too, or when a
locative word follows it ("东门这边" is the street, "小区东门" a gate); a district's own
weak name (光明, 大鹏) also counts alone, outside the idioms listed as not places. Other cities'
districts are in the automaton as well, so "广州天河" says *not ours* instead of nothing,
and a Shenzhen name right after another city's ("杭州万象城") is that city's.

Places the gazetteer lacks are read by their shape: a name ending in 路/大道/街/巷 is a
road, one ending in 花园/小区/村/广场/大厦/学校/医院/公园/站 … a POI. A shape gives the
road or POI as written; its district comes only from the gazetteer places named with it
(or a street's name at its start: "新安三路"), never from the shape itself.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from leadfinder.evidence import BYTES, byte_automaton
from leadfinder.gazetteer import Gazetteer, load_gazetteer
from leadfinder.normalise import normalise
from xianban.records import Geo, PlaceHints

Precision = Literal["none", "city", "district", "street", "community", "road", "poi"]
Kind = Literal["district", "street", "community", "road", "poi", "city", "outside", "noise"]

SHENZHEN = ("深圳", "鹏城")


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


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
        "这家",
        "那家",
        "这条",
        "那条",
        "这间",
        "那间",
    )
)

# --- place shapes -----------------------------------------------------------------------
ROAD_SUFFIXES = ("大道", "公路", "高速", "国道", "大街", "隧道", "路", "街", "巷", "道")
POI_SUFFIXES = (
    "地铁站",
    "幼儿园",
    "工业区",
    "工业园",
    "产业园",
    "科技园",
    "步行街",
    "商业街",
    "美食街",
    "城中村",
    "社区",
    "花园",
    "小区",
    "新村",
    "山庄",
    "华庭",
    "家园",
    "公寓",
    "大楼",
    "大厦",
    "广场",
    "中心",
    "学校",
    "小学",
    "中学",
    "医院",
    "公园",
    "市场",
    "商场",
    "村",
    "苑",
    "站",
)
_NAME_CHAR = re.compile(r"[\u4e00-\u9fff0-9a-z]")
# Characters a place name does not continue through, walking left from its suffix.
_STOPS = frozenset(
    "的在了是到从往去近靠旁边这那个和与跟及或我你他她它们家住就都也又还有没被把给对向离过条"
    "座栋说看走开进回来让叫啊呢吧吗呀哦嘛很太真好最更非每各整全多少几经沿穿绕堵要想能会该"
    "己种样么啥些怎谁哪咋刚已曾将用比像享现见"
)
# Names that start with a stop character: "和平路", "同乐村".
_UNSPLIT = frozenset(
    ("和平", "和谐", "同乐", "同富", "同心", "同德", "向西", "向南", "回龙", "开元")
)
# Leading words that are no part of the name: "楼下幸福花园" is 幸福花园.
_LEADING = (
    "楼下",
    "楼上",
    "门口",
    "对面",
    "隔壁",
    "附近",
    "旁边",
    "后面",
    "前面",
    "里面",
    "外面",
    "周边",
    "今天",
    "昨天",
    "刚才",
    "早上",
    "晚上",
    "中午",
    "下午",
    "上午",
    "凌晨",
    "每天",
    "一直",
    "经常",
    "天天",
    "现在",
    "终于",
    "竟然",
    "居然",
    "地铁",
    "坐地铁",
)
# A whole prefix that names a kind of place, not a place: 十字路, 公交站, 城中村, 人民医院.
_GENERIC = _words(
    "十字 人行 非机动 机动 城中 农贸 肉菜 生鲜 二手 批发 公交 地铁 火车 "
    "高铁 汽车 客运 加油 充电 垃圾 回收 中转 转运 变电 服务 收费 检查 "
    "消防 救助 卫生 工作 活动 文化 体育 购物 商业 美食 小吃 步行 老旧 "
    "城市 社区 物业 停车 地下 网红 私立 公立 民办 附属 三甲 口腔 妇幼 "
    "中医 儿童 眼科 精神 专科 人民 第一 第二 第三 初级 高级 职业 技工 "
    "培训 特殊 寄宿 国际 双语 实验 湿地 森林 郊野 主题 海滨 滨海 口袋 "
    "屋顶 空中 高档 度假 学生 孩子 小孩 我家 我们 你们 他们 咱们 这个 "
    "那个 一个 整个 每个 几个 周围 市中 市区 全市 本市 附近 这家 那家 "
    "一家 新建 在建 烂尾 指挥 调度 客服 维修 数据 健身 养老 社康 医疗 "
    "急救 检测 政务 商务 物流 配送 交易 展览 会议 研发 创新 孵化 运营 "
    "呼叫 投诉 受理 一条 这条 那条 小区 花园 大门 后门 东门 西门 南门 "
    "北门 正门 侧门 出口 入口 附属"
)
# Words "X路/X街" form with what follows: "路灯", "路过", "街道", "街坊".
_NEXT_REJECT = {
    "路": frozenset("过人线费径数子由况灯面牌标障基沿肩政网演虎易"),
    "街": frozenset("道坊区舞机拍霸头"),
    "站": frozenset("着起立长岗队稳住满在了"),
    "村": frozenset("民委长干子"),
}
# Last character of a prefix that makes "X路" an ordinary word: 马路, 走路, 一路, 逛街.
_ROAD_PREFIX_END_REJECT = {
    "路": frozenset("马道铁山小大水土网电线近远迷走修过让拦开绕带夜老岔公"),
    "街": frozenset("条上逛满过沿临当扫主后横花长宽整大老一"),
    "巷": frozenset("小深陋窄"),
}
_ORDINALS = frozenset("一二三四五六七八九十")
_DIRECTIONS = frozenset("东西南北中")
# "新安六路", "沙河西路": a street's name, then only a number or a direction, then the suffix.
_NUMBERED = _ORDINALS | _DIRECTIONS
ROAD_MAX_PREFIX = 5
POI_MAX_PREFIX = 6


# The suffixes, longest first; the checks on the characters around one are done in Python on
# the few candidates (a look-behind in the regex costs 5x the whole search).
_SHAPE = re.compile("|".join(sorted((*ROAD_SUFFIXES, *POI_SUFFIXES), key=len, reverse=True)))
# Two characters that can both be part of a name: no punctuation, no stop character.
_NAMED_PAIR = re.compile(f"[^\\W_{re.escape(''.join(sorted(_STOPS)))}]{{2}}")

# --- crossings and exits ------------------------------------------------------------
_CONNECTORS = ("与", "和", "跟", "同", "及", "、", "/", "交")
_CROSS_WORDS = (
    "交叉路口",
    "十字路口",
    "交叉口",
    "交汇处",
    "交界处",
    "交汇",
    "交界",
    "交叉",
    "路口",
    "口",
)
_EXIT = re.compile(r"[a-h][0-9]?(?:出口|口)|[a-h]出入口")


# Place shapes kept per post: each is checked against the ones before it.
MAX_SHAPES = 32


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
    # "民治街道": the official form names the street outright, over any POI's anchor.
    official: bool = False
    # A metro station form: an exit ("A口", "C出口") may follow.
    station: bool = False
    # Read from its shape, not the gazetteer: no anchor of its own.
    shape: bool = False


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int  # exclusive
    surface: str
    entry: _Entry


NOWHERE = GeoMatch(Geo(), "none", None, None, ())
CITY = GeoMatch(Geo(), "city", True, None, ("地名:深圳",))
_ANCHORED = ("district", "street", "community", "road", "poi")
# Gazetteer kinds that are themselves names a shape must not overlap.
_NAMES = ("road", "poi", "community", "noise")


class GeoResolver:
    """Built once from the gazetteer; resolve() is one automaton pass plus a small vote."""

    def __init__(self, gazetteer: Gazetteer) -> None:
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
                official = _Entry("street", street, district, street, weak=False, official=True)
                entry = _Entry("street", street, district, street, weak=False)
                self._add(street, official)
                self._add(f"{district}{short}", entry)
                self._add(f"{info.short}{short}", entry)
                self._add(f"{short}镇", entry)  # the town it was before it became a street
                if short != info.short:
                    self._add(
                        short,
                        _Entry("street", street, district, street, short in sz.ambiguous_short),
                    )
        for alias, district in sz.district_aliases.items():
            self._add(alias, _Entry("district", district, district, None, weak=False))
        places = gazetteer.places
        for name, (anchor_d, anchor_s) in places.roads.items():
            self._add(name, _Entry("road", name, anchor_d, anchor_s, weak=False))
        for name, (anchor_d, anchor_s) in places.pois.items():
            self._add(name, _Entry("poi", name, anchor_d, anchor_s, weak=False))
        for alias, target in places.aliases.items():
            kind: Kind = "road" if target in places.roads else "poi"
            anchor_d, anchor_s = places.roads.get(target) or places.pois[target]
            self._add(alias, _Entry(kind, target, anchor_d, anchor_s, weak=False))
        metro = gazetteer.metro
        for name, (anchor_d, anchor_s) in metro.stations.items():
            station = name if name.endswith("站") else f"{name}站"
            entry = _Entry("poi", station, anchor_d, anchor_s, weak=False, station=True)
            for form in (station, f"{name}地铁站", f"{name}地铁", f"地铁{name}"):
                self._add(form, entry)
            if name not in metro.suffix_only:
                self._add(name, replace(entry, name=name, weak=name in metro.weak))
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
        # Over UTF-8 bytes, as the evidence's (leadfinder/evidence.py): ~3x faster than over
        # the characters of the reversed text with dead ends, as it was.
        self._automaton = byte_automaton({s: (s, len(s.encode())) for s in self._entries})

    def surfaces(self) -> list[str]:
        """Every name the resolver looks for (normalised), for a caller that finds them in
        its own pass over the text (``resolve``'s ``named``)."""
        return list(self._entries)

    def _add(self, surface: str, entry: _Entry) -> None:
        # A stronger entry wins a clash (the same surface from two lists): first one stays.
        surface = normalise(surface)
        if surface and surface not in self._entries:
            self._entries[surface] = entry
            if entry.weak:
                self._cued[surface] = replace(entry, weak=False)

    @classmethod
    def load(cls, configs_dir: Path) -> GeoResolver:
        return cls(load_gazetteer(configs_dir))

    def patterns(self) -> Iterable[tuple[str, str]]:
        """Shenzhen surface forms for jieba user dictionaries: (form, kind)."""
        for surface, entry in self._entries.items():
            if entry.kind in _ANCHORED:
                yield surface, entry.kind

    def resolve(
        self,
        text: str,
        hints: PlaceHints | None = None,
        *,
        normalised: bool = False,
        named: list[tuple[int, str]] | None = None,
    ) -> GeoMatch:
        """Where ``text`` says it is; ``hints`` (the platform's POI tag, IP属地, city field)
        fill in only what the text leaves open. ``normalised``: the caller already ran
        ``leadfinder.normalise`` on the text (the extractor has). ``named``: every match of
        ``surfaces()`` in the normalised text as (first byte in its UTF-8, surface), when the
        caller's own automaton found them (the extractor's, in the pass for its phrases)."""
        text = text if normalised else normalise(text)
        found = self._scan(text, named=named)
        if hints is not None and hints.poi:
            poi = normalise(hints.poi)
            if poi not in text:  # the extractor already appends the POI tag to the text
                found += self._scan(poi, offset=len(text) + 1)
        match = self._vote(found, text)
        if match.in_shenzhen is None and hints is not None:
            return self._from_hints(hints, match)
        return match

    # --- scanning ---------------------------------------------------------------------
    def _scan(
        self, text: str, offset: int = 0, named: list[tuple[int, str]] | None = None
    ) -> list[_Hit]:
        """Every gazetteer match not inside a longer one, then the shapes, in text order.

        Not leftmost-longest: that lets "罗湖东门" (district + street) eat the start of
        "东门步行街"; keeping every maximal match keeps both.
        """
        data = text.encode()
        if named is None:
            named = [
                (end - size + 1, surface)
                for end, (surface, size) in self._automaton.iter(data.decode(BYTES))
            ]
        by_byte = sorted(named)
        raw: list[tuple[int, int, str]] = []  # (first character, minus the end, surface)
        byte = char = 0
        for first, surface in by_byte:  # byte offsets to characters, in one walk along
            char += len(data[byte:first].decode())
            byte = first
            raw.append((char, -(char + len(surface)), surface))
        raw.sort()
        hits: list[_Hit] = []
        reach = -1
        for start, minus_end, surface in raw:
            end = -minus_end
            if end <= reach:
                continue  # inside an earlier, longer match: 南山 in 寿比南山, 招商 in 招商银行
            reach = end
            entry = self._entries[surface]
            if entry.weak and text[end : end + 2] in LOCATIVE_CUES:
                entry = self._cued[surface]
            if hits and hits[-1].end > start and entry.kind in _NAMES:
                hits[-1] = self._demoted(hits[-1])
            hits.append(_Hit(start + offset, end + offset, surface, entry))
        return self._shapes(text, hits, offset)

    def _demoted(self, hit: _Hit) -> _Hit:
        """In "南山区南山外国语学校" the school's name takes back the 南山 that "南山区南山"
        (district + street) read, so only the district stays."""
        entry = hit.entry
        if entry.kind != "street" or entry.district is None or entry.official:
            return hit
        return replace(hit, entry=replace(entry, kind="district", name=entry.district, street=None))

    def _shapes(self, text: str, known: list[_Hit], offset: int) -> list[_Hit]:
        shaped: list[_Hit] = []
        cued: dict[int, _Hit] = {}
        for m in _SHAPE.finditer(text):
            if len(shaped) >= MAX_SHAPES:
                break  # a real post names a handful; a hostile one ("路" x 50,000) costs n²
            p, q = m.span()
            if p < 2 or (
                _NAMED_PAIR.match(text, p - 2, p) is None and text[p - 2 : p] not in _UNSPLIT
            ):
                continue  # most candidates: "路过", "我们小区", "上学"
            suffix = m.group()
            if text[q : q + 1] in _NEXT_REJECT.get(suffix[-1], ()) and suffix != "地铁站":
                continue  # "路灯", "街道", "站着": the suffix is part of an ordinary word
            if suffix == "道" and text[p - 1] not in _ORDINALS:
                continue  # 高新南一道, not 知道 / 人行道 / 通道
            span = self._shape_span(text, p, q, suffix, known, shaped, cued, offset)
            if span is not None:
                shaped.append(span)
        if not shaped and not cued:
            return known
        hits = [cued.get(id(h), h) for h in known] + shaped
        return sorted(hits, key=lambda h: (h.start, -h.end))

    def _shape_span(
        self,
        text: str,
        p: int,
        q: int,
        suffix: str,
        known: list[_Hit],
        shaped: list[_Hit],
        cued: dict[int, _Hit],
        offset: int,
    ) -> _Hit | None:
        road = suffix in ROAD_SUFFIXES
        last = suffix[-1]
        i = p
        while i > 0 and p - i < 10:
            c = text[i - 1]
            if not _NAME_CHAR.match(c) or (c in _STOPS and text[i - 1 : i + 1] not in _UNSPLIT):
                break
            i -= 1
        if p - i < 2:
            return None  # most candidates: "路过", "我们小区", "上学"
        start = i
        lead = ""
        for hit in (*known, *shaped):
            s, e = hit.start - offset, hit.end - offset
            if e <= start or s >= q:
                continue
            entry = hit.entry
            if entry.shape or entry.kind in _NAMES:
                if e > p:
                    return None  # the gazetteer knows this place: its own entry is better
                start = e  # no reaching back into the name before: "宝安大道创业二路口"
            elif entry.kind in ("district", "street", "city", "outside") and e <= p:
                rest = text[e:p]
                if len(rest) >= 2 and s <= start + 1:
                    start, lead = e, text[s:e]  # "民治XX花园": 民治 says where, XX花园 is the POI
                elif entry.weak and s == start and rest and set(rest) <= _NUMBERED:
                    cued[id(hit)] = replace(hit, entry=replace(entry, weak=False))
        prefix = text[start:p]
        while lead_word := next(
            (w for w in _LEADING if prefix.startswith(w) and len(prefix) - len(w) >= 2), None
        ):
            prefix, start = prefix[len(lead_word) :], start + len(lead_word)
        if len(prefix) < 2:
            return None
        if prefix in _GENERIC:
            if not lead:
                return None
            start -= len(lead)  # "坪山区人民医院": the district makes a generic name one place
        if prefix[-1] in _ROAD_PREFIX_END_REJECT.get(last, ()) and suffix in ("路", "街", "巷"):
            return None
        if road and len(prefix) > ROAD_MAX_PREFIX:
            return None
        if len(prefix) > POI_MAX_PREFIX:
            prefix, start = prefix[-4:], p - 4
        name = text[start:q]
        shape: Kind = "road" if road else "community" if suffix == "社区" else "poi"
        entry = _Entry(shape, name, None, None, weak=False, shape=True, station=last == "站")
        return _Hit(start + offset, q + offset, name, entry)

    # --- the vote ---------------------------------------------------------------------
    def _vote(self, found: list[_Hit], text: str) -> GeoMatch:
        if not found:
            return NOWHERE  # most posts name no place: skip the vote entirely
        kinds = {h.entry.kind for h in found}
        if kinds <= {"city", "noise"}:
            return CITY if "city" in kinds else NOWHERE  # "#深圳生活#" and nothing finer
        found = _claimed_by_other_cities(found, text)
        strong = [h for h in found if not h.entry.weak and h.entry.kind in _ANCHORED]
        votes = Counter(h.entry.district for h in strong if h.entry.district is not None)
        weak = [h for h in found if h.entry.weak and h.entry.district in votes]
        lone = {h.entry.district for h in found if h.entry.weak and h.entry.kind == "district"}
        if not votes and len(lone) == 1 and all(h.entry.kind != "outside" for h in found):
            # 光明, 大鹏: weak only against another place; alone (outside the idioms in
            # not_places: 前途光明, 大鹏展翅) the district's own short name is the district.
            weak = [h for h in found if h.entry.weak and h.entry.district in lone]
        if not votes and not weak:
            outside = next((h.entry.name for h in found if h.entry.kind == "outside"), None)
            if outside is not None:
                return GeoMatch(Geo(), "none", False, outside, (f"外地:{outside}",))
            if not strong and "city" in kinds:
                return CITY
            if not strong:
                return NOWHERE
        votes.update(h.entry.district for h in weak if h.entry.district is not None)
        district = votes.most_common(1)[0][0] if votes else None
        ours = sorted(
            (h for h in strong + weak if h.entry.district in (district, None)),
            key=lambda h: h.start,
        )
        entries = [h.entry for h in ours]
        street = _street(entries, district)
        community = _first(e.name for e in entries if e.kind == "community")
        crossing = _crossing(ours, text)
        roads = [h for h in ours if h.entry.kind == "road"]
        road = roads[0].entry.name if roads else None
        poi = _first(_poi_name(h, text) for h in ours if h.entry.kind == "poi")
        # Built from gazetteer strings: no validation needed (Geo() validates, ~2 µs).
        geo = Geo.model_construct(
            district=district, street=street, community=community, road=road, poi=poi
        )
        evidence = tuple(
            f"地名:{h.surface}→{h.entry.district or '深圳'}"
            if not h.entry.shape
            else f"{'路名' if h.entry.kind == 'road' else '地点'}:{h.surface}"
            for h in ours
        )
        if crossing is not None:
            evidence += (f"路口:{crossing}",)
        if district is None and all(h.entry.shape for h in ours):
            # Only shapes: the road or POI as written, but nothing says it is in Shenzhen.
            city = any(h.entry.kind == "city" for h in found)
            return GeoMatch(geo, "city" if city else "none", True if city else None, None, evidence)
        return GeoMatch(geo, _precision(geo), True, None, evidence)

    def _from_hints(self, hints: PlaceHints, match: GeoMatch) -> GeoMatch:
        """The platform's IP属地 or city field: city-level at best, never a district."""
        for label in (hints.city, hints.ip_location):
            if not label:
                continue
            if any(city in label for city in SHENZHEN):
                evidence = (*match.evidence, f"平台属地:{label}")
                return GeoMatch(match.geo, "city", True, None, evidence)
            plain = normalise(label)
            other = self._vote(self._scan(plain), plain)
            if other.in_shenzhen is False and label is hints.city:
                return GeoMatch(Geo(), "none", False, other.outside, (f"平台城市:{label}",))
        return match


def _claimed_by_other_cities(found: list[_Hit], text: str) -> list[_Hit]:
    """A place right after another city's name is that city's: 杭州万象城, 东莞长安万达."""
    if not any(h.entry.kind == "outside" for h in found):
        return found
    kept: list[_Hit] = []
    claimed_until = -1
    for hit in found:
        if hit.entry.kind == "outside":
            claimed_until = hit.end
        elif claimed_until >= 0 and text[claimed_until : hit.start] in ("", "的", "市"):
            claimed_until = hit.end  # 东莞长安万达: the claim runs on through 长安 to 万达
            continue
        else:
            claimed_until = -1
        kept.append(hit)
    return kept


def _street(entries: list[_Entry], district: str | None) -> str | None:
    """The official "…街道" form first; then a POI or community that sits in one street
    (locals say "西乡固戍" for a village the 航城 street now holds); then a short street
    name; then a road's street; then the one street a shared community name has here."""
    named = [e for e in entries if e.kind == "street"]
    official = _first(e.street for e in named if e.official)
    if official is not None:
        return official
    fine = _unique(e.street for e in entries if e.kind in ("poi", "community"))
    if fine is not None:
        return fine
    return (
        _first(e.street for e in named)
        or _unique(e.street for e in entries if e.kind == "road")
        or _unique(s for e in entries if e.kind == "community" for d, s in e.homes if d == district)
    )


def _crossing(ours: list[_Hit], text: str) -> str | None:
    """ "X路与Y路交汇处" (or a lone "X路口"): the crossing as written, for the evidence."""
    roads = [h for h in ours if h.entry.kind == "road"]
    for first, second in itertools.pairwise(roads):
        if text[first.end : second.start] in _CONNECTORS:
            tail = text[second.end :].removeprefix("的")
            word = next((w for w in _CROSS_WORDS if tail.startswith(w)), None)
            if word is not None:
                end = second.end + (len(text[second.end :]) - len(tail)) + len(word)
                return text[first.start : end]
    for road in roads:
        if text[road.end : road.end + 1] == "口" and road.surface.endswith(("路", "道", "街")):
            return text[road.start : road.end + 1]
    return None


def _poi_name(hit: _Hit, text: str) -> str:
    """A station keeps the exit named right after it: 老街站A出口."""
    if hit.entry.station:
        exit_ = _EXIT.match(text, hit.end)
        if exit_ is not None:
            return f"{hit.entry.name}{exit_.group().upper()}"
    return hit.entry.name


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
