"""采集源: the crawler fleet's per-source state, for ops."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from console.deps import Operator, PagesDep, StoreDep

router = APIRouter()


@router.get("/sources")
async def sources(request: Request, user: Operator, store: StoreDep, pages: PagesDep) -> Response:
    states = sorted(await store.list_source_states(), key=lambda s: s.source)
    return pages.render(request, "sources.html", user=user, states=states)
