"""The production fetcher (aiohttp transport) against the simulator on a real port."""

from __future__ import annotations

from pathlib import Path

from crawlers.stage import CrawlerStage
from sim.platforms.faults import FaultSpec
from sim.server import SimServer
from tests.crawlers.conftest import WIDE, write_sources
from xianban.records import CrawlTask, Post
from xianban.settings import load_settings
from xianban.stage import StageContext
from xianban.store import Store


async def test_a_crawl_over_the_network_retries_a_5xx_and_finds_everything(
    tmp_path: Path,
) -> None:
    write_sources(tmp_path / "configs", politeness={"rate_per_s": 0, "backoff_s": 0.01})
    async with SimServer() as sim:
        settings = load_settings(
            data_dir=tmp_path, configs_dir=tmp_path / "configs", sim_url=sim.url
        )
        store = await Store.open(settings.db_url)
        # the crawler reaches back from the simulator's fixed clock, not the machine's
        stage = CrawlerStage(StageContext(settings=settings, store=store), clock=sim.platforms.now)
        try:
            await stage.start()
            sim.platforms.faults.add(FaultSpec(platform="weibo", fault="server_error", times=2))
            task = CrawlTask(task_id="t1", source="weibo-test", query=WIDE, pages=20)
            posts = [p for p in await stage.handle(task) if isinstance(p, Post)]
        finally:
            await stage.close()
            await store.close()
        listed = sim.platforms.corpus.search("weibo", WIDE, now=sim.platforms.now())
        assert sorted(p.native_id for p in posts) == sorted(i.native_id for i in listed)
        assert sim.platforms.faults.requests["weibo"] >= 2 + len(listed) // 10
