"""The briefing's numbers, all computed from the store; nothing in it is typed in by hand.

The funnel follows one period's flow: posts fetched → leads found → clusters confirmed →
cases opened, and then, for the cases opened in the period (a cohort), those dispatched
on time, closed, satisfied at 回访 and passed at 复查 (supervision's: the reopen window
after closing went by with no new report), as of ``now``. A step the store
keeps no data for is ``None`` and the page says 暂无数据, with why; it never shows a 0
that was not counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reports.geo import ShenzhenMap, load_map
from reports.period import Period
from reports.similar import SimilarGroup, similar_groups
from xianban.labels import CATEGORY_LABELS
from xianban.store import Store
from xianban.store import reporting as q
from xianban.store.reporting import CaseFact
from xianban.store.similar_cases import SimilarCase, similar_cases

DISPATCHED = ("dispatched", "in_progress", "resolved", "closed")
"""A case in any of these has been dispatched (the sync may skip the ``dispatched`` step)."""
HANDLED = ("resolved", "closed")
SATISFIED = ("satisfied", "basically_satisfied")
UNKNOWN_PLACE = "未识别"


@dataclass(frozen=True, slots=True)
class FunnelStep:
    key: str
    label: str
    count: int | None
    """``None``: the store keeps nothing to count this step by (see ``note``)."""
    rate: float | None
    """Share of the step before (0..1); ``None`` when either count is missing or zero."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Change:
    name: str
    current: int
    previous: int
    overdue: int = 0

    @property
    def delta(self) -> int:
        return self.current - self.previous

    @property
    def ratio(self) -> float | None:
        """Change over the previous period (0.5 = +50 %); ``None`` from zero."""
        return None if self.previous == 0 else self.delta / self.previous


@dataclass(frozen=True, slots=True)
class SlaFigures:
    dispatch_due: int
    """Cases whose dispatch deadline has come (or that were dispatched before it)."""
    dispatch_on_time: int
    urgent_due: int
    urgent_on_time: int
    ordinary_due: int
    ordinary_on_time: int
    handle_due: int | None
    """Cases with a handling deadline (办结时限) that has come or was met; ``None``: no case
    carries one."""
    handle_on_time: int | None
    dispatched: int
    avg_dispatch_minutes: float | None
    handled: int
    avg_handle_hours: float | None
    overdue: int

    @staticmethod
    def rate(on_time: int | None, due: int | None) -> float | None:
        return None if not due or on_time is None else on_time / due

    @property
    def dispatch_rate(self) -> float | None:
        return self.rate(self.dispatch_on_time, self.dispatch_due)

    @property
    def urgent_rate(self) -> float | None:
        return self.rate(self.urgent_on_time, self.urgent_due)

    @property
    def ordinary_rate(self) -> float | None:
        return self.rate(self.ordinary_on_time, self.ordinary_due)

    @property
    def handle_rate(self) -> float | None:
        return self.rate(self.handle_on_time, self.handle_due)


@dataclass(frozen=True, slots=True)
class UnitRow:
    unit: str
    cases: int
    overdue: int
    escalations: int


@dataclass(frozen=True, slots=True)
class SourceRow:
    source: str
    posts: int
    leads: int
    confirmed: int

    @property
    def per_thousand(self) -> float | None:
        """Confirmed leads per 1,000 posts fetched."""
        return None if self.posts == 0 else self.confirmed * 1000 / self.posts


@dataclass(frozen=True, slots=True)
class Hotspot:
    district: str
    street: str
    cases: int
    overdue: int
    top_category: str
    top_place: str | None
    """The road or landmark named most often among its cases."""
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class Briefing:
    period: Period
    generated_at: datetime
    funnel: list[FunnelStep]
    previous_funnel: list[FunnelStep]
    sla: SlaFigures
    categories: list[Change]
    districts: list[Change]
    streets: list[Change]
    units: list[UnitRow]
    sources: list[SourceRow]
    hotspots: list[Hotspot]
    groups: list[SimilarGroup]
    street_cases: dict[tuple[str, str], int]
    """(district, street) → cases this period, for the map's points."""
    overdue_ids: frozenset[str] = field(default_factory=frozenset)
    summary: str = ""
    tracked: dict[str, SimilarCase] = field(default_factory=dict)
    """What people decided about the groups (tags, unit, status), by group id."""

    def step(self, key: str) -> FunnelStep:
        return next(s for s in self.funnel if s.key == key)


def dispatched_at(case: CaseFact) -> datetime | None:
    return case.first_at(DISPATCHED)


def handled_at(case: CaseFact) -> datetime | None:
    return case.first_at(HANDLED)


def is_overdue(case: CaseFact, now: datetime) -> bool:
    """Missed a deadline: dispatched late or not yet dispatched past it, or handled (办结)
    late or not yet handled past the handling deadline."""
    dispatched = dispatched_at(case)
    if case.status != "rejected":
        if dispatched is None and now > case.dispatch_due:
            return True
        if dispatched is not None and dispatched > case.dispatch_due:
            return True
    if case.handle_due is not None and dispatched is not None:
        handled = handled_at(case)
        if handled is None and now > case.handle_due:
            return True
        if handled is not None and handled > case.handle_due:
            return True
    return False


def _rate(count: int | None, before: int | None) -> float | None:
    if count is None or not before:
        return None
    return count / before


def _funnel(
    posts: int, leads: int, verified: int, cases: list[CaseFact], now: datetime
) -> list[FunnelStep]:
    on_time = sum(1 for c in cases if (d := dispatched_at(c)) is not None and d <= c.dispatch_due)
    closed = [c for c in cases if c.status == "closed"]
    visited = [c for c in closed if c.satisfaction is not None]
    satisfied: int | None = sum(1 for c in visited if c.satisfaction in SATISFIED)
    satisfied_note = "满意与基本满意之和"
    if closed and not visited:
        satisfied, satisfied_note = None, "已结案工单尚无回访结果记录"
    rechecked: int | None = sum(1 for c in cases if c.recheck == "passed")
    rechecked_note = "结案后复查期内未再收到同一问题的报告"
    if not any(c.recheck for c in cases):
        rechecked, rechecked_note = None, "工单记录中尚无复查结果"
    steps = [
        ("posts", "采集帖子", posts, "本期抓取的帖子"),
        ("leads", "发现线索", leads, "帖子级线索"),
        ("verified", "核实确认", verified, "确认为真的事件（线索簇）"),
        ("cases", "立案工单", len(cases), "本期立案"),
        ("on_time", "按时派单", on_time, "在派单时限内派出"),
        ("closed", "办结结案", len(closed), "已结案"),
        ("satisfied", "回访满意", satisfied, satisfied_note),
        ("rechecked", "复查通过", rechecked, rechecked_note),
    ]
    out: list[FunnelStep] = []
    before: int | None = None
    for key, label, count, note in steps:
        out.append(FunnelStep(key, label, count, _rate(count, before), note))
        before = count
    return out


def _sla(cases: list[CaseFact], now: datetime) -> SlaFigures:
    def due_and_on_time(subset: list[CaseFact]) -> tuple[int, int]:
        due = on_time = 0
        for c in subset:
            dispatched = dispatched_at(c)
            if dispatched is not None and dispatched <= c.dispatch_due:
                due, on_time = due + 1, on_time + 1
            elif dispatched is not None or now > c.dispatch_due:
                due += 1
        return due, on_time

    live = [c for c in cases if c.status != "rejected"]
    due, on_time = due_and_on_time(live)
    u_due, u_on = due_and_on_time([c for c in live if c.priority == "urgent"])
    o_due, o_on = due_and_on_time([c for c in live if c.priority != "urgent"])
    with_deadline = [c for c in live if c.handle_due is not None and dispatched_at(c)]
    h_due: int | None = None
    h_on: int | None = None
    if any(c.handle_due is not None for c in live):
        h_due = h_on = 0
        for c in with_deadline:
            assert c.handle_due is not None
            handled = handled_at(c)
            if handled is not None and handled <= c.handle_due:
                h_due, h_on = h_due + 1, h_on + 1
            elif handled is not None or now > c.handle_due:
                h_due += 1
    dispatch_minutes = [
        (d - c.opened_at).total_seconds() / 60 for c in live if (d := dispatched_at(c))
    ]
    handle_hours = [
        (h - d).total_seconds() / 3600
        for c in live
        if (d := dispatched_at(c)) is not None and (h := handled_at(c)) is not None
    ]
    return SlaFigures(
        dispatch_due=due,
        dispatch_on_time=on_time,
        urgent_due=u_due,
        urgent_on_time=u_on,
        ordinary_due=o_due,
        ordinary_on_time=o_on,
        handle_due=h_due,
        handle_on_time=h_on,
        dispatched=len(dispatch_minutes),
        avg_dispatch_minutes=sum(dispatch_minutes) / len(dispatch_minutes)
        if dispatch_minutes
        else None,
        handled=len(handle_hours),
        avg_handle_hours=sum(handle_hours) / len(handle_hours) if handle_hours else None,
        overdue=sum(1 for c in live if is_overdue(c, now)),
    )


def _changes(
    current: list[CaseFact],
    previous: list[CaseFact],
    name: Callable[[CaseFact], str | None],
    overdue: frozenset[str],
    *,
    always: Iterable[str] = (),
) -> list[Change]:
    now_counts = Counter(n for c in current if (n := name(c)) is not None)
    then_counts = Counter(n for c in previous if (n := name(c)) is not None)
    late = Counter(n for c in current if c.case_id in overdue and (n := name(c)) is not None)
    names = set(now_counts) | set(then_counts) | set(always)
    rows = [Change(n, now_counts[n], then_counts[n], late[n]) for n in names]
    rows.sort(key=lambda r: (-r.current, -r.previous, r.name))
    return rows


def _units(cases: list[CaseFact], overdue: frozenset[str], limit: int = 10) -> list[UnitRow]:
    per: dict[str, list[CaseFact]] = defaultdict(list)
    for c in cases:
        per[c.department].append(c)
    rows = [
        UnitRow(
            unit,
            len(items),
            sum(1 for c in items if c.case_id in overdue),
            sum(c.escalations for c in items),
        )
        for unit, items in per.items()
    ]
    rows = [r for r in rows if r.overdue or r.escalations]
    rows.sort(key=lambda r: (-r.overdue, -r.escalations, -r.cases, r.unit))
    return rows[:limit]


async def _sources(store: Store, period: Period) -> list[SourceRow]:
    posts = await q.posts_by_source(store, period.start, period.end)
    leads = await q.leads_found(store, period.start, period.end)
    sources = await q.sources_of_posts(store, [lf.post_id for lf in leads if lf.post_id])
    confirmed = await q.confirmed_among(store, [lf.cluster_id for lf in leads])
    lead_counts: Counter[str] = Counter()
    confirmed_counts: Counter[str] = Counter()
    for lf in leads:
        pid = lf.post_id or ""
        source = sources.get(pid) or pid.partition(":")[0] or "未知来源"
        lead_counts[source] += 1
        if lf.cluster_id in confirmed:
            confirmed_counts[source] += 1
    names = set(posts) | set(lead_counts)
    rows = [SourceRow(n, posts.get(n, 0), lead_counts[n], confirmed_counts[n]) for n in names]
    rows.sort(
        key=lambda r: (
            -(r.per_thousand if r.per_thousand is not None else -1.0),
            -r.confirmed,
            -r.posts,
            r.source,
        )
    )
    return rows


def _hotspots(
    cases: list[CaseFact], overdue: frozenset[str], shenzhen: ShenzhenMap, limit: int = 5
) -> list[Hotspot]:
    per: dict[tuple[str, str], list[CaseFact]] = defaultdict(list)
    for c in cases:
        if c.district and c.street and shenzhen.street(c.district, c.street):
            per[(c.district, c.street)].append(c)
    ranked = sorted(per.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    out = []
    for (district, street), items in ranked:
        point = shenzhen.street(district, street)
        assert point is not None
        top_category = Counter(c.category for c in items).most_common(1)[0][0]
        places = Counter(p for c in items if (p := c.road or c.poi))
        out.append(
            Hotspot(
                district=district,
                street=street,
                cases=len(items),
                overdue=sum(1 for c in items if c.case_id in overdue),
                top_category=CATEGORY_LABELS.get(top_category, top_category),
                top_place=places.most_common(1)[0][0] if places else None,
                lon=point.lon,
                lat=point.lat,
            )
        )
    return out


async def build_briefing(
    store: Store, period: Period, *, now: datetime, configs_dir: Path
) -> Briefing:
    """Every number of the briefing for ``period``, as of ``now``."""
    from reports.summary import summarise

    shenzhen = load_map(configs_dir)
    before = period.previous

    async def flow(p: Period) -> tuple[int, int, int, list[CaseFact]]:
        posts = sum((await q.posts_by_source(store, p.start, p.end)).values())
        leads = len(await q.leads_found(store, p.start, p.end))
        verified = len(await q.confirmed_in(store, p.start, p.end))
        return posts, leads, verified, await q.cases_opened(store, p.start, p.end)

    posts, leads, verified, cases = await flow(period)
    p_posts, p_leads, p_verified, p_cases = await flow(before)
    overdue = frozenset(c.case_id for c in cases if is_overdue(c, now))
    p_overdue = frozenset(c.case_id for c in p_cases if is_overdue(c, now))

    def district(c: CaseFact) -> str:
        return c.district or UNKNOWN_PLACE

    def street(c: CaseFact) -> str | None:
        return f"{c.district}{c.street}" if c.district and c.street else None

    streets = _changes(cases, p_cases, street, overdue)
    groups = similar_groups(cases, p_cases, overdue=overdue | p_overdue)
    briefing = Briefing(
        period=period,
        generated_at=now,
        funnel=_funnel(posts, leads, verified, cases, now),
        previous_funnel=_funnel(p_posts, p_leads, p_verified, p_cases, now),
        sla=_sla(cases, now),
        categories=_changes(
            cases, p_cases, lambda c: CATEGORY_LABELS.get(c.category, c.category), overdue
        ),
        districts=_changes(cases, p_cases, district, overdue, always=shenzhen.districts),
        streets=[s for s in streets if s.current][:10],
        units=_units(cases, overdue),
        sources=await _sources(store, period),
        hotspots=_hotspots(cases, overdue, shenzhen),
        groups=groups,
        street_cases=dict(
            Counter((c.district, c.street) for c in cases if c.district and c.street)
        ),
        overdue_ids=overdue,
        tracked=await similar_cases(store, [g.key.group_id for g in groups]),
    )
    return _with_summary(briefing, summarise(briefing))


def _with_summary(briefing: Briefing, summary: str) -> Briefing:
    from dataclasses import replace

    return replace(briefing, summary=summary)
