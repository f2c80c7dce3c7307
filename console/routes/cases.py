"""工单: the cases we filed, their status, deadlines, 督办 escalations and history."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from console.deps import CASE_STATUSES, PagesDep, StatusFilter, StoreDep, Viewer

router = APIRouter()


@router.get("/cases")
async def case_list(
    request: Request, user: Viewer, store: StoreDep, pages: PagesDep, status: StatusFilter
) -> Response:
    cases = await store.list_cases(statuses=[status] if status else None, limit=200)
    return pages.render(
        request,
        "cases.html",
        user=user,
        cases=cases,
        status=status or "",
        statuses=CASE_STATUSES,
    )


@router.get("/cases/{case_id}")
async def case_detail(
    request: Request, case_id: str, user: Viewer, store: StoreDep, pages: PagesDep
) -> Response:
    case = await store.get_case(case_id)
    if case is None:
        raise HTTPException(404, f"没有找到工单 {case_id}")
    return pages.render(request, "case.html", user=user, case=case)
