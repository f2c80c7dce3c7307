"""Open311 GeoReport v2 read endpoints, so standard 12345-style clients can follow our cases.

Services are the 18 categories; a request is one of our cases, its id the case id. The
GeoReport status is binary, so resolved, closed and refused cases all read ``closed``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from console.deps import ApiClient, StoreDep
from console.rendering import place
from console.responses import MaskedJSONResponse
from xianban.labels import CATEGORY_LABELS
from xianban.records import CATEGORIES, Case, CaseStatus

router = APIRouter(prefix="/open311/v2", default_response_class=MaskedJSONResponse)

CLOSED: frozenset[CaseStatus] = frozenset({"resolved", "closed", "rejected"})
MAX_REQUESTS = 1000


def service(code: str) -> dict[str, Any]:
    label = CATEGORY_LABELS[code]
    return {
        "service_code": code,
        "service_name": label,
        "description": f"{label}类问题",
        "metadata": False,
        "type": "realtime",
        "keywords": label,
        "group": "未诉先办",
    }


def service_request(case: Case) -> dict[str, Any]:
    last = case.history[-1] if case.history else None
    return {
        "service_request_id": case.case_id,
        "status": "closed" if case.status in CLOSED else "open",
        "status_notes": last.note if last else "",
        "service_name": CATEGORY_LABELS[case.category],
        "service_code": case.category,
        "description": case.description,
        "agency_responsible": case.department,
        "service_notice": f"已督办 {case.escalations} 次" if case.escalations else "",
        "requested_datetime": case.opened_at.isoformat(),
        "updated_datetime": (last.at if last else case.opened_at).isoformat(),
        "expected_datetime": case.dispatch_due.isoformat(),
        "address": place(case.geo),
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _error(code: int, description: str) -> MaskedJSONResponse:
    return MaskedJSONResponse([{"code": code, "description": description}], status_code=code)


@router.get("/services.json")
async def services(user: ApiClient) -> MaskedJSONResponse:
    return MaskedJSONResponse([service(code) for code in CATEGORIES])


@router.get("/requests.json")
async def requests(
    user: ApiClient,
    store: StoreDep,
    service_request_id: str = "",
    service_code: str = "",
    status: Literal["", "open", "closed"] = "",
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_REQUESTS)] = MAX_REQUESTS,
) -> MaskedJSONResponse:
    for moment in (start_date, end_date):
        if moment is not None and moment.tzinfo is None:
            return _error(400, "start_date / end_date 须带时区，例如 2026-11-23T08:00:00+08:00")
    ids = {i.strip() for i in service_request_id.split(",") if i.strip()}
    codes = {c.strip() for c in service_code.split(",") if c.strip()}
    unknown = codes - set(CATEGORIES)
    if unknown:
        return _error(400, f"未知的 service_code：{'、'.join(sorted(unknown))}")
    matched = []
    for case in await store.list_cases(limit=MAX_REQUESTS):
        item = service_request(case)
        if ids and case.case_id not in ids:
            continue
        if codes and case.category not in codes:
            continue
        if status and item["status"] != status:
            continue
        if start_date and case.opened_at < start_date:
            continue
        if end_date and case.opened_at > end_date:
            continue
        matched.append(item)
    return MaskedJSONResponse(matched[:limit])


@router.get("/requests/{request_id}.json")
async def request(request_id: str, user: ApiClient, store: StoreDep) -> MaskedJSONResponse:
    case = await store.get_case(request_id)
    if case is None:
        return _error(404, f"没有找到服务请求 {request_id}")
    return MaskedJSONResponse([service_request(case)])
