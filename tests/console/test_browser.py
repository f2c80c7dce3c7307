"""The console in a real browser: log in, see the queue, confirm a lead, see it confirmed."""

from __future__ import annotations

from pathlib import Path

from console import create_app
from tests.console import samples
from tests.console.browser import console_page
from tests.console.conftest import TOKENS, log_in_page
from xianban.records import Record, Verdict
from xianban.settings import Settings
from xianban.store import Store


async def test_an_analyst_confirms_a_lead_in_chromium(store: Store, tmp_path: Path) -> None:
    await store.record_verdict(samples.needs_review(1))
    await store.record_verdict(samples.needs_review(2, urgent=False))
    published: list[Record] = []

    async def publish(record: Record) -> None:
        published.append(record)

    app = create_app(
        store=store, publish=publish, settings=Settings(data_dir=tmp_path), tokens=TOKENS
    )
    async with console_page(app) as (page, url):
        await page.goto(f"{url}/review")
        assert await page.title() == "登录 · 先办控制台"
        await log_in_page(page, "analyst", "zhangwei")
        assert page.url == f"{url}/review"
        assert "2 条待审核" in await page.inner_text("h1")
        first = page.locator("article.lead").first
        post = await first.locator("blockquote.post").inner_text()
        assert '<script>alert("xss")</script>' in post  # shown as text, not run
        assert "138****5678" in post
        await page.screenshot(path=tmp_path / "queue.png", full_page=True)

        await page.locator("#lead-cluster-1 button", has_text="确认").click()
        await page.wait_for_url(f"{url}/review?done=confirmed")
        await page.screenshot(path=tmp_path / "confirmed.png", full_page=True)
        shown = await page.inner_text("main")
        assert "已确认，线索将立案并报送工单系统" in shown
        assert "1 条待审核" in shown
        assert await page.locator("#lead-cluster-1").count() == 0
        assert await page.locator("#lead-cluster-2").count() == 1

    assert (tmp_path / "confirmed.png").stat().st_size > 10_000
    [verdict] = published
    assert isinstance(verdict, Verdict)
    assert (verdict.cluster_id, verdict.decision, verdict.by) == (
        "cluster-1",
        "confirmed",
        "analyst:zhangwei",
    )
