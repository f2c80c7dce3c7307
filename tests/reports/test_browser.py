"""The briefing file and the console's 简报 and 一张图 pages in Chromium, with screenshots.

Chinese must render (the title, read back from the screenshot by OCR) and the map must
show all 10 districts with their fills (the console's CSP forbids inline styles, so a
chart that relied on them would be black).
"""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Page

from console import create_app
from reports.publish import publish
from tests.console.browser import console_page
from tests.console.conftest import TOKENS, log_in_page
from tests.reports import fixture_store as fx
from tests.services import require_service
from xianban.settings import ROOT, Settings
from xianban.store import Store

SCREENSHOTS = ROOT / "screenshots"
DISTRICTS: tuple[str, ...] = ("福田区", "罗湖区", "南山区", "盐田区", "宝安区")
DISTRICTS += ("龙岗区", "龙华区", "坪山区", "光明区", "大鹏新区")
WEEK = "kind=weekly&from=2026-11-23&to=2026-11-29"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{(tmp_path / 'browser.db').as_posix()}")
    try:
        await fx.build(opened)
        yield opened
    finally:
        await opened.close()


def _ocr(png: bytes) -> str:
    result = subprocess.run(
        ["tesseract", "stdin", "-", "-l", "chi_sim", "--psm", "7"],
        input=png,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode().replace(" ", "").strip()


def _colours(png: bytes) -> set[object]:
    with Image.open(io.BytesIO(png)) as im:
        return {c for _, c in im.convert("RGB").getcolors(1 << 22) or []}


async def _title_reads(page: Page, selector: str, expected: str) -> None:
    shot = await page.locator(selector).screenshot()
    text = await asyncio.to_thread(_ocr, shot)
    assert expected in text, text


def _require() -> None:
    require_service("tesseract", shutil.which("tesseract") is not None, "make reports-tools")


async def test_the_briefing_and_the_map_in_chromium(store: Store, tmp_path: Path) -> None:
    _require()
    SCREENSHOTS.mkdir(exist_ok=True)
    written = await publish(
        store,
        kind="weekly",
        first=fx.FIRST,
        last=fx.LAST,
        formats=["html"],
        out_dir=tmp_path / "out",
        configs_dir=ROOT / "configs",
        now=fx.NOW,
    )
    app = create_app(store=store, publish=None, settings=Settings(data_dir=tmp_path), tokens=TOKENS)
    async with console_page(app) as (page, url):
        # the file as sent: opened straight from disk
        await page.goto(written.files[0].as_uri())
        assert await page.title() == "未诉先办每周简报（2026年11月23日至11月29日）"
        await page.screenshot(path=SCREENSHOTS / "briefing-file.png", full_page=True)
        await _title_reads(page, "#title", "未诉先办每周简报")

        await page.goto(f"{url}/reports?{WEEK}")
        await log_in_page(page, "viewer", "liuyang")
        assert await page.title() == "每周简报 · 先办控制台"
        assert "250" in await page.inner_text("#funnel tr[data-row=posts]")
        await page.screenshot(path=SCREENSHOTS / "console-reports.png", full_page=True)
        await _title_reads(page, "#title", "未诉先办每周简报")
        funnel = await page.locator("#chart-funnel svg").screenshot()
        assert (0xB9, 0x1C, 0x1C) in _colours(funnel)  # fills survive the CSP

        await page.click("a:has-text('一张图')")
        await page.wait_for_url(f"{url}/reports/map?{WEEK}")
        await page.screenshot(path=SCREENSHOTS / "console-map.png", full_page=True)
        await _title_reads(page, "h1", "深圳市未诉先办一张图")
        shown = await page.locator("#map-districts tbody td:first-child").all_inner_texts()
        assert sorted(shown) == sorted(DISTRICTS)
        html = await page.content()
        for district in DISTRICTS:  # each district's name is drawn on the map
            assert f"<!-- {district} -->" in html
        drawn = await page.locator(".map-figure svg").screenshot()
        colours = _colours(drawn)
        assert (0x7F, 0x1D, 0x1D) in colours  # 龙华区, the most cases
        assert (0xEE, 0xF1, 0xF5) in colours  # districts without cases

        pdf = await page.request.get(f"{url}/reports/briefing.pdf?{WEEK}")
        assert pdf.ok and (await pdf.body()).startswith(b"%PDF")
        assert "briefing-weekly-20261123-20261129.pdf" in pdf.headers["content-disposition"]
    assert (SCREENSHOTS / "console-map.png").stat().st_size > 20_000
