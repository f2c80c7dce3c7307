"""Time windows: a crawl of exactly a span (--since/--until, an outage's gap), on windowed
and paged adapters, and the CLI's flags; rerun keeps the last success."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import httpx

from crawlers.base import Window
from crawlers.checkpoint import Checkpoint
from crawlers.crawl import crawl_task
from crawlers.fetch import HttpFetcher
from crawlers.platforms import load_adapter
from crawlers.sources import Source
from sim.platforms import create_platforms_app
from sim.platforms.venues import board_of
from tests.crawlers.conftest import WIDE, xianban
from xianban.records import CrawlTask
from xianban.settings import Settings
from xianban.store import Store

APP = create_platforms_app(seed=7)
STATE = APP.state.sim


async def crawl(source: Source, query: str, window: Window) -> list[str]:
    adapter = load_adapter(source.adapter, source.options)
    task = CrawlTask(task_id="t", source=source.id, query=query or None, pages=100)
    base = source.base_url.replace("{sim}", "http://sim")
    async with HttpFetcher(base, transport=httpx.ASGITransport(app=APP)) as fetch:
        got = await crawl_task(
            adapter, source, task, Checkpoint(), fetch, _unknown, now=STATE.now(), window=window
        )
    assert got.error is None
    return sorted(p.post_id for p in got.posts if p.reply_to is None)


async def _unknown(_: Sequence[str]) -> set[str]:
    return set()


def expected(site: str, window: Window, query: str = "", board: str | None = None) -> list[str]:
    found = STATE.corpus.search(site, query, now=STATE.now())
    return sorted(
        i.post_id
        for i in found
        if (window.since is None or i.created_at >= window.since)
        and (window.until is None or i.created_at <= window.until)
        and (board is None or board_of(site, i.native_id)[0] == board)
    )


async def test_a_windowed_source_fills_exactly_the_gap() -> None:
    gap = Window(STATE.now() - timedelta(days=9), STATE.now() - timedelta(days=4))
    source = Source(id="w", adapter="weibo", base_url="{sim}/weibo", lookback_days=2)
    got = await crawl(source, WIDE, gap)
    assert got == expected("weibo", gap, WIDE) and len(got) > 10


async def test_a_paged_listing_keeps_the_window_and_stops_past_it() -> None:
    gap = Window(STATE.now() - timedelta(days=12), STATE.now() - timedelta(days=2))
    tieba = Source(id="t", adapter="tieba", base_url="{sim}/tieba", query_kind="board")
    assert await crawl(tieba, "福田", gap) == expected("tieba", gap, board="福田")
    dute = Source(
        id="d",
        adapter="dute",
        base_url="{sim}/dute",
        query_kind="listing",
        options={"page_size": 1},
    )
    assert await crawl(dute, "", gap) == expected("dute", gap)


def test_crawl_since_until_on_the_command_line(env: dict[str, str]) -> None:
    done = xianban(
        env, "crawl", "weibo-test", "--since", "2026-11-10", "--until", "2026-11-15 23:59"
    )
    assert done.returncode == 0, done.stderr
    days = {json.loads(line)["created_at"][:10] for line in done.stdout.splitlines()}
    assert days and all("2026-11-10" <= d <= "2026-11-15" for d in days)
    bad = xianban(env, "crawl", "weibo-test", "--since", "上个月")
    assert bad.returncode == 2 and "--since" in bad.stderr and "不是时间" in bad.stderr
    backwards = xianban(
        env, "crawl", "weibo-test", "--since", "2026-11-15", "--until", "2026-11-10"
    )
    assert backwards.returncode == 2 and "晚于" in backwards.stderr


async def test_rerun_keeps_the_last_success(env: dict[str, str]) -> None:
    settings = Settings(data_dir=Path(env["XIANBAN_DATA_DIR"]))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(settings.db_url)
    try:
        last = STATE.now() - timedelta(hours=5)
        await store.set_source_state("weibo-test", state="captcha", last_success=last)
    finally:
        await store.close()
    assert xianban(env, "sources", "rerun", "weibo-test").returncode == 0
    (row,) = json.loads(xianban(env, "sources", "status", "--format", "json").stdout)
    assert row["state"] == "queued" and row["label"] == "待重采"
    assert row["last_success"] is not None and row["last_success"].startswith("2026-11-22T07:00")
    table = xianban(env, "sources", "status").stdout
    assert "待重采" in table and "2026-11-22 07:00" in table
