"""审计日志: every state-changing action with its reason, for admins; filtered and paged."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from console.deps import Auditor, PagesDep, StoreDep
from console.filters import ORDER_LABELS, AuditQueryDep
from xianban.store.listing import audit_actions, audit_page

router = APIRouter()


@router.get("/audit")
async def audit_log(
    request: Request, user: Auditor, store: StoreDep, pages: PagesDep, q: AuditQueryDep
) -> Response:
    listing = await audit_page(store, q.filter, sort=q.sort, page=q.page)
    return pages.render(
        request,
        "audit.html",
        user=user,
        rows=listing.items,
        listing=listing,
        q=q,
        actions=await audit_actions(store),
        sorts=ORDER_LABELS,
    )
