"""The Chromium pool against the simulator's Douyin page, which renders only with
JavaScript: cards rendered, images dropped, contexts bounded and recycled, cookies kept
per session. Without Chromium the tests skip locally and fail under CI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from crawlers.browser import CHROMIUM, BrowserPool
from crawlers.errors import LayoutChanged
from crawlers.platforms.douyin import browse
from sim.server import SimServer
from tests.crawlers.conftest import WIDE
from tests.services import require_service
from xianban.errors import ConfigError

QUERY = WIDE
HAVE_CHROMIUM = Path(CHROMIUM).exists()


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer() as server:
        yield server


@pytest.fixture
async def pool() -> AsyncIterator[BrowserPool]:
    require_service("chromium", HAVE_CHROMIUM, CHROMIUM)
    async with BrowserPool(contexts=2, pages_per_context=2) as opened:
        yield opened


def search_url(sim: SimServer) -> str:
    return f"{sim.url}/douyin/search/{quote(QUERY)}"


async def test_a_javascript_page_renders_its_cards(sim: SimServer, pool: BrowserPool) -> None:
    async with pool.page() as tab:
        await tab.goto(search_url(sim))
        await tab.wait_for_selector("li.search-result-card")
        ids = await tab.eval_on_selector_all(
            "li.search-result-card", "els => els.map(e => e.dataset.awemeId)"
        )
    listed = sim.platforms.corpus.search("douyin", QUERY, now=sim.platforms.now())
    assert ids == [i.native_id for i in listed[:10]]


async def test_contexts_are_recycled_after_their_page_budget(
    sim: SimServer, pool: BrowserPool
) -> None:
    for _ in range(5):
        async with pool.page() as tab:
            await tab.goto(search_url(sim))
    assert pool.stats.contexts_opened == 3
    assert pool.stats.by_reason == {"pages": 2}


async def test_an_error_inside_a_page_recycles_its_context(
    sim: SimServer, pool: BrowserPool
) -> None:
    with pytest.raises(RuntimeError):
        async with pool.page() as tab:
            await tab.goto(search_url(sim))
            raise RuntimeError("the adapter failed")
    assert pool.stats.by_reason == {"error": 1} and pool.slots == []


async def test_cookies_stay_with_their_session(sim: SimServer, pool: BrowserPool) -> None:
    cookie = {"name": "web_session", "value": "alice", "url": sim.url}
    async with pool.page("alice", [cookie]) as tab:
        await tab.goto(search_url(sim))
        assert "web_session=alice" in await tab.evaluate("document.cookie")
    async with pool.page("bob") as tab:
        await tab.goto(search_url(sim))
        assert "web_session" not in await tab.evaluate("document.cookie")
    async with pool.page("alice") as tab:
        await tab.goto(search_url(sim))
        assert "web_session=alice" in await tab.evaluate("document.cookie")


async def test_images_are_dropped(sim: SimServer, pool: BrowserPool) -> None:
    async with pool.page() as tab:
        await tab.set_content(f'<img src="{sim.url}/douyin/static/x.png"><p>文本</p>')
        await tab.wait_for_load_state("load")
    assert pool.stats.blocked == 1


def test_a_missing_chromium_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no Chromium"):
        BrowserPool(executable=str(tmp_path / "chromium"))


async def test_douyin_in_the_browser_presses_load_more(sim: SimServer, pool: BrowserPool) -> None:
    posts = await browse(pool, search_url(sim), "douyin-test", pages=3)
    listed = sim.platforms.corpus.search("douyin", QUERY, now=sim.platforms.now())
    assert [p.native_id for p in posts] == [i.native_id for i in listed[:30]]
    assert all(p.text == i.text for p, i in zip(posts, listed, strict=False))


async def test_douyin_in_the_browser_sees_a_layout_change(
    sim: SimServer, pool: BrowserPool
) -> None:
    spec = {"platform": "douyin", "fault": "layout_changed", "times": None}
    async with httpx.AsyncClient(base_url=sim.url) as admin:
        (await admin.post("/_admin/faults", json=spec)).raise_for_status()
    with pytest.raises(LayoutChanged, match="classes changed"):
        await browse(pool, search_url(sim), "douyin-test", pages=1)
