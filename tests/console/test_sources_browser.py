"""The ops view in Chromium, with faults injected into the simulator: each source state in
its Chinese label, and a rerun that keeps 最近成功.

Sources are crawled by the real crawler stage against the simulator (in process), each
platform answering with a different fault, then an ops user logs in and reads the page.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import yaml

from console import create_app
from crawlers.fetch import HttpFetcher
from crawlers.sources import Source
from crawlers.stage import CrawlerStage
from sim.platforms import create_platforms_app
from tests.console.browser import console_page
from tests.console.conftest import TOKENS, log_in_page
from xianban.records import CrawlTask, Record, utcnow
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

CONFIGS = Path(__file__).parents[2] / "configs"
POLITE = {"rate_per_s": 0, "retries": 0, "failures_to_open": 1, "cooldown_s": 1800}
SOURCES: list[dict[str, Any]] = [
    {
        "id": "zh-ok",
        "name": "知乎·正常",
        "adapter": "zhihu",
        "base_url": "{sim}/zhihu",
        "queries": ["，"],
        "pages": 1,
    },
    {
        "id": "wb-throttled",
        "name": "微博·限流",
        "adapter": "weibo",
        "base_url": "{sim}/weibo",
        "queries": ["，"],
        "pages": 1,
    },
    {
        "id": "ts-captcha",
        "name": "投诉·验证码",
        "adapter": "json_api",
        "base_url": "{sim}/tousu",
        "options": {
            "platform": "tousu",
            "path": "/api/complaints",
            "items": "data.list",
            "fields": {"id": "id", "text": "content"},
        },
    },
    {
        "id": "bl-layout",
        "name": "B站·改版",
        "adapter": "bilibili",
        "base_url": "{sim}/bilibili",
        "queries": ["，"],
        "pages": 1,
    },
    {
        "id": "dy-signature",
        "name": "抖音·签名",
        "platform": "douyin",
        "adapter": "douyin_creator",
        "base_url": "{sim}/douyin",
        "queries": ["MS4wLjABAAAA1b32c6b413bdbe104"],
        "query_kind": "account",
    },
    {
        "id": "ks-banned",
        "name": "快手·封禁",
        "adapter": "kuaishou",
        "base_url": "{sim}/kuaishou",
        "queries": ["，"],
        "pages": 1,
    },
    {
        "id": "xhs-login",
        "name": "小红书·登录",
        "adapter": "xhs",
        "base_url": "{sim}/xhs",
        "needs": ["login"],
        "queries": ["，"],
    },
    {
        "id": "tb-paused",
        "name": "贴吧·暂停",
        "adapter": "tieba",
        "base_url": "{sim}/tieba",
        "queries": ["深圳"],
        "query_kind": "board",
    },
]
FAULTS = [
    {"platform": "weibo", "fault": "rate_limit", "times": None, "params": {"retry_after": 900}},
    {"platform": "bilibili", "fault": "layout_changed", "times": None},
    {"platform": "kuaishou", "fault": "ban", "times": None},
]
EXPECTED = {
    "zh-ok": "正常",
    "wb-throttled": "限流中 至 ",
    "ts-captcha": "验证码",
    "bl-layout": "页面改版",
    "dy-signature": "签名失效",
    "ks-banned": "已封禁",
    "xhs-login": "登录失效",
    "tb-paused": "已暂停",
}


def configs(tmp_path: Path) -> Path:
    target = tmp_path / "configs"
    shutil.copytree(CONFIGS, target)
    sources = [s | {"politeness": POLITE} for s in SOURCES]
    names = {
        "zhihu": "知乎",
        "weibo": "微博",
        "tousu": "投诉",
        "bilibili": "哔哩哔哩",
        "douyin": "抖音",
        "kuaishou": "快手",
        "xhs": "小红书",
        "tieba": "百度贴吧",
    }
    (target / "sources.yaml").write_text(
        yaml.safe_dump({"platforms": names, "sources": sources}, allow_unicode=True),
        encoding="utf-8",
    )
    return target


async def test_each_state_in_chinese_and_rerun_keeps_the_last_success(
    store: Store, tmp_path: Path
) -> None:
    # Anchored at the stage's wall clock, so the lookback window always holds the world.
    sim = create_platforms_app(seed=7, anchor=utcnow())
    settings = Settings(data_dir=tmp_path, configs_dir=configs(tmp_path), sim_url="http://sim")

    def fetcher(source: Source, s: Settings, cookies: dict[str, str] | None) -> HttpFetcher:
        transport = httpx.ASGITransport(app=sim)
        return HttpFetcher(source.url(s), source.politeness, transport=transport, cookies=cookies)

    stage = CrawlerStage(StageContext(settings=settings, store=store), fetcher=fetcher)
    await stage.start()

    async def crawl(source: str, query: str | None = None, suffix: str = "") -> None:
        task = CrawlTask(task_id=f"{source}{suffix}", source=source, query=query, pages=1)
        await stage.handle(task)

    try:
        await crawl("ts-captcha", suffix="-first")  # succeeds: a last success to keep
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim), base_url="http://sim"
        ) as admin:
            for spec in [*FAULTS, {"platform": "tousu", "fault": "captcha", "times": None}]:
                (await admin.post("/_admin/faults", json=spec)).raise_for_status()
            rotated = {"scheme": "douyin-a_bogus", "key": "rotated-by-the-platform"}
            (await admin.post("/_admin/signing", json=rotated)).raise_for_status()
        for source in SOURCES:
            if source["id"] != "tb-paused":
                await crawl(source["id"], (source.get("queries") or [None])[0])
    finally:
        await stage.close()
    await store.set_source_state("tb-paused", paused=True)
    before = await store.get_source_state("ts-captcha")
    assert before is not None and before.state == "captcha" and before.last_success is not None

    published: list[Record] = []

    async def publish(record: Record) -> None:
        published.append(record)

    app = create_app(store=store, publish=publish, settings=settings, tokens=TOKENS)
    async with console_page(app, width=1366, height=1000) as (page, url):
        await page.goto(f"{url}/sources")
        await log_in_page(page, "ops", "liops")
        assert page.url == f"{url}/sources"
        for source_id, label in EXPECTED.items():
            card = page.locator(f"#source-{source_id}")
            badge = await card.locator("header .badge").inner_text()
            assert badge.startswith(label), (source_id, badge)
        await page.screenshot(path=tmp_path / "sources.png", full_page=True)
        card = page.locator("#source-ts-captcha")
        last = await card.locator("dd.last-success").inner_text()
        assert last != "—"
        async with page.expect_navigation():
            await card.locator("button", has_text="重新采集").click()
        assert page.url.endswith("/sources?done=rerun")
        card = page.locator("#source-ts-captcha")
        assert await card.locator("header .badge").inner_text() == "待重采"
        assert await card.locator("dd.last-success").inner_text() == last
        assert "最近成功时间保留" in await page.inner_text("p.notice")
        await page.screenshot(path=tmp_path / "rerun.png", full_page=True)
    after = await store.get_source_state("ts-captcha")
    assert after is not None and after.last_success == before.last_success
    assert (tmp_path / "sources.png").stat().st_size > 10_000
    assert [r for r in published if isinstance(r, CrawlTask) and r.source == "ts-captcha"]
