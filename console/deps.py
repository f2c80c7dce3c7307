"""Dependency aliases: a route says what it needs (and which role) in its signature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, get_args

from fastapi import Depends, HTTPException, Request

from case_opener.config import Sla, load_routing, load_sla
from case_opener.duties import DutiesList
from console.auth import Gate, Principal, gate_of, require, require_form
from console.links import SourceBases
from console.rendering import Pages
from xianban.records import CaseStatus, Record
from xianban.settings import Settings
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


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _duties(request: Request) -> DutiesList:
    """The duties list and gazetteer places, read once per app (routing, 修改地点 checks)."""
    state = request.app.state
    duties: DutiesList | None = getattr(state, "duties", None)
    if duties is None:
        duties = state.duties = load_routing(_settings(request).configs_dir)
    return duties


def _sla(request: Request) -> Sla:
    state = request.app.state
    sla: Sla | None = getattr(state, "sla", None)
    if sla is None:
        sla = state.sla = load_sla(_settings(request).configs_dir)
    return sla


def _links(request: Request) -> SourceBases:
    state = request.app.state
    links: SourceBases | None = getattr(state, "links", None)
    if links is None:
        links = state.links = SourceBases.from_settings(_settings(request))
    return links


StoreDep = Annotated[Store, Depends(_store)]
SettingsDep = Annotated[Settings, Depends(_settings)]
DutiesDep = Annotated[DutiesList, Depends(_duties)]
SlaDep = Annotated[Sla, Depends(_sla)]
LinksDep = Annotated[SourceBases, Depends(_links)]
PublishDep = Annotated[Publish | None, Depends(_publish)]
GateDep = Annotated[Gate, Depends(gate_of)]
PagesDep = Annotated[Pages, Depends(_pages)]

SignedInForm = Annotated[Principal, Depends(require_form(None))]
Viewer = Annotated[Principal, Depends(require("view"))]
Analyst = Annotated[Principal, Depends(require("review"))]
AnalystForm = Annotated[Principal, Depends(require_form("review"))]
Governor = Annotated[Principal, Depends(require("govern"))]
GovernorForm = Annotated[Principal, Depends(require_form("govern"))]
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
