"""Ticket API v1: read cases and leads as JSON (role ``api``, or admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from console.deps import ApiClient, StatusFilter, StoreDep
from console.responses import MaskedJSONResponse

router = APIRouter(prefix="/api/v1", default_response_class=MaskedJSONResponse)


@router.get("/cases")
async def list_cases(
    user: ApiClient,
    store: StoreDep,
    status: StatusFilter,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MaskedJSONResponse:
    cases = await store.list_cases(statuses=[status] if status else None, limit=limit)
    body: dict[str, Any] = {
        "count": len(cases),
        "cases": [c.model_dump(mode="json") for c in cases],
    }
    return MaskedJSONResponse(body)


@router.get("/cases/{case_id}")
async def get_case(case_id: str, user: ApiClient, store: StoreDep) -> MaskedJSONResponse:
    case = await store.get_case(case_id)
    if case is None:
        raise HTTPException(404, f"没有找到工单 {case_id}")
    return MaskedJSONResponse(case.model_dump(mode="json"))


@router.get("/leads/{lead_id}")
async def get_lead(lead_id: str, user: ApiClient, store: StoreDep) -> MaskedJSONResponse:
    lead = await store.get_lead(lead_id)
    if lead is None:
        raise HTTPException(404, f"没有找到线索 {lead_id}")
    return MaskedJSONResponse(lead.model_dump(mode="json"))
