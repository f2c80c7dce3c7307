"""Dependency aliases: a route says what it needs (and which role) in its signature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, get_args

from fastapi import Depends, HTTPException, Request

from console.auth import Gate, Principal, gate_of, require, require_form
from console.rendering import Pages
from xianban.records import CaseStatus, Record
from xianban.store import Store

Publish = Callable[[Record], Awaitable[None]]
CASE_STATUSES: tuple[CaseStatus, ...] = get_args(CaseStatus)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _publish(request: Request) -> Publish | None:
    publish: Publish | None = request.app.state.publish
    return publish


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


StoreDep = Annotated[Store, Depends(_store)]
PublishDep = Annotated[Publish | None, Depends(_publish)]
GateDep = Annotated[Gate, Depends(gate_of)]
PagesDep = Annotated[Pages, Depends(_pages)]

SignedInForm = Annotated[Principal, Depends(require_form(None))]
Viewer = Annotated[Principal, Depends(require("view"))]
Analyst = Annotated[Principal, Depends(require("review"))]
AnalystForm = Annotated[Principal, Depends(require_form("review"))]
Operator = Annotated[Principal, Depends(require("operate"))]
OperatorForm = Annotated[Principal, Depends(require_form("operate"))]
Auditor = Annotated[Principal, Depends(require("audit"))]
ApiClient = Annotated[Principal, Depends(require("api"))]


def _status_filter(status: str = "") -> CaseStatus | None:
    """``?status=`` of the case lists: empty means all; an unknown status is a 400."""
    if not status:
        return None
    for known in CASE_STATUSES:
        if known == status:
            return known
    raise HTTPException(400, f"未知的工单状态：{status}（可选：{'、'.join(CASE_STATUSES)}）")


StatusFilter = Annotated[CaseStatus | None, Depends(_status_filter)]
