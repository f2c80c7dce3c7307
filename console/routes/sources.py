"""采集源: the ops view of the crawler fleet, a grid by platform; pause, resume, rerun, login.

Every action writes the store (and the audit log) through ``crawlers.ops``, the same
functions the CLI calls, so the console never talks to a crawler: the scheduler reads the
paused flag and the circuit breaker, and a rerun's tasks are published on the bus when
the console runs inside the loop. States are shown in the one vocabulary of
``crawlers.states`` (label and tone), never as raw codes.

A QR login runs in two steps, as a phone scan does: ``login`` asks the platform for a
code and shows what it encodes; once ops have scanned it, ``login/check`` asks whether
the scan is confirmed and adds the session to the source's account pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from console.deps import Operator, OperatorForm, PagesDep, PublishDep, SettingsDep, StoreDep
from crawlers import ops
from crawlers.base import QrCode, QrLoginAdapter
from crawlers.errors import CrawlError
from crawlers.fetch import HttpFetcher
from crawlers.platforms import load_adapter
from crawlers.scheduler import tasks_for
from crawlers.sessions import SessionPool
from crawlers.sources import Source, load_sources, platform_names
from crawlers.states import STATES, info
from xianban.errors import ConfigError
from xianban.records import utcnow
from xianban.settings import Settings

router = APIRouter()

NOTICES = {
    "paused": "已暂停该采集源，调度器将不再派发其采集任务",
    "resumed": "已恢复该采集源",
    "rerun": "已安排重新采集：休息期已结束，下一轮调度（或立即）重新抓取，最近成功时间保留",
    "logged_in": "扫码登录成功，新会话已加入该源的账号池",
}
TONE_ORDER = ("bad", "changed", "warn", "unknown", "info", "idle", "good")


def _config(request: Request, settings: Settings) -> tuple[dict[str, Source], dict[str, str]]:
    """The configured sources and platform names, read once per app."""
    state = request.app.state
    cached: tuple[dict[str, Source], dict[str, str]] | None = getattr(state, "sources", None)
    if cached is None:
        try:
            cached = (load_sources(settings.configs_dir), platform_names(settings.configs_dir))
        except ConfigError:
            cached = ({}, {})
        state.sources = cached
    return cached


def _grid(rows: Sequence[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Rows grouped by platform, platforms in config order, the unconfigured last."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["platform"], []).append(row)
    order = [p for p in names if p in groups] + sorted(p for p in groups if p not in names)
    grid = []
    for platform in order:
        members = groups[platform]
        worst = min((r["tone"] for r in members), key=lambda t: TONE_ORDER.index(t), default="good")
        grid.append(
            {
                "platform": platform,
                "name": names.get(platform) or platform or "未配置的采集源",
                "rows": members,
                "tone": worst,
            }
        )
    return grid


def _chart(hours: list[dict[str, int]]) -> dict[str, Any]:
    """24 hourly bars, each stacked by error kind; heights in SVG units (max 24)."""
    top = max((sum(h.values()) for h in hours), default=0)
    bars = []
    for n, hour in enumerate(hours):
        y = 24.0
        segments = []
        for kind, count in sorted(hour.items()):
            height = 24.0 * count / top if top else 0.0
            y -= height
            segments.append(
                {"y": round(y, 2), "h": round(height, 2), "tone": info(kind).tone, "kind": kind}
            )
        bars.append({"x": n * 5, "segments": segments, "total": sum(hour.values())})
    return {"bars": bars, "top": top}


@router.get("/sources")
async def sources(
    request: Request,
    user: Operator,
    store: StoreDep,
    pages: PagesDep,
    settings: SettingsDep,
    done: str = "",
) -> Response:
    configured, names = _config(request, settings)
    rows = await ops.status_rows(store, configured, utcnow(), settings.data_dir)
    for row in rows:
        row["chart"] = _chart(row["errors_by_hour"])
    return pages.render(
        request,
        "sources.html",
        user=user,
        grid=_grid(rows, names),
        total=len(rows),
        states=STATES,
        tones={code: s.tone for code, s in STATES.items()},
        notice=NOTICES.get(done, ""),
    )


async def _known(request: Request, store: StoreDep, settings: Settings, source: str) -> None:
    configured, _ = _config(request, settings)
    if source not in configured and await store.get_source_state(source) is None:
        raise HTTPException(404, f"没有找到采集源 {source}")


@router.post("/sources/{source}/pause")
async def pause(
    request: Request, source: str, user: OperatorForm, store: StoreDep, settings: SettingsDep
) -> Response:
    await _known(request, store, settings, source)
    await ops.set_paused(store, source, True, actor=user.name)
    return RedirectResponse("/sources?done=paused", status_code=303)


@router.post("/sources/{source}/resume")
async def resume(
    request: Request, source: str, user: OperatorForm, store: StoreDep, settings: SettingsDep
) -> Response:
    await _known(request, store, settings, source)
    await ops.set_paused(store, source, False, actor=user.name)
    return RedirectResponse("/sources?done=resumed", status_code=303)


@router.post("/sources/{source}/rerun")
async def rerun(
    request: Request,
    source: str,
    user: OperatorForm,
    store: StoreDep,
    settings: SettingsDep,
    publish: PublishDep,
) -> Response:
    await _known(request, store, settings, source)
    await ops.rerun(store, source, actor=user.name)
    configured, _ = _config(request, settings)
    if publish is not None and source in configured and configured[source].enabled:
        for task in tasks_for(configured[source], utcnow()):
            await publish(task)
    return RedirectResponse("/sources?done=rerun", status_code=303)


def _qr_source(request: Request, settings: Settings, source: str) -> tuple[Source, QrLoginAdapter]:
    configured, _ = _config(request, settings)
    if source not in configured:
        raise HTTPException(404, f"没有找到采集源 {source}")
    adapter = load_adapter(configured[source].adapter, configured[source].options)
    if not isinstance(adapter, QrLoginAdapter):
        raise HTTPException(400, f"{source} 的适配器不支持扫码登录")
    return configured[source], adapter


@router.post("/sources/{source}/login")
async def login(
    request: Request, source: str, user: OperatorForm, settings: SettingsDep, pages: PagesDep
) -> Response:
    configured, adapter = _qr_source(request, settings, source)
    try:
        async with HttpFetcher(configured.url(settings), configured.politeness) as fetch:
            qr = await adapter.qr_create(fetch)
    except (CrawlError, ConfigError) as exc:
        raise HTTPException(502, f"无法向平台申请登录二维码：{exc}") from exc
    return pages.render(
        request, "source_login.html", user=user, source=configured, qr=qr, waiting=False
    )


@router.post("/sources/{source}/login/check")
async def login_check(
    request: Request,
    source: str,
    user: OperatorForm,
    store: StoreDep,
    settings: SettingsDep,
    pages: PagesDep,
    qr_id: str = Form(),
    code: str = Form(),
    url: str = Form(""),
) -> Response:
    configured, adapter = _qr_source(request, settings, source)
    qr = QrCode(qr_id=qr_id, code=code, url=url)
    try:
        async with HttpFetcher(configured.url(settings), configured.politeness) as fetch:
            token = await adapter.qr_poll(fetch, qr)
    except (CrawlError, ConfigError) as exc:
        raise HTTPException(502, f"无法查询扫码结果：{exc}") from exc
    if not token:
        return pages.render(
            request, "source_login.html", user=user, source=configured, qr=qr, waiting=True
        )
    SessionPool.for_source(settings.data_dir, source).add(token)
    await store.audit(actor=user.name, action="source.login", target=source)
    return RedirectResponse("/sources?done=logged_in", status_code=303)
