"""简报与一张图: the weekly / monthly briefing, the map of Shenzhen, the files to send.

The page shows what ``xianban report`` writes, computed on request from the store (charts
drawn in a thread: matplotlib is CPU work). ``?kind=weekly|monthly&from=&to=`` pick the
period as the command's options do. ``reports.render`` is imported where it is used: it
uses ``console.masking``, and importing it while ``console`` itself loads would be a cycle.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.responses import Response

from console.deps import PagesDep, StoreDep, Viewer
from reports.briefing import Briefing, build_briefing
from reports.period import KIND_LABELS, Kind, period_for
from xianban.records import utcnow
from xianban.settings import Settings

router = APIRouter()

KindQuery = Annotated[Kind, Query(description="weekly | monthly")]
FirstDay = Annotated[date | None, Query(alias="from", description="开始日期 YYYY-MM-DD")]
LastDay = Annotated[date | None, Query(alias="to", description="结束日期 YYYY-MM-DD")]
DayQuery = Annotated[date | None, Query()]
MEDIA = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
}


async def _briefing(
    request: Request, store: StoreDep, kind: Kind, first: date | None, last: date | None
) -> Briefing:
    settings: Settings = request.app.state.settings
    if first and last and first > last:
        raise HTTPException(400, f"开始日期 {first} 晚于结束日期 {last}")
    now = utcnow()
    period = period_for(kind, first=first, last=last, now=now)
    return await build_briefing(store, period, now=now, configs_dir=settings.configs_dir)


def _query(kind: Kind, first: date | None, last: date | None) -> str:
    parts = [f"kind={kind}"]
    parts += [f"from={first}"] if first else []
    parts += [f"to={last}"] if last else []
    return "&".join(parts)


@router.get("/reports")
async def reports_page(
    request: Request,
    user: Viewer,
    store: StoreDep,
    pages: PagesDep,
    kind: KindQuery = "weekly",
    first: FirstDay = None,
    last: LastDay = None,
) -> Response:
    from reports.render import draw_charts, render_body

    settings: Settings = request.app.state.settings
    b = await _briefing(request, store, kind, first, last)
    charts = await asyncio.to_thread(draw_charts, b, settings.configs_dir)
    return pages.render(
        request,
        "reports.html",
        user=user,
        body=render_body(b, charts, links=True),
        kind=kind,
        kinds=KIND_LABELS,
        first=first or b.period.first_day,
        last=last or b.period.last_day,
        query=_query(kind, first, last),
    )


@router.get("/reports/map")
async def map_page(
    request: Request,
    user: Viewer,
    store: StoreDep,
    pages: PagesDep,
    kind: KindQuery = "weekly",
    first: FirstDay = None,
    last: LastDay = None,
) -> Response:
    from reports.render import district_map

    settings: Settings = request.app.state.settings
    b = await _briefing(request, store, kind, first, last)
    svg = await asyncio.to_thread(district_map, b, settings.configs_dir)
    return pages.render(
        request,
        "report_map.html",
        user=user,
        b=b,
        svg=svg,
        kind=kind,
        kinds=KIND_LABELS,
        query=_query(kind, first, last),
    )


@router.get("/reports/briefing.{fmt}")
async def download(
    request: Request,
    fmt: str,
    user: Viewer,
    store: StoreDep,
    kind: KindQuery = "weekly",
    first: FirstDay = None,
    last: LastDay = None,
) -> Response:
    from reports.render import draw_charts, render_html, render_markdown, render_pdf

    if fmt not in MEDIA:
        raise HTTPException(404, f"没有 {fmt} 格式的简报（可选：html、md、pdf）")
    settings: Settings = request.app.state.settings
    b = await _briefing(request, store, kind, first, last)
    if fmt == "md":
        data = render_markdown(b).encode()
    else:
        charts = await asyncio.to_thread(draw_charts, b, settings.configs_dir)
        html = render_html(b, charts)
        data = await asyncio.to_thread(render_pdf, html) if fmt == "pdf" else html.encode()
    name = f"briefing-{b.period.slug}.{fmt}"
    return Response(
        data,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
