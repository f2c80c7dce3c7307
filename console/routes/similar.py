"""类案治理: the recurring problems the briefing finds, and what leaders and analysts do
about them — tag, assign to a unit of the duties list, set the status, note, follow.

The list ranks a period's groups as the briefing does (``?kind=&from=&to=``) and adds
every group someone has acted on; a follower sees how many cases joined since they last
opened the group's page (opening it marks them seen). Every change is audited, one entry
per kind of change, and kept with who and when on the group's page.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from starlette.responses import RedirectResponse, Response

from console.auth import Principal
from console.deps import DutiesDep, GovernorForm, PagesDep, StoreDep, Viewer
from reports.briefing import is_overdue
from reports.period import CURRENT_LABELS, KIND_LABELS, PREVIOUS_LABELS, Kind, period_for
from reports.similar import (
    GOVERNANCE_LABELS,
    LOOKBACK,
    GroupHistory,
    GroupKey,
    recent_histories,
    similar_groups,
)
from xianban.records import utcnow
from xianban.store import Store
from xianban.store import reporting as q
from xianban.store.similar_cases import (
    SimilarCase,
    SimilarStatus,
    follow_similar_case,
    followed_by,
    followers_of,
    mark_seen,
    similar_case_notes,
    similar_cases,
    track_similar_case,
    unfollow_similar_case,
    update_similar_case,
)

router = APIRouter()

MAX_TAGS = 10
MAX_TAG_LENGTH = 20
_TAG_SEPARATORS = re.compile(r"[,，、;；\r\n]+")
NOTICES = {
    "saved": "已保存",
    "unchanged": "没有修改",
    "followed": "已关注：有新工单归入时会在类案列表中提示",
    "unfollowed": "已取消关注",
}


def parse_tags(text: str) -> list[str]:
    """Tags as typed: separated by commas, 、 or semicolons (a space may be inside one)."""
    tags = list(dict.fromkeys(t.strip() for t in _TAG_SEPARATORS.split(text) if t.strip()))
    if len(tags) > MAX_TAGS:
        raise HTTPException(400, f"标签最多 {MAX_TAGS} 个")
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            raise HTTPException(400, f"标签“{tag}”过长（最多 {MAX_TAG_LENGTH} 个字）")
    return tags


@router.get("/similar")
async def similar_list(
    request: Request,
    user: Viewer,
    store: StoreDep,
    pages: PagesDep,
    kind: Annotated[Kind, Query(description="weekly | monthly")] = "weekly",
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    if first and last and first > last:
        raise HTTPException(400, f"开始日期 {first} 晚于结束日期 {last}")
    now = utcnow()
    period = period_for(kind, first=first, last=last, now=now)
    current = await q.cases_opened(store, period.start, period.end)
    previous = await q.cases_opened(store, period.previous.start, period.previous.end)
    overdue = [c.case_id for c in [*current, *previous] if is_overdue(c, now)]
    ranked = similar_groups(current, previous, overdue=overdue, limit=50)
    tracked = await similar_cases(store)
    mine = await followed_by(store, user.name)
    recent = await recent_histories(store, now=now) if tracked else {}
    shown = {g.key.group_id for g in ranked}
    others = [t for gid, t in tracked.items() if gid not in shown]
    return pages.render(
        request,
        "similar.html",
        user=user,
        period=period,
        kind=kind,
        kinds=KIND_LABELS,
        first=first or period.first_day,
        last=last or period.last_day,
        now_label=CURRENT_LABELS[kind],
        before_label=PREVIOUS_LABELS[kind],
        ranked=ranked,
        others=others,
        tracked=tracked,
        mine=mine,
        fresh={
            gid: len(recent[gid].opened_after(f.seen_at)) if gid in recent else 0
            for gid, f in mine.items()
        },
        governance=GOVERNANCE_LABELS,
    )


async def _group(
    store: Store, group_id: str, now: datetime
) -> tuple[GroupKey, GroupHistory | None, SimilarCase | None]:
    """The group's key (from its record, else from its cases) and its recent cases."""
    record = (await similar_cases(store, [group_id])).get(group_id)
    category = record.category if record is not None else None
    history = (await recent_histories(store, now=now, category=category)).get(group_id)
    if history is not None:
        return history.key, history, record
    if record is not None:
        return GroupKey(record.group_id, record.kind, record.category, record.label), None, record
    raise HTTPException(404, f"没有找到类案 {group_id}（近 {LOOKBACK.days} 天内没有归入它的工单）")


@router.get("/similar/{group_id}")
async def similar_detail(
    request: Request,
    group_id: str,
    user: Viewer,
    store: StoreDep,
    pages: PagesDep,
    duties: DutiesDep,
    done: str = "",
) -> Response:
    now = utcnow()
    key, history, record = await _group(store, group_id, now)
    cases = history.cases if history is not None else []
    follower = (await followed_by(store, user.name)).get(group_id)
    fresh = {c.case_id for c in cases if follower is not None and c.opened_at > follower.seen_at}
    if follower is not None:
        await mark_seen(store, group_id, user.name, at=now)
    departments = list(dict.fromkeys(c.department for c in cases if c.department))
    return pages.render(
        request,
        "similar_case.html",
        user=user,
        key=key,
        record=record,
        cases=cases,
        fresh=fresh,
        following=follower is not None,
        followers=await followers_of(store, group_id) if record is not None else [],
        notes=await similar_case_notes(store, group_id) if record is not None else [],
        unit_options=[*departments, *sorted(duties.units() - set(departments))],
        governance=GOVERNANCE_LABELS,
        lookback_days=LOOKBACK.days,
        notice=NOTICES.get(done, ""),
    )


async def _tracked(store: Store, group_id: str, user: Principal) -> SimilarCase:
    """The group's record, made on the first change (404 for a group that does not exist)."""
    now = utcnow()
    key, _, record = await _group(store, group_id, now)
    if record is not None:
        return record
    return await track_similar_case(
        store,
        group_id=key.group_id,
        kind=key.kind,
        category=key.category,
        label=key.label,
        by=user.name,
        at=now,
    )


def _back(group_id: str, done: str) -> Response:
    return RedirectResponse(f"/similar/{group_id}?done={done}", 303)


@router.post("/similar/{group_id}")
async def govern(
    group_id: str,
    user: GovernorForm,
    store: StoreDep,
    duties: DutiesDep,
    status: Annotated[SimilarStatus, Form()],
    tags: Annotated[str, Form(max_length=300)] = "",
    unit: Annotated[str, Form(max_length=200)] = "",
    assignee: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """标签、交办（权责清单中的单位及责任人）、状态与备注, in one form."""
    wanted_tags = parse_tags(tags)
    chosen = unit.strip() or None
    if chosen is not None and chosen not in duties.units():
        raise HTTPException(400, f"权责清单中没有承办单位“{chosen}”")
    person = assignee.strip() or None
    if person is not None and chosen is None:
        raise HTTPException(400, "请先选择责任单位，再填写责任人")
    record = await _tracked(store, group_id, user)
    changes = await update_similar_case(
        store,
        record.group_id,
        by=user.name,
        tags=wanted_tags,
        unit=chosen,
        assignee=person,
        status=status,
        note=note,
    )
    changed = {c.field: c for c in changes}
    target = record.group_id
    if "tags" in changed:
        await store.audit(
            actor=user.name,
            action="similar.tagged",
            target=target,
            detail={"tags": wanted_tags, "before": list(changed["tags"].before or ())},
        )
    if "unit" in changed or "assignee" in changed:
        await store.audit(
            actor=user.name,
            action="similar.assigned",
            target=target,
            detail={
                "unit": chosen,
                "assignee": person,
                "before": {
                    f: changed[f].before if f in changed else now_value
                    for f, now_value in (("unit", chosen), ("assignee", person))
                },
            },
        )
    if "status" in changed:
        await store.audit(
            actor=user.name,
            action="similar.status",
            target=target,
            detail={"status": status, "before": changed["status"].before},
        )
    if note.strip():
        await store.audit(
            actor=user.name, action="similar.noted", target=target, detail={"note": note.strip()}
        )
    return _back(target, "saved" if changes or note.strip() else "unchanged")


@router.post("/similar/{group_id}/follow")
async def follow(group_id: str, user: GovernorForm, store: StoreDep) -> Response:
    record = await _tracked(store, group_id, user)
    if await follow_similar_case(store, record.group_id, user.name):
        await store.audit(actor=user.name, action="similar.followed", target=record.group_id)
    return _back(record.group_id, "followed")


@router.post("/similar/{group_id}/unfollow")
async def unfollow(group_id: str, user: GovernorForm, store: StoreDep) -> Response:
    record = await _tracked(store, group_id, user)
    if await unfollow_similar_case(store, record.group_id, user.name):
        await store.audit(actor=user.name, action="similar.unfollowed", target=record.group_id)
    return _back(record.group_id, "unfollowed")
