"""线索审核队列 and the lead page: what an analyst works through all day.

The queue is filtered, sorted and paged in the database (50 a page), urgent leads first
with their dispatch clock; each card links to the lead page, which shows the whole
cluster's evidence (every post, its author, times, engagement, media, how its place was
resolved and the score's reasons), the verdicts so far and the actions. The actions
themselves live in ``console.routes.review_actions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from case_opener.config import Sla
from console.decisions import DECISION_LABELS, current_verdict
from console.deps import Analyst, DutiesDep, LinksDep, PagesDep, SlaDep, StoreDep
from console.filters import AGES, REVIEW_SORT_LABELS, ReviewQueryDep
from console.links import Link, SourceBases, link
from xianban.records import Lead, Post, Verdict, utcnow
from xianban.store.listing import (
    AuditFilter,
    ReviewFilter,
    audit_page,
    cluster_sizes,
    posts_by_id,
    review_facets,
    review_page,
    verdicts_of,
)
from xianban.store.verification import site_checks_of

router = APIRouter()

OUTCOME_MESSAGES: dict[str, str] = {
    "confirmed": "已确认，线索将立案并报送工单系统",
    "rejected": "已驳回该线索，理由已记入审计日志",
    "amended": "已保存修改，线索仍在队列中等待确认",
    "merged": "已合并，相关报告并入目标线索",
    "split": "已拆分，选中的报告成为新的待审核线索",
    "site_check": "已派发现场核查，结果回传后自动研判",
    "site_checked": "已记录现场核查结果",
    "bulk": "批量操作已完成",
}
PLACE_MARKERS = ("地名", "地点", "属地", "地名库", "POI", "定位")
RULE_LABELS: dict[str, str] = {
    "rule:jurisdiction": "未能确定所在区",
    "rule:review": "得分居中待研判",
    "rule:stale": "发布时间过久",
    "rule:weak_signal": "弱信号汇聚",
    "analyst": "分析员处理中",
}


@dataclass(frozen=True, slots=True)
class Clock:
    """A lead's dispatch clock: how long it has waited and when it must be dispatched."""

    waited_minutes: int
    due: datetime
    left_minutes: int

    @property
    def overdue(self) -> bool:
        return self.left_minutes < 0

    @property
    def waited(self) -> str:
        return span(self.waited_minutes)

    @property
    def left(self) -> str:
        return span(abs(self.left_minutes))


def span(minutes: int) -> str:
    """42 分钟, 3 小时 5 分钟, 11 天 8 小时: how long, as a person says it."""
    if minutes < 120:
        return f"{minutes} 分钟"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时" + (f" {rest} 分钟" if rest else "")
    days, hours = divmod(hours, 24)
    return f"{days} 天" + (f" {hours} 小时" if hours else "")


def clock(lead: Lead, sla: Sla, now: datetime) -> Clock:
    due = lead.found_at + sla.dispatch_within("urgent" if lead.urgent else "ordinary")
    return Clock(
        waited_minutes=max(0, int((now - lead.found_at).total_seconds() // 60)),
        due=due,
        left_minutes=int((due - now).total_seconds() // 60),
    )


@dataclass(frozen=True, slots=True)
class Card:
    verdict: Verdict
    reports: int
    clock: Clock
    link: Link | None

    @property
    def lead(self) -> Lead:
        return self.verdict.lead


def _post_link(links: SourceBases, lead: Lead, posts: dict[str, Post]) -> Link | None:
    post = posts.get(lead.post_ids[0])
    return links.link(lead.url, post.source if post else None)


@router.get("/review")
async def review_queue(
    request: Request,
    user: Analyst,
    store: StoreDep,
    pages: PagesDep,
    sla: SlaDep,
    links: LinksDep,
    duties: DutiesDep,
    q: ReviewQueryDep,
    done: str = "",
) -> Response:
    listing = await review_page(store, q.filter, sort=q.sort, page=q.page)
    clusters = [v.cluster_id for v in listing.items]
    sizes = await cluster_sizes(store, clusters)
    posts = await posts_by_id(store, [v.lead.post_ids[0] for v in listing.items])
    now = utcnow()
    cards = [
        Card(
            verdict=v,
            reports=max(v.lead.corroboration, sizes.get(v.cluster_id, 1) - 1),
            clock=clock(v.lead, sla, now),
            link=_post_link(links, v.lead, posts),
        )
        for v in listing.items
    ]
    facets = await review_facets(store)
    rules: dict[str, int] = {}
    for value, n in facets["rule"]:
        key = "analyst" if value.startswith("analyst:") else value
        rules[key] = rules.get(key, 0) + n
    return pages.render(
        request,
        "review.html",
        user=user,
        cards=cards,
        listing=listing,
        q=q,
        district_options=[(d, d) for d in duties.places.districts],
        streets=sorted(duties.places.street_district),
        platform_options=[(v, f"{v}（{n}）") for v, n in facets["platform"]],
        age_options=[(code, label) for code, (label, _) in AGES.items()],
        rule_options=[
            (v, f"{RULE_LABELS.get(v, v.removeprefix('rule:'))}（{n}）") for v, n in rules.items()
        ],
        reason_options=[(r, r) for r in REJECT_REASONS],
        sorts=REVIEW_SORT_LABELS,
        notice=OUTCOME_MESSAGES.get(done, ""),
    )


@dataclass(frozen=True, slots=True)
class Evidence:
    """One report in the cluster: the lead the leadfinder made and the post behind it."""

    lead: Lead
    post: Post | None
    link: Link | None
    media: list[Link]
    place_reasons: list[str]
    score_reasons: list[str]
    features: list[tuple[str, float]]


def evidence(lead: Lead, posts: dict[str, Post], links: SourceBases) -> Evidence:
    post = posts.get(lead.post_ids[0])
    media = [m for url in (post.media if post else []) if (m := link(url)) is not None]
    place = [r for r in lead.reasons if any(marker in r for marker in PLACE_MARKERS)]
    features = sorted(
        ((k, v) for k, v in lead.features.items() if v), key=lambda kv: (-abs(kv[1]), kv[0])
    )
    return Evidence(
        lead=lead,
        post=post,
        link=links.link(lead.url or (post.url if post else None), post.source if post else None),
        media=media,
        place_reasons=place,
        score_reasons=[r for r in lead.reasons if r not in place],
        features=features[:12],
    )


@router.get("/review/{cluster_id}")
async def lead_page(
    request: Request,
    cluster_id: str,
    user: Analyst,
    store: StoreDep,
    pages: PagesDep,
    sla: SlaDep,
    links: LinksDep,
    duties: DutiesDep,
    done: str = "",
) -> Response:
    current = await current_verdict(store, cluster_id)
    members = await store.leads_in_cluster(cluster_id)
    if not any(m.lead_id == current.lead.lead_id for m in members):
        members = [current.lead, *members]
    post_ids = [p for m in members for p in m.post_ids] + current.lead.post_ids
    posts = await posts_by_id(store, post_ids)
    reports = [evidence(m, posts, links) for m in members]
    lead = current.lead
    similar = await review_page(
        store,
        ReviewFilter(category=lead.category, district=lead.geo.district, street=lead.geo.street),
        sort="newest",
        per_page=200,
    )
    # the likeliest duplicates first: the same place, closest in time
    candidates = sorted(
        (v for v in similar.items if v.cluster_id != cluster_id),
        key=lambda v: abs((v.lead.found_at - lead.found_at).total_seconds()),
    )
    office = duties.street_office(lead.geo)
    return pages.render(
        request,
        "lead.html",
        user=user,
        verdict=current,
        lead=lead,
        reports=reports,
        clock=clock(lead, sla, utcnow()),
        history=await verdicts_of(store, cluster_id),
        audit=(await audit_page(store, AuditFilter(target=cluster_id), per_page=100)).items,
        checks=await site_checks_of(store, cluster_id),
        similar=candidates[:10],
        street_office=office.unit if office.level == "street" else None,
        route=duties.route_lead(lead),
        decision_labels=DECISION_LABELS,
        open_=current.decision == "needs_review",
        notice=OUTCOME_MESSAGES.get(done, ""),
        reason_options=[(r, r) for r in REJECT_REASONS],
    )


REJECT_REASONS: tuple[str, ...] = (
    "非城市问题（闲聊、观点、新闻转述）",
    "广告或垃圾推广",
    "不在深圳市管辖范围",
    "问题已解决",
    "信息不足，无法核实",
    "重复报告",
)
