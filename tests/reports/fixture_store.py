"""A store with known counts, built through the real records and the real store.

The week is 2026-11-23 (Mon) .. 2026-11-29 (Sun), Shenzhen time; the week before has three
cases. Every figure the briefing should show is worked out by hand in ``EXPECTED`` and
in the test that reads it, from the cases below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from reports.period import SHENZHEN, Period, period_for
from xianban.records import Case, CaseEvent, CaseStatus, Geo, Lead, Post, Verdict
from xianban.store import Store

FIRST, LAST = date(2026, 11, 23), date(2026, 11, 29)
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=SHENZHEN)


def weekly() -> Period:
    return period_for("weekly", first=FIRST, last=LAST, now=NOW)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in November 2026, Shenzhen (day 30 is the Monday after the week)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHENZHEN)


@dataclass
class Spec:
    """One case and how its life went; ``None`` steps never happened."""

    n: str
    category: str
    geo: Geo
    department: str
    opened: datetime
    urgent: bool = False
    source: str = "weibo-keyword"
    text: str = "现场情况反映"
    dispatched_after: int | None = None  # minutes after opening
    handled_after_h: float | None = None  # hours after dispatch (办结)
    closed: bool = False
    status: CaseStatus | None = None
    satisfaction: str | None = None
    handle_due_h: float | None = None  # hours after dispatch
    escalations: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


LONGHUA = Geo(district="龙华区", street="龙华街道", road="龙观大道")
CURRENT = [
    Spec(
        "C1",
        "noise",
        LONGHUA,
        "龙华区生态环境局",
        at(23, 10),
        urgent=True,
        text="龙观大道工地夜间施工噪音太大",
        dispatched_after=20,
        handled_after_h=5,
        closed=True,
        satisfaction="satisfied",
        handle_due_h=24,
    ),
    Spec(
        "C2",
        "noise",
        LONGHUA,
        "龙华区生态环境局",
        at(24, 23),
        text="龙观大道半夜还在打桩",
        dispatched_after=180,
        status="in_progress",
        handle_due_h=24,
        escalations=1,
    ),
    Spec(
        "C3",
        "noise",
        Geo(district="龙华区", street="龙华街道", poi="龙华汽车站"),
        "龙华区生态环境局",
        at(25, 9),
        text="龙华汽车站旁边广场舞音响扰民",
        dispatched_after=60,
        handled_after_h=10,
        status="resolved",
    ),
    Spec(
        "C4",
        "consumer_rights",
        Geo(district="宝安区"),
        "宝安区市场监督管理局",
        at(26, 11),
        source="tousu-feed",
        text="【投诉对象】XX健身（深圳宝安店）【投诉问题】办了年卡门店就关门了",
        dispatched_after=90,
        handled_after_h=20,
        closed=True,
        satisfaction="dissatisfied",
    ),
    Spec(
        "C5",
        "consumer_rights",
        Geo(district="南山区", street="南头街道"),
        "南山区市场监督管理局",
        at(27, 10),
        source="tousu-feed",
        text="投诉对象：XX健身（南山店） 问题：预付卡无法退款",
        status="filed",
        escalations=2,
    ),
    Spec(
        "C6",
        "municipal_facilities",
        Geo(district="福田区", street="莲花街道", poi="莲花山公园"),
        "福田区城市管理和综合执法局",
        at(29, 23, 50),
        urgent=True,
        text="莲花山公园台阶断裂",
        dispatched_after=20,
        status="dispatched",
    ),
    Spec(
        "C7",
        "road_traffic",
        Geo(district="大鹏新区", street="南澳街道", road="南澳大道"),
        "大鹏新区交通运输局",
        at(23, 15),
        text="南澳大道路面塌陷",
        status="rejected",
    ),
]
PREVIOUS = [
    Spec(
        "P1",
        "noise",
        LONGHUA,
        "龙华区生态环境局",
        at(17, 10),
        text="龙观大道夜间施工",
        dispatched_after=30,
        handled_after_h=8,
        closed=True,
        satisfaction="basically_satisfied",
    ),
    Spec(
        "P2",
        "municipal_facilities",
        Geo(district="福田区", street="莲花街道"),
        "福田区城市管理和综合执法局",
        at(18, 10),
        text="莲花街道路灯不亮",
        dispatched_after=40,
        handled_after_h=6,
        closed=True,
        satisfaction="satisfied",
    ),
    Spec(
        "P3",
        "consumer_rights",
        Geo(district="宝安区"),
        "宝安区市场监督管理局",
        at(19, 10),
        source="tousu-feed",
        text="投诉对象：XX健身（宝安店） 问题：关门跑路",
        dispatched_after=60,
        handled_after_h=30,
        closed=True,
    ),
]


def _post(source: str, n: int, fetched: datetime) -> Post:
    platform = source.split("-")[0]
    return Post(
        platform=platform,
        native_id=f"{source}-{n}",
        source=source,
        text=f"帖子 {n}",
        fetched_at=fetched,
        created_at=fetched,
    )


def _lead(cluster: str, post: Post, found: datetime, category: str, geo: Geo, text: str) -> Lead:
    return Lead(
        lead_id=f"lead-{post.native_id}",
        cluster_id=cluster,
        post_ids=[post.post_id],
        platform=post.platform,
        text=text,
        category=category,
        urgent=False,
        geo=geo,
        score=0.9,
        found_at=found,
    )


def _verdict(lead: Lead, decision: str, at_: datetime) -> Verdict:
    return Verdict(
        verdict_id=f"verdict-{lead.cluster_id}-{decision}",
        cluster_id=lead.cluster_id,
        lead=lead,
        decision=decision,
        by="rule:test",
        reason="测试",
        decided_at=at_,
    )


def _case(spec: Spec, lead: Lead) -> Case:
    opened = spec.opened
    history = [
        CaseEvent(at=opened, status="pending", note="立案"),
        CaseEvent(at=opened + timedelta(minutes=1), status="filed", note="已报送"),
    ]
    handle_due = None
    if spec.status == "rejected":
        history.append(CaseEvent(at=opened + timedelta(minutes=2), status="rejected"))
    if spec.dispatched_after is not None:
        dispatched = opened + timedelta(minutes=spec.dispatched_after)
        history.append(CaseEvent(at=dispatched, status="dispatched"))
        if spec.handle_due_h is not None:
            handle_due = dispatched + timedelta(hours=spec.handle_due_h)
        if spec.handled_after_h is not None:
            handled = dispatched + timedelta(hours=spec.handled_after_h)
            history.append(CaseEvent(at=handled, status="resolved"))
            if spec.closed:
                history.append(CaseEvent(at=handled + timedelta(hours=1), status="closed"))
    status = "closed" if spec.closed else (spec.status or history[-1].status)
    priority = "urgent" if spec.urgent else "ordinary"
    return Case(
        case_id=f"XB-{spec.n}",
        cluster_id=lead.cluster_id,
        external_id=f"SZ-{spec.n}",
        department=spec.department,
        category=spec.category,
        priority=priority,
        geo=spec.geo,
        title=f"【{'加急' if spec.urgent else '一般'}】{spec.n} 测试工单",
        description=f"{spec.text}\n\n线索来源：测试",
        post_ids=lead.post_ids,
        opened_at=opened,
        dispatch_due=opened + timedelta(minutes=30 if spec.urgent else 120),
        status=status,
        escalations=spec.escalations,
        history=history,
        handle_due=handle_due,
        satisfaction=spec.satisfaction,
    )


async def build(store: Store) -> None:
    """Write the fixture: posts, leads, verdicts, cases for the week and the week before."""
    week_start, prev_start = at(23, 0), at(16, 0)
    posts: dict[str, list[Post]] = {"weibo-keyword": [], "tousu-feed": []}
    for source, count in (("weibo-keyword", 200), ("tousu-feed", 50)):
        for i in range(count):
            post = _post(source, i, week_start + timedelta(minutes=30 * i))
            await store.upsert_post(post)
            posts[source].append(post)
    previous_posts: dict[str, list[Post]] = {"weibo-keyword": [], "tousu-feed": []}
    for source, count in (("weibo-keyword", 100), ("tousu-feed", 20)):
        for i in range(count):
            post = _post(source, 1000 + i, prev_start + timedelta(minutes=30 * i))
            await store.upsert_post(post)
            previous_posts[source].append(post)
    used = {"weibo-keyword": 0, "tousu-feed": 0}

    def next_post(source: str, pool: dict[str, list[Post]]) -> Post:
        used[source] += 1
        return pool[source][used[source] - 1]

    for specs, pool in ((CURRENT, posts), (PREVIOUS, previous_posts)):
        for spec in specs:
            post = next_post(spec.source, pool)
            case_lead = _lead(
                f"cluster-{spec.n}", post, spec.opened, spec.category, spec.geo, spec.text
            )
            await store.upsert_lead(case_lead)
            await store.record_verdict(_verdict(case_lead, "confirmed", spec.opened))
            await store.save_case(_case(spec, case_lead))
    # the week's other clusters: one confirmed with two reports but no case of its own (it
    # was attached to an open case), one rejected (two reports), one waiting for review
    extras = [
        ("cluster-dup", "confirmed", ["weibo-keyword", "weibo-keyword"]),
        ("cluster-rejected", "rejected", ["weibo-keyword", "tousu-feed"]),
        ("cluster-review", "needs_review", ["weibo-keyword"]),
    ]
    for cluster, decision, sources in extras:
        lead: Lead | None = None
        for source in sources:
            post = next_post(source, posts)
            lead = _lead(
                cluster, post, at(28, 12), "city_appearance", Geo(district="罗湖区"), "垃圾"
            )
            await store.upsert_lead(lead)
        assert lead is not None
        if decision == "rejected":  # confirmed first, then overturned: only the latest counts
            await store.record_verdict(_verdict(lead, "confirmed", at(28, 12, 1)))
        await store.record_verdict(_verdict(lead, decision, at(28, 12, 5)))
