"""类案治理 in Chromium: a leader opens a 类案 from the list, tags it and assigns it to a unit
of the duties list, follows it, and sees all of it on the page, in the list and in the
briefing; a hostile tag runs nothing. Screenshots go to screenshots/ (gitignored)."""

from __future__ import annotations

from pathlib import Path

from console import create_app
from tests.console.browser import console_page
from tests.console.conftest import TOKENS, log_in_page
from tests.console.test_similar import UNIT, recent_case
from xianban.settings import Settings
from xianban.store import Store

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
HOSTILE_TAG = "<svg onload=__xss=1>"  # a tag is at most 20 characters


async def test_a_leader_tags_assigns_and_follows_a_similar_case_in_chromium(
    store: Store, tmp_path: Path
) -> None:
    SHOTS.mkdir(exist_ok=True)
    for n, days in ((1, 1), (2, 3), (3, 10)):
        await store.save_case(recent_case(n, days_ago=days))
    app = create_app(store=store, publish=None, settings=Settings(data_dir=tmp_path), tokens=TOKENS)
    async with console_page(app) as (page, url):
        await page.goto(f"{url}/similar")
        await log_in_page(page, "leader", "chen")
        assert page.url == f"{url}/similar"
        row = page.locator("#similar-ranked tbody tr").first
        assert "未处置" in await row.inner_text()
        async with page.expect_navigation():
            await row.locator("a", has_text="龙华区龙华街道 · 市政设施").click()
        assert "近 90 天工单" in await page.inner_text("#governance")

        await page.select_option("select[name=status]", "following")
        await page.fill("input[name=tags]", f"台阶破损、天桥，{HOSTILE_TAG}")
        await page.fill("input[name=unit]", UNIT)
        await page.fill("input[name=assignee]", "王工")
        await page.fill("input[name=note]", "约谈养护单位")
        async with page.expect_navigation():
            await page.click("#govern-form button[type=submit]")
        assert "已保存" in await page.inner_text(".notice")
        tags = await page.inner_text("#governance-tags")
        assert "台阶破损" in tags and "天桥" in tags and HOSTILE_TAG in tags
        assert await page.evaluate("typeof window.__xss") == "undefined"
        assert await page.inner_text("#governance-status") == "跟进中"
        assert await page.inner_text("#governance-unit") == f"{UNIT}（责任人：王工）"
        notes = await page.inner_text("#similar-notes")
        assert f"交办：{UNIT}" in notes and "备注：约谈养护单位" in notes
        assert "chen" in notes

        async with page.expect_navigation():
            await page.click("#follow-form button", timeout=5000)
        assert await page.inner_text("#governance-followers") == "chen"
        assert "取消关注" in await page.inner_text("#follow-form")
        await page.screenshot(path=SHOTS / "similar-case.png", full_page=True)

        await page.goto(f"{url}/similar")
        row_text = await page.locator("#similar-ranked tbody tr").first.inner_text()
        assert "跟进中" in row_text and UNIT in row_text and "已关注" in row_text
        await page.screenshot(path=SHOTS / "similar-list.png", full_page=True)

        await page.goto(f"{url}/reports")
        governance = page.locator("#similar .group-governance").first
        assert await governance.inner_text() == (
            f"跟进中 · 责任单位：{UNIT}（王工） · 标签：台阶破损、天桥、{HOSTILE_TAG}"
        )
        assert await page.evaluate("typeof window.__xss") == "undefined"
    assert (SHOTS / "similar-case.png").stat().st_size > 10_000
