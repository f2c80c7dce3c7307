"""采集源: the crawler fleet's per-source state; ops pause a source and resume it.

Pausing only sets the source's ``paused`` flag in the store: the scheduler reads it and
stops handing out crawl tasks for that source, so the console never talks to a crawler.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from console.deps import Operator, OperatorForm, PagesDep, StoreDep

router = APIRouter()

NOTICES = {"paused": "已暂停该采集源，调度器将不再派发其采集任务", "resumed": "已恢复该采集源"}


@router.get("/sources")
async def sources(
    request: Request, user: Operator, store: StoreDep, pages: PagesDep, done: str = ""
) -> Response:
    states = sorted(await store.list_source_states(), key=lambda s: s.source)
    return pages.render(
        request, "sources.html", user=user, states=states, notice=NOTICES.get(done, "")
    )


async def _set_paused(store: StoreDep, user: OperatorForm, source: str, paused: bool) -> Response:
    current = await store.get_source_state(source)
    if current is None:
        raise HTTPException(404, f"没有找到采集源 {source}")
    if current.paused != paused:
        await store.set_source_state(source, paused=paused)
        action = "source.paused" if paused else "source.resumed"
        await store.audit(actor=user.name, action=action, target=source)
    return RedirectResponse(f"/sources?done={'paused' if paused else 'resumed'}", status_code=303)


@router.post("/sources/{source}/pause")
async def pause(source: str, user: OperatorForm, store: StoreDep) -> Response:
    return await _set_paused(store, user, source, True)


@router.post("/sources/{source}/resume")
async def resume(source: str, user: OperatorForm, store: StoreDep) -> Response:
    return await _set_paused(store, user, source, False)
