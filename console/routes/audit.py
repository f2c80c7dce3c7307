"""审计日志: every state-changing action, for admins only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from console.deps import Auditor, PagesDep, StoreDep

router = APIRouter()


@router.get("/audit")
async def audit_log(request: Request, user: Auditor, store: StoreDep, pages: PagesDep) -> Response:
    rows = await store.list_audit(limit=200)
    return pages.render(request, "audit.html", user=user, rows=rows)
