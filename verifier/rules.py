"""Automatic verification rules, checked in order; the first that decides wins.

Each rule looks at a lead (and what the stage looked up for it: an open case on the same
place and problem) and returns a decision with its reason, or ``None`` to pass. They
encode the analysts' standing instructions: drop what is not ours (another city), what the
author says is fixed and what is too old to act on; attach another report of a problem a
case already carries to that case; act at once on clear, placed problems (faster still on
dangers); drop what is too weak; ask a human otherwise. Every rule is named, can be
switched off and tuned in ``configs/verifier.yaml``, and says why on the verdict.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from xianban.configfile import SafeLoader, load_yaml
from xianban.errors import ConfigError
from xianban.records import Decision, Geo, Lead, Verdict, utcnow


class StaleRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    max_age_days: float = Field(30, gt=0)
    decision: Decision = "rejected"


class ResolvedRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    phrases: list[str] = Field(default_factory=list)
    decision: Decision = "rejected"


class OutsideRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    decision: Decision = "rejected"


class DuplicateRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    window_hours: float = Field(72, gt=0)
    same_text: float = Field(0.6, gt=0, le=1)
    """Character-bigram overlap (Jaccard) at which two posts of one district are the same
    report, whatever category and street each was read as (a repost, a copy)."""


class WeakSignalRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    min_score: float = Field(0.15, ge=0, le=1)
    """A post at least this likely a lead (but below the lead threshold) is a signal."""
    posts: int = Field(3, ge=2)
    """This many signals from different authors on one place and problem make a lead."""
    window_days: float = Field(7, gt=0)
    place_level: str = Field("street", pattern="^(street|community|road|poi)$")
    """The coarsest place two signals must share (street, or finer when known)."""


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    out_of_jurisdiction: OutsideRule = Field(default_factory=OutsideRule)
    resolved_by_author: ResolvedRule = Field(default_factory=ResolvedRule)
    stale: StaleRule = Field(default_factory=StaleRule)
    duplicate_open_case: DuplicateRule = Field(default_factory=DuplicateRule)
    weak_signals: WeakSignalRule = Field(default_factory=WeakSignalRule)


class VerifierConfig(BaseModel):
    confirm_score: float = Field(ge=0, le=1)
    confirm_score_urgent: float = Field(ge=0, le=1)
    corroborated_confirm: int = Field(ge=1)
    review_score: float = Field(ge=0, le=1)
    rules: Rules = Field(default_factory=Rules)
    outside_places: dict[str, str] = Field(default_factory=dict)
    """Other cities and their districts (gazetteer outside.yaml): name → city."""


def load_config(configs_dir: Path) -> VerifierConfig:
    cfg = load_yaml(VerifierConfig, configs_dir / "verifier.yaml")
    return cfg.model_copy(update={"outside_places": _outside(configs_dir)})


def _outside(configs_dir: Path) -> dict[str, str]:
    path = configs_dir / "gazetteer" / "outside.yaml"
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), SafeLoader) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"gazetteer {path}: {exc}") from exc
    places = {str(city): str(city) for city in data.get("cities", [])}
    places.update({str(k): str(v) for k, v in (data.get("districts") or {}).items()})
    return places


@dataclass(frozen=True, slots=True)
class Ruling:
    decision: Decision
    rule: str
    reason: str
    duplicate_of: str | None = None
    """The cluster whose case this lead joins as corroboration."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the stage looked up before ruling: confirmed leads on the same problem."""

    now: datetime = field(default_factory=utcnow)
    near: tuple[Verdict, ...] = ()


Rule = Callable[[Lead, VerifierConfig, Context], Ruling | None]


_DECIDED: dict[int, tuple[Verdict, datetime]] = {}
"""``decided_utc`` of the verdicts met last, by object id (the verdict held, so its id is
no other object's meanwhile)."""
_DECIDED_MAX = 8192


def decided_utc(verdict: Verdict) -> datetime:
    """``verdict.decided_at`` as the same instant in ``datetime.UTC``, made once per
    verdict object. A verdict read back carries pydantic's own tzinfo, one object each, so
    every comparison with another time called its ``utcoffset`` twice (~1.2 µs; a lead is
    compared with up to 200 confirmations of its district, twice); two times of the very
    same tzinfo compare without it."""
    hit = _DECIDED.get(id(verdict))
    if hit is not None and hit[0] is verdict:
        return hit[1]
    at = verdict.decided_at
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    if len(_DECIDED) >= _DECIDED_MAX:
        _DECIDED.clear()
    _DECIDED[id(verdict)] = (verdict, at)
    return at


def out_of_jurisdiction(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    rule = cfg.rules.out_of_jurisdiction
    if not rule.enabled or lead.geo.district is not None:
        return None
    text = f"{lead.title or ''} {lead.text}"
    named = sorted(
        {city for place, city in cfg.outside_places.items() if place in text and "深圳" not in text}
    )
    if not named:
        return None
    return Ruling(
        rule.decision,
        "out_of_jurisdiction",
        f"不属深圳市管辖：帖子所述地点在{'、'.join(named)}，且未提及深圳的区",
    )


def resolved_by_author(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    rule = cfg.rules.resolved_by_author
    if not rule.enabled:
        return None
    hit = next((p for p in rule.phrases if p in lead.text), None)
    if hit is None:
        return None
    return Ruling(rule.decision, "resolved_by_author", f"发帖人称问题已解决（“{hit}”）")


def stale(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    rule = cfg.rules.stale
    if not rule.enabled or lead.posted_at is None:
        return None
    age = ctx.now - lead.posted_at
    if age <= timedelta(days=rule.max_age_days):
        return None
    return Ruling(
        rule.decision,
        "stale",
        f"帖子发布于 {age.days} 天前，超过 {rule.max_age_days:g} 天，问题可能已处理或已过时",
    )


def jurisdiction(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    if lead.geo.district is None:
        return Ruling("needs_review", "jurisdiction", "未能确定所在区，需人工核实地点")
    return None


def weak_evidence(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    if lead.score < cfg.review_score and not lead.urgent:
        return Ruling("rejected", "weak_evidence", f"得分 {lead.score:.2f} 低于 {cfg.review_score}")
    return None


def same_place(a: Geo, b: Geo) -> bool:
    """One place at the finest level both know: same street, and same community, road or
    POI where both name one. A district alone is too coarse to call two reports one."""
    if a.district != b.district or a.street is None or a.street != b.street:
        return False
    return all(
        getattr(a, level) == getattr(b, level)
        for level in ("community", "road", "poi")
        if getattr(a, level) and getattr(b, level)
    )


_NOT_TEXT = re.compile(r"[\W_]+|转发|转自|【转】|转：")


@functools.lru_cache(maxsize=4096)
def _bigrams(text: str) -> frozenset[str]:
    """Cached: a confirmed lead is compared with every later lead of its district (the
    bench's verifier spent half its time cutting the same texts again)."""
    bare = _NOT_TEXT.sub("", text)
    return frozenset(bare[i : i + 2] for i in range(len(bare) - 1))


def same_text(a: str, b: str) -> float:
    """How much two posts share, as the Jaccard overlap of their character bigrams."""
    return _overlap_from(_bigrams(a), _bigrams(b), 0.0)


_MARGIN = 1e-9
"""Below ``same_text`` by more than rounding can make up."""


def _overlap_from(x: frozenset[str], y: frozenset[str], least: float) -> float:
    """``same_text`` of the texts cut into ``x`` and ``y``, or 0.0 when it is below
    ``least`` by their sizes alone: the shared bigrams are at most the smaller set, so
    the overlap is at most ``small / large``, and the intersection is not made (most of a
    lead's comparisons with its district's confirmations were a set built to say no)."""
    if not x or not y:
        return 0.0
    small, large = (len(x), len(y)) if len(x) <= len(y) else (len(y), len(x))
    if small / large < least - _MARGIN:
        return 0.0
    shared = len(x & y)
    return shared / (len(x) + len(y) - shared)


@dataclass(frozen=True, slots=True)
class _Confirmed:
    """What ``duplicate_open_case`` asks of a confirmation, looked up once per verdict
    object (a confirmation meets every later lead of its district, up to 200 a lead:
    the attribute chains and calls for each pair were most of the verifier's rules)."""

    verdict: Verdict
    cluster_id: str
    decided: datetime
    district: str | None
    bigrams: frozenset[str]
    category: str
    geo: Geo


_CONFIRMED: dict[int, _Confirmed] = {}
"""``_Confirmed`` of the confirmations met last, by object id (the verdict held)."""


def _confirmed(verdict: Verdict) -> _Confirmed:
    hit = _CONFIRMED.get(id(verdict))
    if hit is not None and hit.verdict is verdict:
        return hit
    lead = verdict.lead
    made = _Confirmed(
        verdict,
        verdict.cluster_id,
        decided_utc(verdict),
        lead.geo.district,
        _bigrams(lead.text),
        lead.category,
        lead.geo,
    )
    if len(_CONFIRMED) >= _DECIDED_MAX:
        _CONFIRMED.clear()
    _CONFIRMED[id(verdict)] = made
    return made


def duplicate_open_case(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    rule = cfg.rules.duplicate_open_case
    if not rule.enabled:
        return None
    since = ctx.now - timedelta(hours=rule.window_hours)
    # What is asked of every confirmation, looked up once (a lead meets up to 200).
    mine, cluster, district, category, geo, least = (
        _bigrams(lead.text),
        lead.cluster_id,
        lead.geo.district,
        lead.category,
        lead.geo,
        rule.same_text,
    )
    size, cut = len(mine), least - _MARGIN
    for other in ctx.near:
        seen = _confirmed(other)
        if seen.cluster_id == cluster or seen.decided < since or seen.district != district:
            continue
        # ``_overlap_from``'s test on the sizes alone first: most pairs end there
        theirs = len(seen.bigrams)
        if size and theirs and min(size, theirs) / max(size, theirs) >= cut:
            overlap = _overlap_from(seen.bigrams, mine, least)
            if overlap >= least:
                target = other.duplicate_of or other.cluster_id
                return Ruling(
                    "confirmed",
                    "duplicate_open_case",
                    f"与 {rule.window_hours:g} 小时内已确认的线索 {target} 内容相同"
                    f"（重合 {overlap:.0%}），作为佐证并入其工单",
                    duplicate_of=target,
                )
        if seen.category == category and same_place(seen.geo, geo):
            target = other.duplicate_of or other.cluster_id
            where = " ".join(p for p in (geo.street, geo.community, geo.road, geo.poi) if p)
            return Ruling(
                "confirmed",
                "duplicate_open_case",
                f"与 {rule.window_hours:g} 小时内已确认的线索 {target} "
                f"同一地点（{where}）同类问题，作为佐证并入其工单",
                duplicate_of=target,
            )
    return None


def weak_signal(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    """A lead the weak-signal stage made from sub-threshold posts: an analyst looks."""
    if not lead.features.get("weak_signals"):
        return None
    why = lead.reasons[0] if lead.reasons else "多条弱信号汇聚"
    return Ruling("needs_review", "weak_signal", f"{why}，请研判是否立案")


def urgent_hazard(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    if lead.urgent and lead.score >= cfg.confirm_score_urgent:
        trigger = "、".join(lead.urgency_triggers) or "安全隐患"
        return Ruling("confirmed", "urgent_hazard", f"加急隐患（{trigger}），得分 {lead.score:.2f}")
    return None


def clear_problem(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    if lead.score >= cfg.confirm_score:
        return Ruling("confirmed", "clear_problem", f"问题明确且地点已定位，得分 {lead.score:.2f}")
    return None


def corroborated(lead: Lead, cfg: VerifierConfig, ctx: Context) -> Ruling | None:
    if lead.corroboration + 1 >= cfg.corroborated_confirm and lead.score >= cfg.review_score:
        return Ruling("confirmed", "corroborated", f"{lead.corroboration + 1} 条独立反映相互印证")
    return None


RULES: tuple[Rule, ...] = (
    out_of_jurisdiction,
    resolved_by_author,
    stale,
    jurisdiction,
    duplicate_open_case,
    weak_signal,
    weak_evidence,
    urgent_hazard,
    clear_problem,
    corroborated,
)


def rule_on(lead: Lead, cfg: VerifierConfig, ctx: Context | None = None) -> Ruling:
    context = ctx or Context()
    for rule in RULES:
        ruling = rule(lead, cfg, context)
        if ruling is not None:
            return ruling
    return Ruling("needs_review", "review", f"得分 {lead.score:.2f}，待分析员研判")
