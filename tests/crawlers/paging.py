"""Adapter tests' shared moves against an in-process simulator: a task, a fetcher on the
simulator's ASGI app (optionally with a fault header), and a crawl paged to its end."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from crawlers.fetch import HttpFetcher
from xianban.records import CrawlTask


def task(query: str | None = None) -> CrawlTask:
    return CrawlTask(task_id="t", source="s", query=query, pages=50)


def sim_fetcher(app: Starlette, prefix: str, fault: str | None = None) -> HttpFetcher:
    fetch = HttpFetcher(f"http://sim/{prefix}", transport=httpx.ASGITransport(app=app))
    if fault:
        fetch.client_options["headers"]["X-Sim-Fault"] = fault
    return fetch


async def crawl_all(adapter: object, fetch: HttpFetcher, query: str | None = None) -> list[str]:
    """Every post id the adapter lists, following its cursor until it gives none."""
    got: list[str] = []
    cursor = None
    while True:
        page = await adapter.page(task(query), cursor, fetch)  # type: ignore[attr-defined]
        got += [p.post_id for p in page.posts]
        if (cursor := page.next_cursor) is None:
            return got
