"""工单: the cases we filed, their status, deadlines, 督办 escalations and history.

The list is filtered (status, category, district, street, priority, unit, escalated,
returned), sorted and paged in the database, 50 a page, with the total of each status.
A case page shows why it went to its unit (the routing explanation, re-routes after 退单),
its three clocks, the reply, and takes 办结审核 and 回访 from analysts (audited, published).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from case_opener.replies import load_replies
from case_opener.supervision import Supervisor, closure_approved
from console.auth import Principal
from console.deps import (
    CASE_STATUSES,
    AnalystForm,
    DutiesDep,
    PagesDep,
    Publish,
    PublishDep,
    StoreDep,
    Viewer,
)
from console.filters import CASE_SORT_LABELS, CaseQueryDep
from xianban.errors import PermanentError
from xianban.labels import SATISFACTION_LABELS, UNIT_LEVEL_LABELS
from xianban.records import Case, Satisfaction
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store
from xianban.store.listing import case_page, case_status_counts

router = APIRouter()


@router.get("/cases")
async def case_list(
    request: Request,
    user: Viewer,
    store: StoreDep,
    pages: PagesDep,
    duties: DutiesDep,
    q: CaseQueryDep,
) -> Response:
    listing = await case_page(store, q.filter, sort=q.sort, page=q.page)
    return pages.render(
        request,
        "cases.html",
        user=user,
        cases=listing.items,
        listing=listing,
        q=q,
        counts=await case_status_counts(store),
        statuses=CASE_STATUSES,
        district_options=[(d, d) for d in duties.places.districts],
        sorts=CASE_SORT_LABELS,
    )


@router.get("/cases/{case_id}")
async def case_detail(
    request: Request, case_id: str, user: Viewer, store: StoreDep, pages: PagesDep, done: str = ""
) -> Response:
    case = await store.get_case(case_id)
    if case is None:
        raise HTTPException(404, f"没有找到工单 {case_id}")
    settings: Settings = request.app.state.settings
    script = load_replies(settings.configs_dir).render(case, "follow_up")
    return pages.render(
        request,
        "case.html",
        user=user,
        case=case,
        follow_up_script=script,
        approved=closure_approved(case),
        unit_levels=UNIT_LEVEL_LABELS,
        satisfactions=SATISFACTION_LABELS,
        escalation_names={1: "提醒", 2: "警示", 3: "区级督办"},
        notice=CASE_NOTICES.get(done, ""),
    )


CASE_NOTICES: dict[str, str] = {
    "closure_approved": "办结审核已通过，待回访后结案",
    "closure_returned": "已退回承办单位重新办理",
    "follow_up": "回访结果已记录",
}


@asynccontextmanager
async def _supervisor(request: Request) -> AsyncIterator[Supervisor]:
    """Supervision's closure rules for one request, its clients closed after it: a console
    that kept one between requests left it open when it stopped (closure actions are
    rare; a start costs a few milliseconds, the TLS context being shared)."""
    state = request.app.state
    settings: Settings = state.settings
    if not settings.workorder_url:
        raise HTTPException(503, "控制台未配置工单系统地址（XIANBAN_WORKORDER_URL），暂时无法办理")
    async with Supervisor(StageContext(settings=settings, store=state.store)) as supervisor:
        yield supervisor


async def _changed(
    request: Request,
    store: Store,
    publish: Publish | None,
    user: Principal,
    case: Case,
    *,
    action: str,
    detail: dict[str, object],
) -> Response:
    await store.save_case(case)
    await store.audit(actor=user.name, action=action, target=case.case_id, detail=detail)
    if publish is not None:
        await publish(case)
    return RedirectResponse(f"/cases/{case.case_id}?done={action.removeprefix('case.')}", 303)


async def _case_or_404(store: Store, case_id: str) -> Case:
    case = await store.get_case(case_id)
    if case is None:
        raise HTTPException(404, f"没有找到工单 {case_id}")
    return case


@router.post("/cases/{case_id}/closure")
async def review_closure(
    request: Request,
    case_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    decision: Annotated[Literal["approve", "return"], Form()],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """办结审核: approve (urgent cases need what was checked) or send back to the unit."""
    case = await _case_or_404(store, case_id)
    by = f"analyst:{user.name}"
    if decision == "return" and not note.strip():
        raise HTTPException(400, "退回须填写理由")
    try:
        async with _supervisor(request) as supervisor:
            if decision == "approve":
                updated = await supervisor.approve_closure(case, by=by, check=note)
            else:
                updated = await supervisor.return_closure(case, by=by, reason=note.strip())
    except PermanentError as exc:
        raise HTTPException(409, str(exc)) from None
    action = "case.closure_approved" if decision == "approve" else "case.closure_returned"
    return await _changed(
        request, store, publish, user, updated, action=action, detail={"note": note.strip()}
    )


@router.post("/cases/{case_id}/follow-up")
async def record_follow_up(
    request: Request,
    case_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    satisfaction: Annotated[Satisfaction, Form()],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """回访: what the citizen said; not satisfied reopens the case."""
    case = await _case_or_404(store, case_id)
    try:
        async with _supervisor(request) as supervisor:
            updated = await supervisor.follow_up(
                case, satisfaction, by=f"analyst:{user.name}", note=note.strip() or "电话回访"
            )
    except PermanentError as exc:
        raise HTTPException(409, str(exc)) from None
    return await _changed(
        request,
        store,
        publish,
        user,
        updated,
        action="case.follow_up",
        detail={"satisfaction": satisfaction, "note": note.strip()},
    )
