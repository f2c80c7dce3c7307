"""The console on a phone and on a desk, in Chromium: overview, queue, a lead, cases and
sources at 390 px and 1366 px wide. At 390 px nothing scrolls sideways (scrollWidth), the
menu folds behind 菜单 and tables are cards; emoji in posts render in colour; a post link
that is not http(s) is never a link. Screenshots go to screenshots/ (gitignored)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from console import create_app
from crawlers.browser import CHROMIUM, LAUNCH_FLAGS
from tests.console import samples
from tests.console.conftest import TOKENS, log_in_page
from tests.services import require_service
from xianban.asgi_server import EmbeddedServer
from xianban.records import Record, Verdict
from xianban.settings import Settings
from xianban.store import Store

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PAGES = {
    "overview": "/",
    "queue": "/review",
    "lead": "/review/cluster-1",
    "cases": "/cases",
    "sources": "/sources",
}
PHONE, DESK = 390, 1366
EMOJI = "😡🚧⚡"


async def fill(store: Store) -> None:
    long_title = "【加急】宝安区西乡街道固戍社区固戍二路与宝安大道交叉口东南角人行道井盖缺失"
    for n in (1, 2, 3):
        verdict = samples.needs_review(n, urgent=n != 2)
        lead = verdict.lead.model_copy(
            update={
                "text": f"{verdict.lead.text} 路过的家人们小心{EMOJI} "
                + "https://weibo.example/a/very/long/path/that/does/not/break/easily/" * 2,
                "url": "javascript:alert(1)" if n == 1 else verdict.lead.url,
            }
        )
        await store.upsert_lead(lead)
        await store.record_verdict(verdict.model_copy(update={"lead": lead}))
    for n in range(1, 6):
        case = samples.case(n, status="dispatched" if n % 2 else "filed", escalations=n % 3)
        await store.save_case(case.model_copy(update={"title": long_title}))
    await store.set_source_state("weibo-search", state="ok", posts_total=1520)
    await store.set_source_state(
        "douyin-search",
        state="banned",
        last_error="HTTP 403 需要验证码：https://www.douyin.com/aweme/v1/web/search/item/?keyword=深圳",
        error_counts={"banned": 3, "timeout": 1},
    )
    await store.audit(actor="zhangwei", action="lead.confirmed", target="cluster-9")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_service("Chromium", os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(LAUNCH_FLAGS)
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def console(store: Store, tmp_path: Path) -> AsyncIterator[str]:
    await fill(store)

    async def publish(record: Record) -> None:
        assert isinstance(record, Verdict | Record)

    app = create_app(
        store=store, publish=publish, settings=Settings(data_dir=tmp_path), tokens=TOKENS
    )
    server = EmbeddedServer(app)
    await server.start()
    try:
        yield server.url
    finally:
        await server.stop()


async def logged_in(browser: Browser, url: str, width: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 844})
    page = await context.new_page()
    await page.goto(f"{url}/login")
    await log_in_page(page, "admin", "zhangwei")
    return page


async def sideways(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scroll)."""
    width: int = await page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    return width


async def widest(page: Page) -> list[str]:
    """The elements that stick out past the window's right edge (for the failure message)."""
    found: list[str] = await page.evaluate(
        """() => {
            const edge = document.documentElement.clientWidth + 1;
            return [...document.querySelectorAll('body *')]
                .map(e => [e, Math.round(e.getBoundingClientRect().right)])
                .filter(([e, right]) => right > edge)
                .slice(0, 8)
                .map(([e, right]) => `${e.tagName}.${e.className} ${right}`);
        }"""
    )
    return found


async def test_every_page_fits_a_phone_and_a_desk(browser: Browser, console: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for width in (PHONE, DESK):
        page = await logged_in(browser, console, width)
        for name, path in PAGES.items():
            response = await page.goto(f"{console}{path}")
            assert response is not None and response.status == 200, (name, width)
            await page.screenshot(path=SHOTS / f"phone-{name}-{width}.png", full_page=True)
            if width == PHONE:
                assert await sideways(page) == 0, (name, await widest(page))
        await page.context.close()


async def test_the_menu_folds_on_a_phone_and_opens_on_a_tap(browser: Browser, console: str) -> None:
    page = await logged_in(browser, console, PHONE)
    await page.goto(f"{console}/cases")
    menu = page.locator("nav.menu")
    assert not await menu.is_visible()
    await page.click("label.menu-button")
    assert await menu.is_visible()
    await page.screenshot(path=SHOTS / f"phone-menu-open-{PHONE}.png")
    async with page.expect_navigation():
        await menu.locator("a", has_text="线索审核").click()
    assert page.url.endswith("/review")
    await page.context.close()

    desk = await logged_in(browser, console, DESK)
    await desk.goto(f"{console}/cases")
    assert await desk.locator("nav.menu").is_visible()
    assert not await desk.locator("label.menu-button").is_visible()
    await desk.context.close()


async def test_tables_become_cards_and_titles_keep_their_width(
    browser: Browser, console: str
) -> None:
    page = await logged_in(browser, console, PHONE)
    await page.goto(f"{console}/cases")
    row = page.locator("table.grid tbody tr").first
    assert await row.evaluate("e => getComputedStyle(e).display") == "block"
    head = await page.locator("table.grid thead").bounding_box()
    assert head is not None and head["height"] <= 1  # kept for screen readers only
    title = row.locator("td.title")
    box = await title.bounding_box()
    assert box is not None and box["width"] > 0.6 * PHONE  # not one character per line
    label = await title.evaluate("e => getComputedStyle(e, '::before').content")
    assert label == '"标题"'
    await page.context.close()


async def test_post_emoji_render_in_colour(browser: Browser, console: str) -> None:
    """Draw the post's emoji with the post's own font stack; a colour emoji font paints
    coloured pixels, a missing one a grey box or nothing."""
    page = await logged_in(browser, console, PHONE)
    await page.goto(f"{console}/review")
    assert EMOJI in await page.locator("blockquote.post").first.inner_text()
    colourful: int = await page.locator("blockquote.post").first.evaluate(
        """(post, emoji) => {
            const canvas = document.createElement('canvas');
            canvas.width = 120; canvas.height = 40;
            const ctx = canvas.getContext('2d');
            ctx.font = '28px ' + getComputedStyle(post).fontFamily;
            ctx.fillText(emoji, 2, 32);
            const px = ctx.getImageData(0, 0, 120, 40).data;
            let n = 0;
            for (let i = 0; i < px.length; i += 4) {
                const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
                if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
            }
            return n;
        }""",
        EMOJI,
    )
    assert colourful > 50, "no colour emoji font: make browser installs fonts-noto-color-emoji"
    await page.context.close()


async def test_a_post_link_that_is_not_http_is_text(browser: Browser, console: str) -> None:
    page = await logged_in(browser, console, DESK)
    await page.goto(f"{console}/review/cluster-1")
    assert await page.locator("a[href^='javascript:']").count() == 0
    assert "javascript:alert(1)" in await page.inner_text("main")
    await page.goto(f"{console}/review")
    links = await page.eval_on_selector_all(
        "main a[target=_blank]", "els => els.map(e => new URL(e.href).protocol)"
    )
    assert links and set(links) <= {"http:", "https:"}
    await page.context.close()
