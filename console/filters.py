"""Query strings of the list pages → the store's filters, and paging links that keep them.

Every list (queue, cases, audit, dead letters) reads its filters from the query string, so
a filtered page is a URL an analyst can bookmark or pass on. A value the page does not
offer (an unknown category, a score above 1) is a 400 with a Chinese message naming it;
an empty value means "any".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query

from xianban.records import CATEGORIES, utcnow
from xianban.store.listing import (
    CASE_SORTS,
    REVIEW_SORTS,
    AuditFilter,
    CaseFilter,
    CaseSort,
    DeadLetterFilter,
    Order,
    ReviewFilter,
    ReviewSort,
)

S = TypeVar("S", bound=str)

AGES: dict[str, tuple[str, timedelta]] = {
    "30m": ("≥ 30 分钟", timedelta(minutes=30)),
    "2h": ("≥ 2 小时", timedelta(hours=2)),
    "24h": ("≥ 24 小时", timedelta(hours=24)),
    "3d": ("≥ 3 天", timedelta(days=3)),
}
REVIEW_SORT_LABELS: dict[str, str] = {
    "urgent": "紧急优先（先到先审）",
    "oldest": "等待最久",
    "newest": "最新",
    "score": "评分从高到低",
    "score_low": "评分从低到高",
}
CASE_SORT_LABELS: dict[str, str] = {
    "newest": "最新立案",
    "oldest": "最早立案",
    "due": "派单时限最近",
    "escalations": "督办次数最多",
}
ORDER_LABELS: dict[str, str] = {"newest": "最新在前", "oldest": "最早在前"}
ORDERS: tuple[Order, ...] = ("newest", "oldest")

Text = Annotated[str, Query(max_length=64)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]


def _choice(value: str, options: tuple[S, ...], what: str) -> S:
    for option in options:
        if option == value:
            return option
    raise HTTPException(400, f"未知的{what}：{value}（可选：{'、'.join(options)}）")


def _score(value: str, what: str) -> float | None:
    if not value.strip():
        return None
    try:
        score = float(value)
    except ValueError:
        raise HTTPException(400, f"{what}应为 0 到 1 之间的数：{value}") from None
    if not 0.0 <= score <= 1.0:
        raise HTTPException(400, f"{what}应为 0 到 1 之间的数：{value}")
    return score


def _yes_no(value: str, what: str) -> bool | None:
    if value in ("", "all"):
        return None
    if value in ("1", "yes", "true"):
        return True
    if value in ("0", "no", "false"):
        return False
    raise HTTPException(400, f"{what}只能是 1 或 0：{value}")


def _category(value: str) -> str | None:
    if not value:
        return None
    if value not in CATEGORIES:
        raise HTTPException(400, f"未知的分类：{value}")
    return value


@dataclass(frozen=True, slots=True)
class Listing:
    """What a list page was asked for: its filter, sort, page, and the query to keep."""

    params: dict[str, str]
    page: int

    def url(self, path: str, **changes: str | int) -> str:
        """This list with some parameters changed (``page=3``), empty ones left out."""
        merged = {**self.params, **{k: str(v) for k, v in changes.items()}}
        kept = {k: v for k, v in merged.items() if v and not (k == "page" and v == "1")}
        query = urlencode(kept)
        return f"{path}?{query}" if query else path


@dataclass(frozen=True, slots=True)
class ReviewQuery(Listing):
    filter: ReviewFilter
    sort: ReviewSort


def review_query(
    category: Text = "",
    district: Text = "",
    street: Text = "",
    urgent: Text = "",
    platform: Text = "",
    min_score: Text = "",
    max_score: Text = "",
    age: Text = "",
    rule: Text = "",
    sort: Text = "urgent",
    page: PageNo = 1,
) -> ReviewQuery:
    now = utcnow()
    older_than: datetime | None = None
    if age:
        if age not in AGES:
            raise HTTPException(400, f"未知的等待时长：{age}（可选：{'、'.join(AGES)}）")
        older_than = now - AGES[age][1]
    flt = ReviewFilter(
        category=_category(category),
        district=district or None,
        street=street or None,
        urgent=_yes_no(urgent, "紧急"),
        platform=platform or None,
        min_score=_score(min_score, "最低评分"),
        max_score=_score(max_score, "最高评分"),
        older_than=older_than,
        rule=rule or None,
    )
    chosen = _choice(sort or "urgent", REVIEW_SORTS, "排序")
    params = {
        "category": category,
        "district": district,
        "street": street,
        "urgent": urgent,
        "platform": platform,
        "min_score": min_score,
        "max_score": max_score,
        "age": age,
        "rule": rule,
        "sort": "" if chosen == "urgent" else chosen,
    }
    return ReviewQuery(params=params, page=page, filter=flt, sort=chosen)


@dataclass(frozen=True, slots=True)
class CaseQuery(Listing):
    filter: CaseFilter
    sort: CaseSort


def case_query(
    status: Text = "",
    category: Text = "",
    district: Text = "",
    street: Text = "",
    priority: Text = "",
    department: Text = "",
    escalated: Text = "",
    returned: Text = "",
    sort: Text = "newest",
    page: PageNo = 1,
) -> CaseQuery:
    from console.deps import CASE_STATUSES

    statuses: tuple[str, ...] = ()
    if status:
        statuses = (_choice(status, CASE_STATUSES, "工单状态"),)
    if priority and priority not in ("urgent", "ordinary"):
        raise HTTPException(400, f"未知的优先级：{priority}")
    flt = CaseFilter(
        statuses=statuses,
        category=_category(category),
        district=district or None,
        street=street or None,
        priority=priority or None,
        department=department or None,
        escalated=_yes_no(escalated, "督办"),
        returned=_yes_no(returned, "退单"),
    )
    chosen = _choice(sort or "newest", CASE_SORTS, "排序")
    params = {
        "status": status,
        "category": category,
        "district": district,
        "street": street,
        "priority": priority,
        "department": department,
        "escalated": escalated,
        "returned": returned,
        "sort": "" if chosen == "newest" else chosen,
    }
    return CaseQuery(params=params, page=page, filter=flt, sort=chosen)


@dataclass(frozen=True, slots=True)
class AuditQuery(Listing):
    filter: AuditFilter
    sort: Order


def audit_query(
    actor: Text = "",
    action: Text = "",
    target: Annotated[str, Query(max_length=512)] = "",
    days: Text = "",
    sort: Text = "newest",
    page: PageNo = 1,
) -> AuditQuery:
    since = None
    if days:
        if not days.isdigit() or not 0 < int(days) <= 3650:
            raise HTTPException(400, f"天数应为 1 到 3650 的整数：{days}")
        since = utcnow() - timedelta(days=int(days))
    chosen = _choice(sort or "newest", ORDERS, "排序")
    flt = AuditFilter(
        actor=actor or None, action=action or None, target=target or None, since=since
    )
    params = {
        "actor": actor,
        "action": action,
        "target": target,
        "days": days,
        "sort": "" if chosen == "newest" else chosen,
    }
    return AuditQuery(params=params, page=page, filter=flt, sort=chosen)


@dataclass(frozen=True, slots=True)
class DeadLetterQuery(Listing):
    filter: DeadLetterFilter
    sort: Order


def dead_letter_query(
    stage: Text = "",
    error_type: Text = "",
    source_topic: Text = "",
    sort: Text = "newest",
    page: PageNo = 1,
) -> DeadLetterQuery:
    chosen = _choice(sort or "newest", ORDERS, "排序")
    flt = DeadLetterFilter(
        stage=stage or None, error_type=error_type or None, source_topic=source_topic or None
    )
    params = {
        "stage": stage,
        "error_type": error_type,
        "source_topic": source_topic,
        "sort": "" if chosen == "newest" else chosen,
    }
    return DeadLetterQuery(params=params, page=page, filter=flt, sort=chosen)


ReviewQueryDep = Annotated[ReviewQuery, Depends(review_query)]
CaseQueryDep = Annotated[CaseQuery, Depends(case_query)]
AuditQueryDep = Annotated[AuditQuery, Depends(audit_query)]
DeadLetterQueryDep = Annotated[DeadLetterQuery, Depends(dead_letter_query)]
