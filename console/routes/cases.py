"""工单: the cases we filed, their status, deadlines, 督办 escalations and history.

The list is filtered (status, category, district, street, priority, unit, escalated,
returned), sorted and paged in the database, 50 a page, with the total of each status.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from console.deps import CASE_STATUSES, DutiesDep, PagesDep, StoreDep, Viewer
from console.filters import CASE_SORT_LABELS, CaseQueryDep
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
    request: Request, case_id: str, user: Viewer, store: StoreDep, pages: PagesDep
) -> Response:
    case = await store.get_case(case_id)
    if case is None:
        raise HTTPException(404, f"没有找到工单 {case_id}")
    return pages.render(request, "case.html", user=user, case=case)
