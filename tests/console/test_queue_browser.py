"""The analyst's day in Chromium: filter the queue, page through it, open a lead, confirm (a
case appears), reject with a reason, merge two, send one to 现场核查 and record the result;
hostile post text runs nothing. Screenshots go to screenshots/ (gitignored)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Dialog, Page

from case_opener.stage import CaseOpenerStage
from console import create_app
from sim.server import SimServer
from tests.console import samples
from tests.console.browser import console_page
from tests.console.conftest import TOKENS, log_in_page
from xianban.records import Author, Engagement, Geo, Lead, Post, Record, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
HOSTILE = (
    '<script>window.__xss = "script"</script>'
    "<img src=x onerror=\"window.__xss = 'img'\">"
    "<a href=\"javascript:window.__xss='link'\">点我</a>"
)


def lead(n: int, *, district: str = "龙华区", street: str = "龙华街道", **over: object) -> Lead:
    base = samples.lead(n).model_copy(
        update={
            "lead_id": f"lead-{n}",
            "cluster_id": f"cluster-{n}",
            "post_ids": [f"weibo:{1000 + n}"],
            "title": f"第 {n} 条：{street}天桥台阶破损",
            "text": f"{street}天桥台阶断了一块（第 {n} 条）",
            "geo": Geo(district=district, street=street),
            "urgent": n % 7 == 0,
            "found_at": samples.OPENED + timedelta(minutes=n),
        }
    )
    return base.model_copy(update=over)


async def queue(store: Store, subject: Lead) -> None:
    await store.upsert_post(
        Post(
            platform="weibo",
            native_id=subject.post_ids[0].split(":")[1],
            source="weibo-search",
            url=f"https://m.weibo.cn/status/{subject.post_ids[0].split(':')[1]}",
            author=Author(id=f"u{subject.lead_id}", name="热心市民", followers=88),
            text=subject.text,
            engagement=Engagement(likes=5, comments=2),
            created_at=subject.found_at,
        )
    )
    await store.upsert_lead(subject)
    await store.record_verdict(
        Verdict(
            verdict_id=f"v-{subject.cluster_id}",
            cluster_id=subject.cluster_id,
            lead=subject,
            decision="needs_review",
            by="rule:review",
            reason="得分居中，待分析员研判",
            decided_at=subject.found_at,
        )
    )


@pytest.fixture
async def filled(store: Store) -> Store:
    for n in range(1, 56):
        await queue(store, lead(n))
    for n in range(56, 61):
        await queue(store, lead(n, district="宝安区", street="石岩街道"))
    await queue(
        store,
        lead(61, text=f"石岩街道天桥台阶断了 {HOSTILE}", district="宝安区", street="石岩街道"),
    )
    return store


async def _no_script_ran(page: Page) -> None:
    assert await page.evaluate("typeof window.__xss") == "undefined"


async def test_an_analysts_day_in_chromium(filled: Store, tmp_path: Path) -> None:
    SHOTS.mkdir(exist_ok=True)
    store = filled
    published: list[Record] = []
    dialogs: list[str] = []

    async with SimServer(corpus_size=50, judge_routing=False) as sim:
        settings = Settings(data_dir=tmp_path, workorder_url=sim.workorder_url)
        opener = CaseOpenerStage(StageContext(settings=settings, store=store))
        await opener.start()

        async def publish(record: Record) -> None:
            published.append(record)
            if isinstance(record, Verdict):  # what the case-opener worker would do
                await opener.handle(record)

        app = create_app(store=store, publish=publish, settings=settings, tokens=TOKENS)
        try:
            async with console_page(app, width=1366, height=900) as (page, url):

                async def refuse(dialog: Dialog) -> None:
                    dialogs.append(dialog.message)
                    await dialog.dismiss()

                page.on("dialog", refuse)
                await _day(page, url, store)
        finally:
            await opener.close()
    assert dialogs == []
    for name in (
        "queue",
        "filtered",
        "page-2",
        "lead",
        "confirmed",
        "case",
        "rejected",
        "merged",
        "site-check",
        "site-checked",
        "hostile",
    ):
        assert (SHOTS / f"queue-{name}.png").stat().st_size > 10_000, name


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=SHOTS / f"queue-{name}.png", full_page=False)


async def _day(page: Page, url: str, store: Store) -> None:
    await page.goto(f"{url}/review")
    await log_in_page(page, "analyst", "zhangwei")
    assert "共 61 条待审核" in await page.inner_text("h1")
    assert await page.locator("article.lead").count() == 50
    first = page.locator("article.lead").first
    assert "紧急" in await first.inner_text()  # urgent first, with its clock
    assert "派单时限" in await first.locator(".clock").inner_text()
    await _no_script_ran(page)
    await _shot(page, "queue")

    # filter: 宝安区 only
    await page.select_option("select[name=district]", "宝安区")
    async with page.expect_navigation():
        await page.click("#filters button[type=submit]")
    assert "共 6 条待审核" in await page.inner_text("h1")
    assert "district=" in page.url
    await _shot(page, "filtered")
    await _no_script_ran(page)
    hostile = page.locator("#lead-cluster-61 blockquote.post")
    assert "<script>" in await hostile.inner_text()  # shown as text, not run
    await _shot(page, "hostile")

    # page through the whole queue
    await page.goto(f"{url}/review")
    async with page.expect_navigation():
        await page.click("a[rel=next]")
    assert "第 2 / 2 页" in await page.inner_text("nav.pager >> nth=0")
    assert await page.locator("article.lead").count() == 11
    await _shot(page, "page-2")

    # open a lead and confirm it: a case appears
    await page.goto(f"{url}/review")
    async with page.expect_navigation():
        await page.click("#lead-cluster-3 h3 a")
    assert "/review/cluster-3" in page.url
    main = await page.inner_text("main")
    assert "热心市民" in main and "赞 5 · 评论 2" in main and "拟承办单位" in main
    await _shot(page, "lead")
    async with page.expect_navigation():
        await page.click("button:has-text('确认立案')")
    assert "已确认，线索将立案" in await page.inner_text("main")
    await _shot(page, "confirmed")
    await page.goto(f"{url}/cases")
    assert "共 1 件" in await page.inner_text("h1")
    async with page.expect_navigation():
        await page.click("table.grid a")
    assert "派单依据" in await page.inner_text("main")
    await _shot(page, "case")

    # reject one with a reason, from its card
    await page.goto(f"{url}/review")
    card = page.locator("#lead-cluster-4")
    await card.locator("select[name=reason]").select_option("广告或垃圾推广")
    await card.locator("input[name=note]").fill("楼盘广告")
    async with page.expect_navigation():
        await card.locator("button:has-text('驳回')").click()
    assert "已驳回该线索" in await page.inner_text("main")
    assert await page.locator("#lead-cluster-4").count() == 0
    await _shot(page, "rejected")
    rejected = await store.latest_verdict("cluster-4")
    assert rejected is not None and rejected.reason == "广告或垃圾推广；楼盘广告"

    # merge cluster-6 into cluster-5
    await page.goto(f"{url}/review/cluster-6")
    await page.select_option("#merge select[name=target]", "cluster-5")
    async with page.expect_navigation():
        await page.click("#merge button")
    assert "已合并" in await page.inner_text("main")
    await page.goto(f"{url}/review/cluster-5")
    assert "共 2 条报告" in await page.inner_text("#status")
    await _shot(page, "merged")

    # send cluster-57 to 现场核查 and record the result
    await page.goto(f"{url}/review/cluster-57")
    assert await page.input_value("#site-check input[name=unit]") == "宝安区石岩街道办事处"
    await page.fill("#site-check input[name=note]", "看台阶断裂处是否已围蔽")
    async with page.expect_navigation():
        await page.click("#site-check button")
    assert "已派发现场核查" in await page.inner_text("main")
    await _shot(page, "site-check")
    form = page.locator("#site-checks form")
    await form.locator("select[name=result]").select_option("confirmed")
    await form.locator("input[name=note]").fill("台阶断裂属实，已临时围蔽")
    await form.locator("input[name=photo]").fill("IMG_2031")
    async with page.expect_navigation():
        await form.locator("button").click()
    main = await page.inner_text("main")
    assert "已记录现场核查结果" in main and "台阶断裂属实" in main
    await _shot(page, "site-checked")
    decided = await store.latest_verdict("cluster-57")
    assert decided is not None and decided.decision == "confirmed"
    assert await store.get_case_by_cluster("cluster-57") is not None

    # the hostile lead's own page runs nothing either
    await page.goto(f"{url}/review/cluster-61")
    await _no_script_ran(page)
    assert await page.locator("a[href^='javascript:']").count() == 0
