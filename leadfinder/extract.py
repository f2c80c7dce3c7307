"""Extraction: is a post an actionable city problem, which kind, where, how urgent, and why.

One Aho-Corasick automaton holds every phrase (taxonomy, urgency, intent, not-a-lead classes),
so a post costs one linear scan; where the post is comes from the gazetteer resolver
(leadfinder/geo.py), its own automaton over every place name plus place shapes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

import ahocorasick
import yaml
from pydantic import BaseModel, ConfigDict

from leadfinder.evidence import BYTES, EvidenceFinder, byte_automaton
from leadfinder.evidence import FEATURE_LABELS as EVIDENCE_LABELS
from leadfinder.geo import GeoResolver
from leadfinder.model import LEAD, MODELS_DIR, URGENT, LeadModel, Scores
from leadfinder.normalise import normalise, normalise_many
from xianban.errors import ConfigError
from xianban.records import CATEGORIES, Category, Geo, PlaceHints, Post

# A phrase this heavy names a problem by itself ("停水"), unlike context words ("地铁", "小区");
# only posts with one pay for segmentation and the urgency combinations.
TELLING = 0.5

# Posts the model gives at least this lead probability get the n-grams behind it in their
# reasons; below it a post is plain chatter and its explanation is not worth computing.
EXPLAIN_FROM = 0.3

# Sets of matched phrases whose verdict is kept (6539 occur in the corpus's 13809 posts).
MATCHED_MEMO = 16384


NEGATIVE_LABELS = {
    "praise_fixed": "已解决/表扬",
    "ad": "广告",
    "seo_spam": "垃圾推广",
    "listing": "租售信息",
    "chitchat": "推荐/闲聊",
    "news": "新闻转述",
    "opinion": "观点讨论",
}


class Extraction(BaseModel):
    """Built by ``_extraction`` from values the extractor made itself: validating every
    post's result again cost more than the model that decides it."""

    model_config = ConfigDict(frozen=True)

    is_lead: bool
    score: float
    category: Category | None
    urgent: bool
    urgency_triggers: list[str]
    geo: Geo
    reasons: list[str]
    features: dict[str, float]


_FIELDS = frozenset(Extraction.model_fields)
_new = object.__new__
_set = object.__setattr__


def _extraction(
    is_lead: bool,
    score: float,
    category: Category | None,
    urgent: bool,
    urgency_triggers: list[str],
    geo: Geo,
    reasons: list[str],
    features: dict[str, float],
) -> Extraction:
    """What ``Extraction.model_construct`` builds with every field given (the same
    ``__dict__`` in field order, fields set, no extra, no private: tests/leadfinder/
    test_extract.py compares the two), without its per-field loop: ~1 µs, not ~4."""
    made = _new(Extraction)
    _set(
        made,
        "__dict__",
        {
            "is_lead": is_lead,
            "score": score,
            "category": category,
            "urgent": urgent,
            "urgency_triggers": urgency_triggers,
            "geo": geo,
            "reasons": reasons,
            "features": features,
        },
    )
    _set(made, "__pydantic_fields_set__", set(_FIELDS))
    _set(made, "__pydantic_extra__", None)
    _set(made, "__pydantic_private__", None)
    return made


class _Ruled(NamedTuple):
    """The rules' verdict on one post, what the model reads besides the text, and the
    urgency triggers named in the normalised text."""

    is_lead: bool
    score: float  # rounded only for the Extraction: the model path never reads it
    category: Category | None
    triggers: list[str]
    geo: Geo
    reasons: list[str]
    features: dict[str, float]
    text: str
    out_of_city: bool  # another city named and no Shenzhen place: not the city's to act on

    def extraction(self) -> Extraction:
        """The rules' own verdict, as it stands without a model."""
        is_lead = self.is_lead
        return _extraction(
            is_lead,
            round(self.score, 3),
            self.category if is_lead else None,
            is_lead and bool(self.triggers),
            self.triggers if is_lead else [],
            self.geo,
            self.reasons,
            self.features,
        )


class _Matched(NamedTuple):
    """What the rules read from the set of phrases a post names, before its place, its
    urgency combinations (which read the text) and its engagement."""

    category: str | None
    problem: float
    problem_reason: str  # "" for no category
    outside: frozenset[str]
    urgent: frozenset[str]
    intent: bool
    state: bool
    negatives: int
    reasons: tuple[str, ...]  # intent, state and negative, in that order
    repost: bool


@dataclass(frozen=True, slots=True)
class Phrase:
    kind: str  # cat | urgent | intent | neg | place | outside | repost
    text: str
    target: str = ""  # category code, negative class, or place kind
    weight: float = 0.0
    district: str | None = None
    street: str | None = None


# What a matched text contributes, by kind (indices into ``_Plan``'s buckets): worked out once
# per automaton word, so a post's scan only gathers.
CAT, URGENT_WORD, INTENT, STATE, NEG, OUTSIDE, REPOST = range(7)
_KINDS = {"cat": CAT, "urgent": URGENT_WORD, "intent": INTENT, "state": STATE, "neg": NEG}
_KINDS |= {"outside": OUTSIDE, "repost": REPOST}
# (kind, the items it adds): cat items are (code, word, weight), neg items the class, the
# others the word.
_Plan = tuple[tuple[int, tuple[Any, ...]], ...]


def _plan(group: Sequence[Phrase]) -> _Plan:
    items: dict[int, list[Any]] = {}
    for phrase in group:
        kind = _KINDS[phrase.kind]
        if kind == CAT:
            item: Any = (phrase.target, phrase.text, phrase.weight)
        else:
            item = phrase.target if kind == NEG else phrase.text
        items.setdefault(kind, []).append(item)
    return tuple((kind, tuple(found)) for kind, found in items.items())


def _longest(words: list[str], held_by: dict[str, tuple[str, ...]]) -> list[str]:
    """The matched words not inside a longer matched word ("公交车" counts once, not twice),
    sorted."""
    if not words:
        return []
    every = set(words)
    return sorted(w for w in every if not any(o in every for o in held_by.get(w, ())))


def _holders(words: set[str]) -> dict[str, tuple[str, ...]]:
    """Each word with the longer words that hold it ("公交" in "公交车"), for the words some
    longer one holds: is a matched word inside another matched word is then a look-up."""
    out: dict[str, tuple[str, ...]] = {}
    for word in words:
        longer = tuple(sorted(o for o in words if o != word and word in o))
        if longer:
            out[word] = longer
    return out


# The rule features (and the evidence's) by the words analysts read in a lead's reasons.
FEATURE_LABELS = EVIDENCE_LABELS | {
    "problem": "问题词",
    "place": "地点",
    "urgent": "加急词",
    "intent": "投诉意图",
    "state": "问题状态",
    "negative": "排除词",
    "outside": "外地",
    "engagement": "互动量",
    "media": "附图/视频",
}


def _terms(terms: tuple[tuple[str, float], ...]) -> str:
    """Model terms in words: n-grams quoted as written, rule features by their label."""
    return "、".join(FEATURE_LABELS.get(name, f"「{name}」") for name, _ in terms) or "无"


def read_mapping(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top")
    return data


class Extractor:
    def __init__(
        self,
        taxonomy: dict[str, Any],
        config: dict[str, Any],
        resolver: GeoResolver,
        model: LeadModel | None = None,
        evidence: EvidenceFinder | None = None,
    ) -> None:
        self.resolver = resolver
        self.model = model
        # Rule evidence (leadfinder/evidence.py): more features and reasons, not in the score.
        self.evidence = evidence or EvidenceFinder.default()
        unknown = set(taxonomy) - set(CATEGORIES)
        if unknown or len(taxonomy) != len(CATEGORIES):
            raise ConfigError(f"taxonomy must define exactly the 18 categories; odd: {unknown}")
        self.labels = {code: str(spec["label"]) for code, spec in taxonomy.items()}
        self.threshold = float(config["threshold"])
        self.weights: dict[str, Any] = config["weights"]
        self.engagement_min = int(config["engagement_min"])
        self.urgency_combos = [tuple(map(str, group)) for group in config["urgency_combos"]]
        self._combos = [("+".join(g), g[0], g[1:]) for g in self.urgency_combos]
        self._combo_firsts = frozenset(g[0] for g in self.urgency_combos)
        phrases: list[Phrase] = []
        for code, spec in taxonomy.items():
            phrases += [Phrase("cat", p, code, float(w)) for p, w in spec["phrases"].items()]
        phrases += [Phrase("urgent", p) for p in config["urgency"]]
        phrases += [Phrase("intent", str(p)) for p in config["intent"]]
        phrases += [Phrase("state", str(p)) for p in config["state"]]
        for cls, words in config["negative"].items():
            phrases += [Phrase("neg", w, cls) for w in words]
        phrases += [Phrase("repost", p) for p in config["repost_markers"]]
        phrases += [Phrase("outside", c, "city") for c in config["outside_cities"]]
        self.automaton = ahocorasick.Automaton()
        by_text: dict[str, list[Phrase]] = defaultdict(list)
        for phrase in phrases:
            by_text[normalise(phrase.text)].append(phrase)
        scanned: dict[str, tuple[int, _Plan, bool]] = {}
        for text, group in by_text.items():
            # Whether a match needs its neighbours checked, decided once here, not per post.
            contextual = all(p.kind == "neg" for p in group)
            is_problem = any(p.kind == "cat" and p.weight >= TELLING for p in group)
            self.automaton.add_word(text, (text, tuple(group), contextual, is_problem))
            # Only a word some longer phrase holds can be inside a longer match.
            held = contextual and any(text != o and text in o for o in by_text)
            scanned[text] = (len(text.encode()), _plan(group), held)
        self.automaton.make_automaton()
        # ``automaton`` lists the phrases (the bench draws its posts and its baseline's keywords
        # from it); posts are scanned over their UTF-8 bytes, 4x faster (see evidence.py).
        # The gazetteer's names too (with no phrase items unless a phrase is also a name), so
        # one pass finds the phrases and the places (see ``GeoResolver.resolve``'s ``named``).
        # A word's value: (size in bytes, its index in ``_plans`` or -1 for a name alone,
        # whether a longer phrase may hold it, the name or None).
        self._plans = [plan for _, plan, _ in scanned.values()]
        both: dict[str, tuple[int, int, bool, str | None]] = {
            t: (size, i, held, None) for i, (t, (size, _, held)) in enumerate(scanned.items())
        }
        for name in resolver.surfaces():
            size, i, held, _ = both.get(name, (len(name.encode()), -1, False, None))
            both[name] = (size, i, held, name)
        self._phrases = byte_automaton(both)
        # Every phrase's word and every combination's name ("停水+老人" holds 停水), with the
        # longer ones that hold it.
        self._held_by = _holders({p.text for p in phrases} | {j for j, _, _ in self._combos})
        w = self.weights
        self._cap = float(w["problem_cap"])
        self._matched = lru_cache(maxsize=MATCHED_MEMO)(self._matched_of)
        self._place_weight = {k: float(v) for k, v in w["place"].items()}
        self._w = tuple(
            float(w[k])
            for k in ("urgent", "intent", "state", "engagement", "media", "negative", "outside")
        )

    @classmethod
    def load(cls, configs_dir: Path, model: Path | Literal[False] | None = None) -> Extractor:
        """The extractor the configs describe. ``model``: the model file to decide with;
        ``None`` for the one ``leadfinder.yaml`` names (a name in ``leadfinder/models/``),
        ``False`` for the rules alone (what training featurises with)."""
        config = read_mapping(configs_dir / "leadfinder.yaml")
        if model is None and config.get("model"):
            model = MODELS_DIR / str(config["model"])
        extractor = cls(
            read_mapping(configs_dir / "taxonomy.yaml"),
            config,
            GeoResolver.load(configs_dir),
            LeadModel.load(model) if model else None,
        )
        extractor.evidence = EvidenceFinder.load(configs_dir)  # after the taxonomy's checks
        return extractor

    def _scan(self, text: str) -> tuple[tuple[int, ...], list[tuple[int, str]]]:
        """The phrases the post names (their ``_plans`` indices, each once, in the order first
        named), and the gazetteer's names, as (first byte, name)."""
        named: list[int] = []
        places: list[tuple[int, str]] = []
        spans: list[tuple[int, int]] | None = None
        for end, (size, plan, held, place) in self._phrases.iter(text.encode().decode(BYTES)):
            if place is not None:
                places.append((end - size + 1, place))
            if held:
                # Inside a longer phrase: "出租车" is no listing, "龙华区" holds "龙华".
                # Byte offsets: a match inside another is inside it in characters too.
                if spans is None:
                    spans = [
                        (e - n + 1, e)
                        for e, (n, i, _, _) in self._phrases.iter(text.encode().decode(BYTES))
                        if i >= 0
                    ]
                start = end - size + 1
                if any(s <= start and end <= e and (s, e) != (start, end) for s, e in spans):
                    continue
            if plan >= 0:
                named.append(plan)
        return tuple(dict.fromkeys(named)), places

    def _matched_of(self, named: tuple[int, ...]) -> _Matched:
        """What the rules read from the phrases alone (``_scan``'s first half), worked out once
        per set of phrases that comes again."""
        found: list[list[Any]] = [[], [], [], [], [], [], []]
        plans = self._plans
        for i in named:
            for kind, items in plans[i]:
                found[kind] += items
        category, problem, problem_reason = self._category_of(tuple(found[CAT]))
        held_by = self._held_by
        intent = _longest(found[INTENT], held_by)
        state = _longest(found[STATE], held_by)
        negatives = sorted(set(found[NEG]))
        return _Matched(
            category,
            problem,
            problem_reason,
            frozenset(found[OUTSIDE]),
            frozenset(found[URGENT_WORD]),
            bool(intent),
            bool(state),
            len(negatives),
            tuple(
                [f"投诉意图:{i}" for i in intent]
                + [f"问题状态:{t}" for t in state]
                + [f"排除:{NEGATIVE_LABELS[n]}" for n in negatives]
            ),
            bool(found[REPOST]),
        )

    def extract(self, post: Post) -> Extraction:
        return self.extract_many([post])[0]

    def extract_many(self, posts: Sequence[Post]) -> list[Extraction]:
        """Extractions in input order; the model scores the whole batch in one product."""
        texts = normalise_many(
            [" ".join(filter(None, (p.title, p.text, p.place_hints.poi))) for p in posts]
        )
        ruled = [self._rules(post, text) for post, text in zip(posts, texts, strict=True)]
        if self.model is None:
            return [r.extraction() for r in ruled]
        scores = self.model.score_many([(r.text, r.features) for r in ruled])
        return [self._decide(r, s) for r, s in zip(ruled, scores, strict=True)]

    def _category_of(
        self, cats: tuple[tuple[str, str, float], ...]
    ) -> tuple[str | None, float, str]:
        """The category the matched (code, word, weight)s name, its problem weight, and the
        reason naming its words ("" for none)."""
        held_by = self._held_by
        per_cat: dict[str, float] = {}
        strongest: dict[str, float] = {}
        matched = {(code, word): weight for code, word, weight in cats}
        for (code, word), weight in matched.items():
            strongest[code] = max(strongest.get(code, weight), weight)
            # "公交车" already holds "公交": one mention counts once.
            if not any((code, t) in matched for t in held_by.get(word, ())):
                per_cat[code] = per_cat.get(code, 0.0) + weight
        if not per_cat:
            return None, 0.0, ""
        # On a tie the category with the most telling single phrase wins.
        category = max(per_cat, key=lambda c: (per_cat[c], strongest[c]))
        # The category's words not inside a longer matched word of any category.
        every = {t for _, t in matched}
        words = sorted(
            {
                t
                for c, t in matched
                if c == category and not any(o in every for o in held_by.get(t, ()))
            }
        )
        reason = f"问题:{self.labels[category]}({'、'.join(words)})"
        return category, min(self._cap, per_cat[category]), reason

    def _rules(self, post: Post, text: str) -> _Ruled:
        """The rules' own verdict (what runs without a model, and the model's evidence);
        ``text`` is the post's title, text and POI tag, normalised."""
        named_phrases, places = self._scan(text)
        m = self._matched(named_phrases)
        category, problem = m.category, m.problem
        reasons: list[str] = [m.problem_reason] if m.problem_reason else []

        geo, precision, elsewhere = self._place(text, post.place_hints, places, reasons)
        outside = m.outside if elsewhere is None else m.outside | {elsewhere}
        place = self._place_weight.get(precision, 0.0)
        named: frozenset[str] | set[str] = m.urgent
        if problem >= TELLING:
            # Each first word looked for once; the rest only after a first word that is there.
            firsts = {w for w in self._combo_firsts if w in text}
            if firsts:
                named = named | {
                    j
                    for j, first, rest in self._combos
                    if first in firsts and all(map(text.__contains__, rest))
                }
        # In the order they are written; a combination and a trigger that start at the same
        # word go by their words, not by the set's (per-process) hash order.
        held_by = self._held_by
        triggers = (
            sorted(
                (t for t in named if not any(o in named for o in held_by.get(t, ()))),
                key=lambda t: (text.find(t.split("+")[0]), t),
            )
            if named
            else []
        )
        e = post.engagement
        engaged = e.likes + e.comments + e.shares >= self.engagement_min
        w_urgent, w_intent, w_state, w_engaged, w_media, w_negative, w_outside = self._w
        score = problem + place
        score += w_urgent * bool(triggers) + w_intent * m.intent
        score += w_state * m.state
        score += w_engaged * engaged + w_media * bool(post.media)
        score += w_negative * m.negatives
        out_of_city = bool(outside) and precision == "none"
        if out_of_city:
            score += w_outside
            reasons.append(f"非深圳:{'、'.join(sorted(outside))}")
        reasons += [f"加急:{t}" for t in triggers]
        reasons += m.reasons
        if engaged:
            reasons.append("互动量高")
        if post.media:
            reasons.append("附图片/视频")
        if m.repost or post.repost_of:
            reasons.append("转发:作为佐证")
        score = max(0.0, min(1.0, score))
        is_lead = category is not None and score >= self.threshold
        features = {
            "problem": problem,
            "place": place,
            "urgent": float(bool(triggers)),
            "intent": float(m.intent),
            "state": float(m.state),
            "negative": float(m.negatives),
            "outside": float(bool(outside)),
            "engagement": float(engaged),
            "media": float(bool(post.media)),
        }
        evidence = self.evidence.find(text)
        features.update(evidence.features())
        reasons += evidence.reasons()
        return _Ruled(
            is_lead,
            score,
            cast("Category | None", category),
            triggers,
            geo,
            reasons,
            features,
            text,
            out_of_city,
        )

    def _decide(self, ruled: _Ruled, s: Scores) -> Extraction:
        """The model's verdict; the rule matches stay as its evidence and as the reasons."""
        assert self.model is not None
        text, triggers = ruled.text, ruled.triggers
        t = self.model.thresholds
        rule_reasons = ruled.reasons
        # Jurisdiction is the gazetteer's to say, not the n-grams': a post placed only in
        # another city is no lead however live its danger reads ("天河路这边井盖没了").
        is_lead = s.lead >= t["lead"] and not ruled.out_of_city
        urgent = is_lead and s.urgent >= t["urgent"]
        explain = is_lead or s.lead >= EXPLAIN_FROM
        lead_terms = s.terms(LEAD) if explain else ()
        urgent_terms = s.terms(URGENT) if urgent else ()
        reasons = [
            f"模型:线索概率 {s.lead:.2f}" + (f"(依据:{_terms(lead_terms)})" if explain else "")
        ]
        if is_lead:
            reasons.append(f"问题:{self.labels[s.category]}(模型 {s.category_p:.2f})")
        if urgent:
            reasons.append(f"模型:紧急概率 {s.urgent:.2f}(依据:{_terms(urgent_terms)})")
        reasons += [r for r in rule_reasons if not r.startswith(("问题:", "加急:"))]
        if urgent:
            reasons += [f"加急:{t}" for t in triggers]
        named = triggers or [w for w, _ in urgent_terms if w in text][:2]
        return _extraction(
            is_lead,
            round(s.lead, 3),
            s.category if is_lead else None,
            urgent,
            named if urgent else [],
            ruled.geo,
            reasons,
            ruled.features,
        )

    def _place(
        self, text: str, hints: PlaceHints, named: list[tuple[int, str]], reasons: list[str]
    ) -> tuple[Geo, str, str | None]:
        """Where the post is, from the gazetteer resolver (leadfinder/geo.py, a callable of its
        own: stations, villages, estates, roads and crossings, place shapes, platform hints),
        for every post; and the other city it names instead of Shenzhen, if any."""
        match = self.resolver.resolve(text, hints, normalised=True, named=named)
        if match.in_shenzhen is False:
            return Geo(), "none", match.outside
        if match.evidence:
            reasons.append(f"地名库:{'、'.join(match.evidence)}")
        return match.geo, match.precision, None
