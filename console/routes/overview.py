"""概览: how much is in each stage, what is stuck, the latest cases."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from console.deps import PagesDep, StoreDep, Viewer
from xianban.store.listing import review_page

router = APIRouter()


@router.get("/")
async def overview(request: Request, user: Viewer, store: StoreDep, pages: PagesDep) -> Response:
    counts = await store.counts()
    waiting = (await review_page(store, per_page=1)).total
    latest = await store.list_cases(limit=10)
    return pages.render(
        request,
        "overview.html",
        user=user,
        counts=counts,
        waiting=waiting,
        waiting_capped=False,
        latest=latest,
    )
