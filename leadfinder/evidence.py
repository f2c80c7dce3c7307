"""Rule matches as evidence for the learned model: kinds of language, not sentences.

``find_evidence(text)`` looks for the kinds of words people use about a problem (a hazard
object and the state it is in, harm already done, the vulnerable near it, danger described,
persistence, a call for action, resolution, the shapes of ads, listings, official replies and
notices, other cities) with one leftmost-longest Aho-Corasick pass over the normalised text,
plus cheap checks scoped to the clause around a match (negation, "上次修好了又坏了"). The
lexicons are in ``configs/evidence.yaml``.

A longer word hides the shorter words inside it unless it carries their meaning too: "电梯困人"
is a hazard (电梯), harm (困人) and a named danger at once, "又坏了" is persistence and a
failure as well as "broken again", but "您反映的" is an official reply and no call for action,
and the ``stop`` words ("不断", "被困扰") are nothing at all. Each word's kinds are worked
out once, when the automaton is built.

``Evidence.features()`` gives the model stable names (``ev.hazard``, ``ev.hazard_x_failure``
...), ``Evidence.reasons()`` the words found, in Chinese, for analysts.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import product
from pathlib import Path
from typing import Any

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadfinder.normalise import normalise
from xianban.configfile import load_yaml
from xianban.settings import ROOT

CONFIG_FILE = "evidence.yaml"

Words = list[str]

# Kinds matched by the automaton; `hazard` matches carry their group ("electric", "tree" ...).
MATCHED = (
    "failure",
    "named_danger",
    "harm",
    "vulnerable",
    "danger",
    "persistence",
    "call_for_action",
    "complaint_question",
    "petition",
    "resolved",
    "unresolved",
    "praise",
    "official_reply",
    "notice",
    "now",
    "history",
    "other_city",
)
AD_KINDS = ("listing", "contact", "promo")
# A word of one of these kinds hides every evidence word inside it ("您反映的" holds 反映,
# "专业疏通" is an ad whatever it holds); the others hide only the kinds named here.
HIDES_ALL = frozenset({"stop", "official_reply", "notice", *(f"ad_{k}" for k in AD_KINDS)})
HIDES = {"unresolved": frozenset({"resolved", "praise"}), "danger": frozenset({"harm"})}

_ALTERNATION = re.compile(r"\{([^{}]*)\}")
# Over characters, where it is one character class (over bytes it was an alternation, 2.5x
# slower); each run's start is then turned into its byte offset.
_CLAUSE_END = re.compile("[,.!?;:~\n。…]+")
_GROUP = re.compile(r"[a-z][a-z_]*")
# Kinds whose matches are looked at again in their clause, and those of them only recorded then.
CLAUSE_KINDS = frozenset(
    {"hazard", "failure", "named_danger", "harm", "resolved", "praise", "persistence"}
    | {"unresolved", "call_for_action", "complaint_question"}
)
DECIDED_LATER = frozenset({"harm", "resolved", "praise"})
LIVE = ("failure", "persistence", "unresolved", "named_danger")  # a resolution does not last
ASKS = ("call_for_action", "complaint_question")  # thanks after these are politeness
DIGITS = re.compile("[0-9¥]")  # the shapes of prices, phones and areas hold one
MEMO_MAX = 4096  # sets of kinds whose features are kept (a few hundred occur)
HYPOTHETICAL_REACH = 5  # characters before a harm word searched for 差点/容易/万一 ...
BYTES = "latin-1"  # bytes as a string of as many characters, for the automaton
UTF8_MAX = 4  # bytes a character may take: a gap of more bytes than 4 x chars is wider

# The automaton runs over the UTF-8 bytes of the text, not its characters: pyahocorasick finds
# a node's child by a linear scan, and over characters every character of a post is looked up
# among the root's ~640 children (most of them in vain), over bytes among a few dozen at each
# of three levels. Words are inserted by how common their characters are (ranked by the word
# frequencies of jieba's dictionary: general Chinese, not this project's posts), so common
# children come first. The bytes go in as a Latin-1 string (one character per byte, a copy in
# C), which pyahocorasick reads far faster than a tuple of ints. 20 µs a ~95-character post
# over characters, 5 over bytes.
# The extractor's phrases and the gazetteer's names (leadfinder/extract.py, geo.py) are
# scanned the same way (byte_automaton).
COMMON_CHARS = (
    "一是人了不在有大中国和为这上他个地年来我会以到时要出的生学说道民家子也成行下们于后就发自之对得主长可"
    "过天作分方用多你着部能市等业全里工公经本都而高政法面门动日进区事代那去心小同北定开产前其军还然起种所"
    "如现理机体表力好外与文当两实重新三么只山水关明从化平建又制南内西没此将员名手最东头者月间无安看见各城"
    "十相但已些正口通想度加第她合院物性战由位常点海意场武使次二向治因立数样身情入原问把路被并利石老教万知"
    "级量任江及应省资委务元美特期世湖回系比气汉总展电科金先声提品设或义王社很统处四首共马形己儿司太目基领"
    "队直计别女权话少流命至报米给打变果书清活几州华解议更称程今决张导术府才保交放管结师便走达族反再题色五"
    "京河接条规式县白它改风光运信受什组听布百济党指论强做取技黄神选记斯真却职号界件花类何眼兵传带空干农边"
    "据集联古广完质阳难增历史专官每住商即步认车台林必死游举线言皇土团收考求德叫近备研争非具李众连调感转笑"
    "革该持始英克士尔让拉思根格造较际亲单朝红型价校约器字段周亚深候则功属积快图火千准究往极育装许参半令吃"
    "观鱼精办像帝八复影告远群包整构料随划算象容示投势热值夫网望源息语股铁断派速怎需片爱律纪支早况病境证编"
    "越局推满且列觉服双未居除乐企引标确织初青志率项飞球节察龙响药站施均消客失轻存低甚般击曾防请离落显罗营"
    "足素视护副食创余照兴占巴虽洲村费易试星木黑左宝置跟央识维采六底宫房音环案批切斗富乡另倒若按查故突责严"
    "桥模仅胜杀围席态破承招杨负层须父供续状域似依银范修找九致密终血旅钱赛独细效玉冲获习医演毛尽脸弹楼艺航"
    "陆右协七攻镇检写苏宗章注阿抗弟坐验封紧劳户优财养适陈喜卫排射哥油刻留急降念云微伤例景拿绝阶座刘刚害印"
    "亿沙母酒助闻超审待压升送监策略限竟香配藏敌呢差仍兰温园树征善波哪词岛止预怕继皮执味份角草男普答益谁船"
    "惊核街夏宣掌田久著画辑奇尼剑吧谈背免孩礼材愿洋春架筑括晚乱乎讲尚良友临激刀夜室既敢邦挥昌板胡欧福港叶"
)

FEATURES = (
    "ev.hazard",
    "ev.failure",
    "ev.hazard_x_failure",
    "ev.named_danger",
    "ev.harm_done",
    "ev.harm_risk",
    "ev.vulnerable",
    "ev.danger",
    "ev.persistence",
    "ev.call_for_action",
    "ev.complaint_question",
    "ev.petition",
    "ev.resolved",
    "ev.unresolved",
    "ev.praise",
    "ev.ad_price",
    "ev.ad_phone",
    "ev.ad_listing",
    "ev.ad_contact",
    "ev.ad_promo",
    "ev.ad_shapes",
    "ev.official_reply",
    "ev.notice",
    "ev.other_city",
    "ev.now",
    "ev.history",
    "ev.hazard_x_vulnerable",
    "ev.harm_x_hazard",
    "ev.danger_x_hazard",
    "ev.failure_x_vulnerable",
    "ev.persistence_x_failure",
)

# The feature each kind of match sets; a named danger is a hazard and a failure too, harm only
# risked is described danger, and a floor area is a listing's shape.
SETS: dict[str, tuple[str, ...]] = {
    "hazard": ("ev.hazard",),
    "failure": ("ev.failure",),
    "pair": ("ev.hazard_x_failure",),
    "named_danger": ("ev.named_danger", "ev.hazard", "ev.failure"),
    "harm": ("ev.harm_done",),
    "harm_risk": ("ev.harm_risk", "ev.danger"),
    "vulnerable": ("ev.vulnerable",),
    "danger": ("ev.danger",),
    "persistence": ("ev.persistence",),
    "call_for_action": ("ev.call_for_action",),
    "complaint_question": ("ev.complaint_question",),
    "petition": ("ev.petition",),
    "resolved": ("ev.resolved",),
    "unresolved": ("ev.unresolved",),
    "praise": ("ev.praise",),
    "ad_price": ("ev.ad_price",),
    "ad_phone": ("ev.ad_phone",),
    "ad_area": ("ev.ad_listing",),
    "ad_listing": ("ev.ad_listing",),
    "ad_contact": ("ev.ad_contact",),
    "ad_promo": ("ev.ad_promo",),
    "official_reply": ("ev.official_reply",),
    "notice": ("ev.notice",),
    "other_city": ("ev.other_city",),
    "now": ("ev.now",),
    "history": ("ev.history",),
}
AD_FEATURES = ("ev.ad_price", "ev.ad_phone", "ev.ad_listing", "ev.ad_contact", "ev.ad_promo")
# (feature, both of these): the interactions a linear model cannot form by itself.
INTERACTIONS = (
    ("ev.hazard_x_vulnerable", "ev.hazard", "ev.vulnerable"),
    ("ev.harm_x_hazard", "ev.harm_done", "ev.hazard"),
    ("ev.danger_x_hazard", "ev.danger", "ev.hazard"),
    ("ev.failure_x_vulnerable", "ev.hazard_x_failure", "ev.vulnerable"),
    ("ev.persistence_x_failure", "ev.persistence", "ev.failure"),
)

# Each feature in the words analysts read (for a model's explanation of the terms it weighed).
FEATURE_LABELS = {
    "ev.hazard": "危险物",
    "ev.failure": "故障状态",
    "ev.hazard_x_failure": "险情(危险物+故障)",
    "ev.named_danger": "险情(直接点名)",
    "ev.harm_done": "伤害已发生",
    "ev.harm_risk": "险些伤人",
    "ev.vulnerable": "弱势人群",
    "ev.danger": "危险描述",
    "ev.persistence": "持续/反复",
    "ev.call_for_action": "诉求",
    "ev.complaint_question": "反问投诉",
    "ev.petition": "信访来信",
    "ev.resolved": "已解决",
    "ev.unresolved": "未解决/复发",
    "ev.praise": "表扬",
    "ev.ad_price": "广告:价格",
    "ev.ad_phone": "广告:电话号码",
    "ev.ad_listing": "租售:房源",
    "ev.ad_contact": "广告:联系方式",
    "ev.ad_promo": "广告:促销",
    "ev.ad_shapes": "广告/租售形态",
    "ev.official_reply": "官方回复",
    "ev.notice": "通知公告",
    "ev.other_city": "外地",
    "ev.now": "正在发生",
    "ev.history": "往事",
    "ev.hazard_x_vulnerable": "危险物+弱势人群",
    "ev.harm_x_hazard": "伤害+危险物",
    "ev.danger_x_hazard": "危险描述+危险物",
    "ev.failure_x_vulnerable": "险情+弱势人群",
    "ev.persistence_x_failure": "故障反复",
}

LABELS = {
    "pair": "险情",
    "harm": "伤害已发生",
    "harm_risk": "险些伤人",
    "vulnerable": "弱势人群",
    "danger": "危险描述",
    "persistence": "持续/反复",
    "call_for_action": "诉求",
    "complaint_question": "反问投诉",
    "petition": "信访来信",
    "resolved": "已解决",
    "unresolved": "未解决/复发",
    "praise": "表扬",
    "ad": "广告/租售形态",
    "official_reply": "官方回复",
    "notice": "通知公告",
    "other_city": "外地",
    "history": "往事",
}


def expand(pattern: str) -> list[str]:
    """Every combination of the alternatives: "{一|两}天了" -> ["一天了", "两天了"]."""
    parts = _ALTERNATION.split(pattern)
    if len(parts) == 1:
        return [pattern]
    choices = [[p] if i % 2 == 0 else p.split("|") for i, p in enumerate(parts)]
    return ["".join(c) for c in product(*choices)]


def _checked_words(words: Words) -> Words:
    if not words:
        raise ValueError("empty list")
    out = []
    for word in words:
        for w in expand(str(word)):
            n = normalise(w)
            if not n:
                raise ValueError(f"{word!r} is empty once normalised")
            out.append(n)
    twice = {w for w in out if out.count(w) > 1} if len(set(out)) < len(out) else set()
    if twice:
        raise ValueError(f"listed twice: {sorted(twice)}")
    return out


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = Field(ge=0, le=40, description="failure at most this far after the object")
    before: int = Field(ge=0, le=40, description="failure at most this far before the object")


class AdWords(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listing: Words
    contact: Words
    promo: Words

    @field_validator("listing", "contact", "promo")
    @classmethod
    def _words(cls, words: Words) -> Words:
        return _checked_words(words)


class Shapes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price: list[str]
    phone: list[str]
    area: list[str]

    @field_validator("price", "phone", "area")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        if not patterns:
            raise ValueError("empty list")
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"{p!r}: {exc}") from None
        return patterns


class EvidenceConfig(BaseModel):
    """configs/evidence.yaml: the lexicon of each kind of evidence (see the file's comments)."""

    model_config = ConfigDict(extra="forbid")
    window: Window
    hazard: dict[str, Words]
    failure: Words
    named_danger: Words
    harm: Words
    hypothetical: Words
    vulnerable: Words
    danger: Words
    persistence: Words
    call_for_action: Words
    complaint_question: Words
    petition: Words
    resolved: Words
    turn: Words
    past: Words
    negators: Words
    unresolved: Words
    praise: Words
    ad: AdWords
    shapes: Shapes
    official_reply: Words
    notice: Words
    now: Words
    history: Words
    other_city: Words
    stop: Words

    @field_validator(*MATCHED, "hypothetical", "turn", "past", "negators", "stop")
    @classmethod
    def _words(cls, words: Words) -> Words:
        return _checked_words(words)

    @field_validator("hazard")
    @classmethod
    def _groups(cls, groups: dict[str, Words]) -> dict[str, Words]:
        if not groups:
            raise ValueError("no hazard groups")
        out = {}
        for name, words in groups.items():
            if not _GROUP.fullmatch(name):
                raise ValueError(f"group {name!r}: lower-case letters and _ only")
            out[name] = _checked_words(words)
        return out

    @model_validator(mode="after")
    def _hazard_once(self) -> EvidenceConfig:
        seen: dict[str, str] = {}
        for name, words in self.hazard.items():
            for w in words:
                if w in seen:
                    raise ValueError(f"hazard {w!r} is in both {seen[w]} and {name}")
                seen[w] = name
        return self


# One kind of evidence a word carries: (kind, hazard group or "").
Tag = tuple[str, str]
Located = tuple[int, int, str]  # (first byte, last byte, word) in the text's UTF-8


@dataclass(frozen=True, slots=True)
class Evidence:
    """The evidence found in one post: for each kind, the words found, in order."""

    found: dict[str, list[str]]
    groups: set[str]  # hazard groups present
    zero: dict[str, float]  # every feature name at 0.0, shared by the posts of one finder
    # The features of each set of kinds and hazard groups found, as they come (a few hundred).
    memo: dict[tuple[frozenset[str], frozenset[str]], dict[str, float]]

    def words(self, kind: str) -> list[str]:
        """The words of ``kind`` found, each once."""
        return list(dict.fromkeys(self.found.get(kind, ())))

    def features(self) -> dict[str, float]:
        """The features that fired, by their stable names (``EvidenceFinder.feature_names()``
        lists them all; a name left out is 0): 1.0 each, ``ev.ad_shapes`` the number of ad
        and listing shapes (1-5). Sparse, because most posts fire few or none, and every
        name costs validation in each ``Extraction``."""
        if not self.found:
            return {}
        key = (frozenset(self.found), frozenset(self.groups))
        known = self.memo.get(key)
        if known is None:
            known = _features(*key)
            if len(self.memo) < MEMO_MAX:
                self.memo[key] = known
        return known.copy()

    def dense(self) -> dict[str, float]:
        """Every feature name, 0.0 where it did not fire."""
        return {**self.zero, **self.features()}

    def reasons(self) -> list[str]:
        """In Chinese, naming the words found: "伤害已发生:摔了", "险情:电线+垂到"."""
        found = self.found
        return [
            head
            + "、".join(
                dict.fromkeys(
                    found[kinds[0]] if len(kinds) == 1 else [w for k in kinds for w in found[k]]
                )
            )
            for head, kinds in _reason_plan(frozenset(found))
        ]


AD_SHOWN = ("ad_price", "ad_phone", "ad_area", *(f"ad_{k}" for k in AD_KINDS))
# Each kind of match by (its place among the reasons, the label it is shown under).
REASON_OF = {
    **{kind: (i, label) for i, (kind, label) in enumerate(LABELS.items()) if kind != "ad"},
    **{kind: (list(LABELS).index("ad") + j / 10, LABELS["ad"]) for j, kind in enumerate(AD_SHOWN)},
}


@lru_cache(maxsize=MEMO_MAX)
def _reason_plan(found: frozenset[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The reasons' heads ("label:") for a set of kinds found, in their order, each with its
    kinds in order (worked out once per set: a few hundred occur)."""
    plan: list[tuple[str, list[str]]] = []
    for kind in sorted(found & REASON_OF.keys(), key=REASON_OF.__getitem__):
        label = REASON_OF[kind][1]
        if not plan or plan[-1][0] != label:
            plan.append((label, []))
        plan[-1][1].append(kind)
    return tuple((f"{label}:", tuple(kinds)) for label, kinds in plan)


def _features(kinds: frozenset[str], groups: frozenset[str]) -> dict[str, float]:
    out = {name: 1.0 for kind in kinds for name in SETS[kind]}
    for name, a, b in INTERACTIONS:
        if a in out and b in out:
            out[name] = 1.0
    shapes = sum(name in out for name in AD_FEATURES)
    if shapes:
        out["ev.ad_shapes"] = float(shapes)
    for group in groups:
        out["ev.hazard." + group] = 1.0
    return dict(sorted(out.items()))


def feature_names(all_groups: Iterable[str]) -> list[str]:
    return [*FEATURES, *(f"ev.hazard.{g}" for g in all_groups)]


def _alternation(words: Iterable[str]) -> re.Pattern[bytes]:
    """One regular expression for the words, over UTF-8 bytes, longest first."""
    longest = sorted({w.encode() for w in words}, key=len, reverse=True)
    return re.compile(b"|".join(re.escape(w) for w in longest))


class EvidenceFinder:
    def __init__(self, config: EvidenceConfig) -> None:
        self.config = config
        self.after = config.window.after
        self.before = config.window.before
        self.groups = tuple(config.hazard)
        self.zero = dict.fromkeys(feature_names(self.groups), 0.0)
        self.memo: dict[tuple[frozenset[str], frozenset[str]], dict[str, float]] = {}
        own: dict[str, set[Tag]] = {}
        for group, words in config.hazard.items():
            for w in words:
                own.setdefault(w, set()).add(("hazard", group))
        for kind in (*MATCHED, "stop"):
            for w in getattr(config, kind):
                own.setdefault(w, set()).add((kind, ""))
        for ad in AD_KINDS:
            for w in getattr(config.ad, ad):
                own.setdefault(w, set()).add((f"ad_{ad}", ""))
        self.automaton = _automaton({w: _with_inner(w, tags, own) for w, tags in own.items()})
        self.hypothetical = _alternation(config.hypothetical)
        self.turn = _alternation(config.turn)
        self.past = _alternation(config.past)
        self.negators = tuple(sorted((n.encode() for n in config.negators), key=len, reverse=True))
        shapes = config.shapes
        self.shapes = re.compile(
            "|".join(
                f"(?P<{name}>{'|'.join(f'(?:{p})' for p in getattr(shapes, name))})"
                for name in ("price", "phone", "area")
            )
        )

    @classmethod
    def load(cls, configs_dir: Path) -> EvidenceFinder:
        """The finder for ``configs_dir/evidence.yaml``, built once per version of the file."""
        path = (configs_dir / CONFIG_FILE).resolve()
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = -1  # load_yaml says it is missing
        return _load(path, stamp)

    @staticmethod
    def default() -> EvidenceFinder:
        """The shipped lexicons."""
        return EvidenceFinder.load(ROOT / "configs")

    def feature_names(self) -> list[str]:
        return feature_names(self.groups)

    def find(self, text: str) -> Evidence:
        """The evidence in ``text``, already normalised by ``leadfinder.normalise``."""
        found: dict[str, list[str]] = {}
        groups: set[str] = set()
        located: dict[str, list[Located]] = {}  # the kinds looked at again in their clause
        data = text.encode()
        for end, (word, size, in_groups, to_locate, to_record) in self.automaton.iter_long(
            data.decode(BYTES)
        ):
            if in_groups:
                groups.update(in_groups)
            for kind in to_locate:
                located.setdefault(kind, []).append((end - size + 1, end, word))
            for kind in to_record:
                found.setdefault(kind, []).append(word)
        if DIGITS.search(text):
            for m in self.shapes.finditer(text):
                found.setdefault(f"ad_{m.lastgroup}", []).append(m.group())
        if located:
            self._in_clauses(text, data, found, located)
        return Evidence(found, groups, self.zero, self.memo)

    def _in_clauses(
        self,
        text: str,
        data: bytes,
        found: dict[str, list[str]],
        located: dict[str, list[Located]],
    ) -> None:
        """The checks that need the clause a match is in: which failure belongs to which hazard,
        whether harm was done or only risked, whether a resolution or thanks holds. Positions
        are byte offsets into ``data``, the text's UTF-8."""
        hazards, failures = located.get("hazard", ()), located.get("failure", ())
        harms, resolved = located.get("harm", ()), located.get("resolved", ())
        praise = located.get("praise", ())
        if not (harms or resolved or praise or (hazards and failures)):
            return
        ends = _clause_ends(text)

        def clause(pos: int) -> int:
            return bisect_right(ends, pos)

        def span(index: int) -> tuple[int, int]:
            lo = ends[index - 1] + 1 if index > 0 else 0
            hi = ends[index] if index < len(ends) else len(data)
            return lo, hi

        def chars(lo: int, hi: int, most: int) -> bool:
            """Whether data[lo:hi] is at most ``most`` characters."""
            return hi - lo <= most or (hi - lo <= UTF8_MAX * most and _width(data, lo, hi) <= most)

        for hs, he, hw in hazards:
            for fs, fe, fw in failures:
                if fs > he:
                    near = chars(he + 1, fs, self.after)
                elif fe < hs:
                    near = chars(fe + 1, hs, self.before)
                else:
                    continue  # the same characters ("又坏了" inside a longer match)
                if near and clause(hs) == clause(fs):
                    found.setdefault("pair", []).append(f"{hw}+{fw}" if hs < fs else f"{fw}+{hw}")
        for start, end, word in harms:
            reach = _back(data, start, HYPOTHETICAL_REACH)
            hypothetical = self.hypothetical.search(data, max(span(clause(start))[0], reach), start)
            negated = self._negated(data, start)
            if hypothetical or negated:
                at = hypothetical.start() if hypothetical else start - negated
                found.setdefault("harm_risk", []).append(data[at : end + 1].decode())  # 差点摔倒
            else:
                found.setdefault("harm", []).append(word)
        live = sorted(s for k in LIVE for s, _, _ in located.get(k, ()))
        for start, end, word in resolved:
            why = self._undone(data, start, end, clause(start), span, live)
            found.setdefault("unresolved" if why else "resolved", []).append(why or word)
        asks = [s for k in ASKS for s, _, _ in located.get(k, ())]
        for start, _, word in praise:
            index = clause(start)
            lo = span(index - 1)[0] if index > 0 else 0
            polite = any(lo <= a < start for a in asks)  # "希望尽快处理，谢谢"
            if not polite and not self._negated(data, start):
                found.setdefault("praise", []).append(word)

    def _negated(self, data: bytes, start: int) -> int:
        """The length in bytes of the negator right before ``start`` ("没", "没有人"), or 0."""
        before = data[max(0, start - len(self.negators[0])) : start]
        for n in self.negators:
            if before.endswith(n):
                return len(n)
        return 0

    def _undone(
        self,
        data: bytes,
        start: int,
        end: int,
        index: int,
        span: Callable[[int], tuple[int, int]],
        live: list[int],
    ) -> str:
        """Why a resolution does not hold, as the words that say so, or "" when it holds."""
        lo, hi = span(index)
        word = data[start : end + 1].decode()
        negated = self._negated(data, start)
        if negated:
            return data[start - negated : end + 1].decode()  # 没修好, 不通了
        past = self.past.search(data, lo, start)
        if past:
            return f"{past.group().decode()}…{word}"  # 上次修好了, 说是修好了
        # A turn or a live problem after it, in its clause or the next one, unless the next
        # clause looks back ("修好了，之前一直漏水").
        next_lo, next_hi = span(index + 1) if hi < len(data) else (hi, hi)
        reach = hi if self.past.search(data, next_lo, next_hi) else next_hi
        turn = self.turn.search(data, end + 1, reach)
        starts = ([turn.start()] if turn else []) + [p for p in live if end < p < reach][:1]
        if starts:
            at = min(starts)
            return f"{word}…{data[at:reach].decode()[:3]}"  # 修好了…又坏了
        return ""


def _clause_ends(text: str) -> list[int]:
    """Where each run of clause-ending punctuation starts, as a byte offset into the text's
    UTF-8."""
    ends: list[int] = []
    byte = char = 0
    for m in _CLAUSE_END.finditer(text):
        at = m.start()
        byte += len(text[char:at].encode())
        char = at
        ends.append(byte)
    return ends


def _width(data: bytes, lo: int, hi: int) -> int:
    """The number of characters in data[lo:hi] (whole characters: matches start and end on
    character boundaries): the bytes that do not continue a character."""
    return sum(1 for b in data[lo:hi] if b & 0xC0 != 0x80)


def _back(data: bytes, pos: int, count: int) -> int:
    """The offset ``count`` characters before ``pos`` (or 0)."""
    while count and pos > 0:
        pos -= 1
        while pos > 0 and data[pos] & 0xC0 == 0x80:
            pos -= 1
        count -= 1
    return pos


def _automaton(values: dict[str, tuple[Tag, ...]]) -> Any:
    """Each value is what a match does: (word, its length in bytes, the hazard groups it is
    in, the kinds to look at again in the clause, the kinds recorded at once)."""
    return byte_automaton({w: (w, len(w.encode()), *_plan(tags)) for w, tags in values.items()})


def byte_automaton(values: Mapping[str, object]) -> Any:
    """The words over their UTF-8 bytes (scan ``text.encode().decode(BYTES)``), inserted so
    that common characters come first, each with its value; also the extractor's phrases'."""
    rank = {c: i for i, c in enumerate("".join(COMMON_CHARS))}
    automaton = ahocorasick.Automaton()
    for word in sorted(values, key=lambda w: ([rank.get(c, len(rank)) for c in w], w)):
        automaton.add_word(word.encode().decode(BYTES), values[word])
    automaton.make_automaton()
    return automaton


def _plan(tags: tuple[Tag, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(hazard groups, kinds located, kinds recorded) of a word's kinds; () for a stop word."""
    kinds = [kind for kind, _ in tags]
    recorded = [k for k in kinds if k not in DECIDED_LATER]
    if "named_danger" in kinds:
        recorded.append("pair")  # a named danger is a hazard already failing
    return (
        tuple(g for _, g in tags if g),
        tuple(k for k in dict.fromkeys(kinds) if k in CLAUSE_KINDS),
        tuple(dict.fromkeys(recorded)),
    )


def _with_inner(word: str, tags: set[Tag], own: dict[str, set[Tag]]) -> tuple[Tag, ...]:
    """The kinds a matched word stands for: its own, plus those of the shorter evidence words
    inside it, unless its kind hides them."""
    kinds = {t[0] for t in tags}
    if kinds & HIDES_ALL:
        return tuple(sorted(t for t in tags if t[0] != "stop"))
    hidden = frozenset().union(*(HIDES.get(k, frozenset()) for k in kinds))
    out = set(tags)
    for inner in _substrings(word):
        for tag in own.get(inner, ()):
            if tag[0] not in hidden and tag[0] != "stop" and tag[0] not in HIDES_ALL:
                out.add(tag)
    return tuple(sorted(out))


def _substrings(word: str) -> Iterator[str]:
    for i in range(len(word)):
        for j in range(i + 1, len(word) + 1):
            if j - i < len(word):
                yield word[i:j]


@cache
def _load(path: Path, stamp: int) -> EvidenceFinder:
    return EvidenceFinder(load_yaml(EvidenceConfig, path))


def find_evidence(text: str) -> Evidence:
    """The evidence in ``text`` (normalised by ``leadfinder.normalise.normalise``), with the
    shipped lexicons."""
    return EvidenceFinder.default().find(text)
