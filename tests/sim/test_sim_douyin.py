from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from playwright.async_api import Browser, async_playwright
from starlette.applications import Starlette

from sim.platforms import SimState
from sim.platforms.douyin import XHR, fnv1a, search_token
from tests.services import require_service
from tests.sim.conftest import WIDE
from xianban.asgi_server import EmbeddedServer

RENDER_DATA = '<script id="RENDER_DATA" type="application/json">'


def render_data(html: str) -> dict[str, Any]:
    start = html.index(RENDER_DATA) + len(RENDER_DATA)
    app: dict[str, Any] = json.loads(unquote(html[start : html.index("</script>", start)]))["app"]
    return app


def signed(state: SimState, keyword: str, offset: int) -> dict[str, str | int]:
    token = search_token(state.corpus.seed, keyword)
    return {"keyword": keyword, "offset": offset, "a_bogus": fnv1a(f"{keyword}|{offset}|{token}")}


async def test_page_ships_the_first_results_in_render_data(
    client: httpx.AsyncClient, state: SimState
) -> None:
    response = await client.get(f"/douyin/search/{quote(WIDE)}")
    assert response.status_code == 200
    assert '<div id="root">' in response.text and "/douyin/static/search.js" in response.text
    app = render_data(response.text)
    expected = state.corpus.search("douyin", WIDE, now=state.now())
    assert [a["aweme_info"]["aweme_id"] for a in app["initial"]["data"]] == [
        i.native_id for i in expected[:10]
    ]
    assert app["initial"]["has_more"] == 1
    assert (await client.get("/douyin/static/search.js")).status_code == 200


async def test_signed_xhr_pages_through_the_rest(
    client: httpx.AsyncClient, state: SimState
) -> None:
    ids: list[str] = []
    offset, more = 0, 1
    while more:
        page = (await client.get(XHR, params=signed(state, WIDE, offset))).json()
        ids += [a["aweme_info"]["aweme_id"] for a in page["data"]]
        offset, more = page["cursor"], page["has_more"]
    expected = state.corpus.search("douyin", WIDE, now=state.now())
    assert ids == [i.native_id for i in expected]


async def test_unsigned_xhr_is_an_empty_200(client: httpx.AsyncClient, state: SimState) -> None:
    forged: dict[str, str | int] = {**signed(state, WIDE, 10), "a_bogus": "deadbeef"}
    unsigned: dict[str, str | int] = {"keyword": WIDE, "offset": 10}
    for query in (forged, unsigned):
        response = await client.get(XHR, params=query)
        assert response.status_code == 200 and response.content == b""


async def test_bad_offset_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.get(XHR, params={"keyword": WIDE, "offset": "-3"})
    assert response.status_code == 400 and "offset" in response.json()["status_msg"]


async def test_silent_block_ships_an_empty_page(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/douyin/search/{quote(WIDE)}", params={"_fault": "silent_block"})
    assert render_data(response.text)["initial"]["data"] == []


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_service("Chromium", chromium is not None, "the browser-rendered platform needs it")
    assert chromium is not None
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def server(app: Starlette) -> AsyncIterator[str]:
    running = EmbeddedServer(app, lifespan="off")
    await running.start()
    yield running.url
    await running.stop()


async def test_a_browser_renders_every_result(
    browser: Browser, server: str, state: SimState
) -> None:
    page = await browser.new_page()
    await page.goto(f"{server}/douyin/search/{quote(WIDE)}")
    await page.wait_for_selector("li.search-result-card")
    while await page.is_visible("button.load-more"):
        before = await page.locator("li.search-result-card").count()
        await page.click("button.load-more")
        await page.wait_for_function(
            f"document.querySelectorAll('li.search-result-card').length > {before}"
        )
    ids = await page.eval_on_selector_all(
        "li.search-result-card", "els => els.map(e => e.dataset.awemeId)"
    )
    expected = state.corpus.search("douyin", WIDE, now=state.now())
    assert ids == [i.native_id for i in expected]
    first = expected[0]
    assert await page.text_content("li.search-result-card .aweme-desc") == first.text
    await page.close()


async def test_a_layout_change_renames_the_rendered_classes(browser: Browser, server: str) -> None:
    page = await browser.new_page()
    await page.goto(f"{server}/douyin/search/{quote(WIDE)}?_fault=layout_changed")
    await page.wait_for_selector("li.SwZLHMKk")
    assert await page.locator("li.search-result-card").count() == 0
    await page.close()
