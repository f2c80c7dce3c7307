"""Ticket API v1: cases, leads and clusters to read (cursor pages, filters, ETags) and the
write-back of the unit handling a case (status, reply, 现场核查), for scoped tokens.

Reads need ``cases:read``, write-back ``cases:write``; a token issued for some departments
writes back only for their cases. Errors are problem documents (``console.problems``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from case_opener.lifecycle import REPLYABLE, TransitionError, check_write, writable
from case_opener.outbox import with_status
from console.api_models import (
    CaseDetail,
    CasePage,
    ClusterOut,
    LeadOut,
    LeadPage,
    Reply,
    SiteCheckReport,
    StatusUpdate,
    Urgency,
)
from console.auth import Principal
from console.callers import Reader, Writer
from console.deps import CASE_STATUSES, PublishDep, StoreDep
from console.georeport import W3C_PATTERN, parse_w3c
from console.paging import decode_cursor, encode_cursor, etag_of, respond
from console.problems import PROBLEM_RESPONSES, ApiProblem, problem_doc
from console.responses import MaskedJSONResponse
from xianban.labels import STATUS_LABELS
from xianban.records import CATEGORIES, Case
from xianban.store import Store
from xianban.store.feeds import (
    CaseFeedFilter,
    LeadFeedFilter,
    LeadStatus,
    Order,
    case_feed,
    decisions_of,
    lead_feed,
)
from xianban.store.verification import site_checks_of

router = APIRouter(
    prefix="/api/v1",
    default_response_class=MaskedJSONResponse,
    tags=["工单接口"],
    responses=PROBLEM_RESPONSES,
)

LEAD_STATUSES: tuple[LeadStatus, ...] = ("confirmed", "rejected", "needs_review", "unverified")
_404: dict[int | str, dict[str, Any]] = {404: problem_doc("没有找到")}
_400: dict[int | str, dict[str, Any]] = {400: problem_doc("翻页游标无效，或时间不存在")}
_WRITE: dict[int | str, dict[str, Any]] = {
    **_404,
    409: problem_doc("工单状态不允许此操作"),
    412: problem_doc("If-Match 与工单当前版本不符"),
}
_ETAG = {"ETag": {"description": "响应体摘要；带 If-None-Match 再请求，未变化时得 304"}}
_304: dict[int | str, dict[str, Any]] = {
    304: {"description": "未变化（If-None-Match 与 ETag 相同）", "headers": _ETAG}
}


def _one_or_more(values: tuple[str, ...]) -> str:
    """A comma-separated list of known values, as a schema pattern."""
    one = "(" + "|".join(values) + ")"
    return f"^{one}(,{one})*$"


Limit = Annotated[int, Query(ge=1, le=500, description="每页条数")]
Cursor = Annotated[
    str | None,
    Query(pattern=r"^[A-Za-z0-9_-]{1,512}$", description="上一页的 next_cursor（不透明）"),
]
OrderQ = Annotated[Order, Query(description="按更新时间升序（asc，增量同步用）或降序")]
Since = Annotated[
    str | None,
    Query(
        pattern=W3C_PATTERN,
        description="只要此时刻及之后更新的（W3C 时间，无时区按北京时间）",
        openapi_examples={"北京时间": {"value": "2026-11-20T08:00:00+08:00"}},
    ),
]
District = Annotated[
    str | None,
    Query(max_length=64, openapi_examples={"龙华区": {"value": "龙华区"}}),
]
Street = Annotated[
    str | None,
    Query(max_length=64, openapi_examples={"龙华街道": {"value": "龙华街道"}}),
]
CaseIdP = Annotated[
    str,
    Path(max_length=512, openapi_examples={"工单": {"value": "XB-3F2A9C01D4E7"}}),
]


def _list(values: str | None, known: tuple[str, ...], what: str) -> tuple[str, ...]:
    chosen = tuple(v.strip() for v in (values or "").split(",") if v.strip())
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise ApiProblem(
            "invalid_parameter",
            f"未知的{what}：{'、'.join(unknown)}（可选：{'、'.join(known)}）",
            extra={"problems": [{"field": what, "problem": "unknown value"}]},
        )
    return chosen


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_w3c(text)
    except ValueError as exc:
        raise ApiProblem(
            "invalid_time",
            f"updated_since {exc}",
            extra={"problems": [{"field": "query.updated_since", "problem": str(exc)}]},
        ) from None


def _next_link(request: Request, cursor: str | None) -> dict[str, str]:
    if cursor is None:
        return {}
    url = request.url.include_query_params(cursor=cursor)
    return {"Link": f'<{url.path}?{url.query}>; rel="next"'}


# -- cases -------------------------------------------------------------------------------


@router.get(
    "/cases",
    response_model=CasePage,
    responses=_400 | _304,
    summary="工单列表（游标翻页、筛选）",
)
async def list_cases(
    request: Request,
    user: Reader,
    store: StoreDep,
    status: Annotated[
        str | None,
        Query(
            pattern=_one_or_more(CASE_STATUSES),
            description="工单状态，逗号分隔可多选",
            openapi_examples={"处置中": {"value": "dispatched,in_progress"}},
        ),
    ] = None,
    category: Annotated[
        str | None,
        Query(
            pattern=_one_or_more(CATEGORIES),
            description="问题类别代码，逗号分隔可多选",
            openapi_examples={"市政设施": {"value": "municipal_facilities"}},
        ),
    ] = None,
    district: District = None,
    street: Street = None,
    urgency: Annotated[Urgency | None, Query(description="urgent 加急 / ordinary 一般")] = None,
    updated_since: Since = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    order: OrderQ = "asc",
) -> Response:
    flt = CaseFeedFilter(
        statuses=_list(status, CASE_STATUSES, "工单状态"),
        categories=_list(category, CATEGORIES, "类别"),
        district=district or None,
        street=street or None,
        priority=urgency,
        updated_since=_since(updated_since),
    )
    filters = {**asdict(flt), "order": order}
    after = decode_cursor(cursor, filters) if cursor else None
    rows = await case_feed(store, flt, after=after, order=order, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1][0], rows[-1][1].case_id, filters) if more else None
    body = {
        "count": len(rows),
        "cases": [case.model_dump(mode="json") for _, case in rows],
        "next_cursor": next_cursor,
    }
    return respond(request, body, headers=_next_link(request, next_cursor))


async def _case_or_404(store: Store, case_id: str) -> Case:
    case = await store.get_case(case_id)
    if case is None:
        raise ApiProblem("case_not_found", f"没有找到工单 {case_id}")
    return case


async def case_detail(store: Store, case: Case, user: Principal) -> dict[str, Any]:
    body = case.model_dump(mode="json")
    body["status_label"] = STATUS_LABELS[case.status]
    body["status_history"] = [
        {**event.model_dump(mode="json"), "status_label": STATUS_LABELS[event.status]}
        for event in case.history
    ]
    body["routing_explanation"] = (
        {
            "department": case.department,
            "unit_level": case.unit_level,
            "first_department": case.first_department,
            "reroutes": case.reroutes,
            "steps": list(case.routing),
        }
        if case.routing
        else None
    )
    checks = await site_checks_of(store, case.cluster_id)
    body["site_checks"] = [
        {
            "check_id": c.check_id,
            "status": c.status,
            "unit": c.unit,
            "requested_at": c.requested_at.isoformat(),
            "note": c.note,
            "result_note": c.result_note,
            "photo": c.photo,
            "decided_by": c.decided_by,
            "decided_at": c.decided_at.isoformat() if c.decided_at else None,
        }
        for c in checks
    ]
    may_write = user.has_scope("cases:write") and _in_scope(user, case)
    body["allowed_transitions"] = sorted(writable(case)) if may_write else []
    return body


@router.get(
    "/cases/{case_id}",
    response_model=CaseDetail,
    responses=_404 | _304,
    summary="单个工单：状态历史、分派依据、现场核查",
)
async def get_case(request: Request, case_id: CaseIdP, user: Reader, store: StoreDep) -> Response:
    case = await _case_or_404(store, case_id)
    return respond(request, await case_detail(store, case, user))


# -- write-back ----------------------------------------------------------------------------


def _in_scope(user: Principal, case: Case) -> bool:
    return not user.departments or case.department in user.departments


async def _writable_case(
    request: Request, store: Store, case_id: str, user: Principal, if_match: str | None
) -> Case:
    case = await _case_or_404(store, case_id)
    if not _in_scope(user, case):
        raise ApiProblem(
            "case_out_of_scope",
            f"工单 {case_id} 由“{case.department}”承办，不在本令牌的回写范围内",
        )
    if if_match is not None:
        current = MaskedJSONResponse(await case_detail(store, case, user))
        tag = etag_of(bytes(current.body))
        wanted = [t.strip().removeprefix("W/") for t in if_match.split(",")]
        if "*" not in wanted and tag not in wanted:
            raise ApiProblem(
                "precondition_failed",
                f"工单 {case_id} 已被修改：请重新读取（当前 ETag {tag}）后再提交",
            )
    return case


async def _save(
    request: Request,
    store: Store,
    publish: PublishDep,
    user: Principal,
    case: Case,
    action: str,
    detail: dict[str, Any],
) -> Response:
    await store.save_case(case)
    if publish is not None:
        await publish(case)
    await store.audit(actor=user.name, action=action, target=case.case_id, detail=detail)
    return respond(request, await case_detail(store, case, user))


def _by(user: Principal) -> str:
    return f"api:{user.consumer or user.name}"


def _repeat(case: Case, note: str, by: str) -> bool:
    """The same write-back again (a retry after a lost answer): nothing to do."""
    last = case.history[-1] if case.history else None
    return last is not None and last.note == note and last.by == by


IfMatch = Annotated[str | None, Header(description="工单的 ETag；不符时 412，防止覆盖别人的修改")]


@router.post(
    "/cases/{case_id}/status",
    response_model=CaseDetail,
    responses=_WRITE,
    summary="回写状态（按工单状态机校验）",
)
async def update_status(
    request: Request,
    case_id: CaseIdP,
    body: StatusUpdate,
    user: Writer,
    store: StoreDep,
    publish: PublishDep,
    if_match: IfMatch = None,
) -> Response:
    case = await _writable_case(request, store, case_id, user, if_match)
    note = body.note.strip()
    by = _by(user)
    text = f"{STATUS_LABELS[body.status]}：{note}" if note else STATUS_LABELS[body.status]
    if case.status == body.status and _repeat(case, text, by):
        return respond(request, await case_detail(store, case, user))
    try:
        check_write(case, body.status)
    except TransitionError as exc:
        raise ApiProblem(
            "invalid_transition", str(exc), extra={"allowed": sorted(writable(case))}
        ) from None
    if body.status == "returned" and not note:
        raise ApiProblem(
            "invalid_parameter",
            "退单须说明理由（note），例如“不属于本单位职责，应由某某单位承办”",
            extra={"problems": [{"field": "body.note", "problem": "required for returned"}]},
        )
    changed = with_status(case, body.status, text, by=by)
    return await _save(
        request,
        store,
        publish,
        user,
        changed,
        "api.case.status",
        {"from": case.status, "to": body.status, "note": note},
    )


def _check_replyable(case: Case, what: str) -> None:
    if case.status not in REPLYABLE:
        raise ApiProblem(
            "invalid_transition",
            f"工单 {case.case_id} 当前为“{STATUS_LABELS[case.status]}”，不能{what}",
            extra={"allowed": []},
        )


@router.post(
    "/cases/{case_id}/replies",
    response_model=CaseDetail,
    responses=_WRITE,
    summary="回写答复（给反映人的答复）",
)
async def reply(
    request: Request,
    case_id: CaseIdP,
    body: Reply,
    user: Writer,
    store: StoreDep,
    publish: PublishDep,
    if_match: IfMatch = None,
) -> Response:
    case = await _writable_case(request, store, case_id, user, if_match)
    text = body.text.strip()
    note = f"答复：{text}"
    by = _by(user)
    if case.reply == text and _repeat(case, note, by):
        return respond(request, await case_detail(store, case, user))
    _check_replyable(case, "答复")
    if not text:
        raise ApiProblem(
            "invalid_parameter",
            "答复内容不能为空",
            extra={"problems": [{"field": "body.text", "problem": "empty"}]},
        )
    changed = with_status(case, case.status, note, by=by).model_copy(update={"reply": text})
    return await _save(
        request, store, publish, user, changed, "api.case.reply", {"length": len(text)}
    )


SITE_LABELS = {"confirmed": "情况属实", "not_found": "现场未发现问题"}


@router.post(
    "/cases/{case_id}/site-check",
    response_model=CaseDetail,
    responses=_WRITE,
    summary="回写现场核查结果",
)
async def site_check(
    request: Request,
    case_id: CaseIdP,
    body: SiteCheckReport,
    user: Writer,
    store: StoreDep,
    publish: PublishDep,
    if_match: IfMatch = None,
) -> Response:
    case = await _writable_case(request, store, case_id, user, if_match)
    detail = body.note.strip()
    note = f"现场核查：{SITE_LABELS[body.result]}" + (f"（{detail}）" if detail else "")
    if body.photo:
        note += f"，照片 {body.photo}"
    by = _by(user)
    if _repeat(case, note, by):
        return respond(request, await case_detail(store, case, user))
    _check_replyable(case, "回写现场核查")
    changed = with_status(case, case.status, note, by=by)
    return await _save(
        request,
        store,
        publish,
        user,
        changed,
        "api.case.site_check",
        {"result": body.result, "note": detail, "photo": body.photo},
    )


# -- leads and clusters ------------------------------------------------------------------------


def _lead_json(lead: Any, decision: str | None) -> dict[str, Any]:
    return {**lead.model_dump(mode="json"), "status": decision or "unverified"}


@router.get(
    "/leads",
    response_model=LeadPage,
    responses=_400 | _304,
    summary="线索列表（游标翻页、筛选）",
)
async def list_leads(
    request: Request,
    user: Reader,
    store: StoreDep,
    status: Annotated[
        str | None,
        Query(
            pattern=_one_or_more(LEAD_STATUSES),
            description="线索簇的研判结论，逗号分隔：confirmed, rejected, needs_review, unverified",
            openapi_examples={"待人工研判": {"value": "needs_review"}},
        ),
    ] = None,
    category: Annotated[
        str | None, Query(pattern=_one_or_more(CATEGORIES), description="问题类别代码")
    ] = None,
    district: District = None,
    street: Street = None,
    urgency: Annotated[Urgency | None, Query(description="urgent 加急 / ordinary 一般")] = None,
    updated_since: Since = None,
    cluster_id: Annotated[str | None, Query(max_length=512)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    order: OrderQ = "asc",
) -> Response:
    statuses: tuple[Any, ...] = _list(status, LEAD_STATUSES, "线索状态")
    flt = LeadFeedFilter(
        statuses=statuses,
        category=_list(category, CATEGORIES, "类别")[0] if category else None,
        district=district or None,
        street=street or None,
        urgent=None if urgency is None else urgency == "urgent",
        updated_since=_since(updated_since),
        cluster_id=cluster_id or None,
    )
    filters = {**asdict(flt), "order": order}
    after = decode_cursor(cursor, filters) if cursor else None
    rows = await lead_feed(store, flt, after=after, order=order, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1][0], rows[-1][1].lead_id, filters) if more else None
    body = {
        "count": len(rows),
        "leads": [_lead_json(lead, decision) for _, lead, decision in rows],
        "next_cursor": next_cursor,
    }
    return respond(request, body, headers=_next_link(request, next_cursor))


@router.get("/leads/{lead_id}", response_model=LeadOut, responses=_404 | _304, summary="单条线索")
async def get_lead(
    request: Request,
    lead_id: Annotated[str, Path(max_length=512)],
    user: Reader,
    store: StoreDep,
) -> Response:
    lead = await store.get_lead(lead_id)
    if lead is None:
        raise ApiProblem("lead_not_found", f"没有找到线索 {lead_id}")
    decisions = await decisions_of(store, [lead.cluster_id])
    return respond(request, _lead_json(lead, decisions.get(lead.cluster_id)))


@router.get(
    "/clusters/{cluster_id}",
    response_model=ClusterOut,
    responses=_404 | _400 | _304,
    summary="线索簇：同一问题的各条报告（游标翻页）",
)
async def get_cluster(
    request: Request,
    cluster_id: Annotated[str, Path(max_length=512)],
    user: Reader,
    store: StoreDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    cluster = await store.get_cluster(cluster_id)
    if cluster is None:
        raise ApiProblem("cluster_not_found", f"没有找到线索簇 {cluster_id}")
    flt = LeadFeedFilter(cluster_id=cluster_id)
    filters = {"cluster_id": cluster_id}
    after = decode_cursor(cursor, filters) if cursor else None
    rows = await lead_feed(store, flt, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1][0], rows[-1][1].lead_id, filters) if more else None
    decision = (await decisions_of(store, [cluster_id])).get(cluster_id)
    case = await store.get_case_by_cluster(cluster_id)
    body = {
        "cluster_id": cluster.cluster_id,
        "category": cluster.category,
        "geo": cluster.geo,
        "urgent": cluster.urgent,
        "max_score": cluster.max_score,
        "corroboration": cluster.corroboration,
        "leads_total": cluster.leads,
        "first_seen": cluster.first_seen.isoformat(),
        "last_seen": cluster.last_seen.isoformat(),
        "status": decision or "unverified",
        "case_id": case.case_id if case else None,
        "leads": [_lead_json(lead, d) for _, lead, d in rows],
        "next_cursor": next_cursor,
    }
    return respond(request, body, headers=_next_link(request, next_cursor))
