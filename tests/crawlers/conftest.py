"""The crawl runtime under test, built as production builds it, against the simulator.

The simulator runs in-process behind ``httpx.ASGITransport``; the fetcher is the real
one with its sleeps recorded instead of slept (``Rig.waits``), so a test sees every
backoff the runtime chose without waiting for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette

from crawlers.fetch import HttpFetcher
from crawlers.scheduler import tasks_for_all_sources
from crawlers.sources import Source, load_sources
from crawlers.stage import CrawlerStage
from sim.platforms import SimState, create_platforms_app
from xianban.records import CrawlTask, Post, utcnow
from xianban.settings import Settings, load_settings
from xianban.stage import StageContext
from xianban.store import Store

SIM_URL = "http://sim"
WIDE = "，"
"""A search term in nearly every written post (the simulator's pool is not written around
query words): the test source's query, so that crawls meet many pages."""


@dataclass
class Rig:
    app: Starlette
    store: Store
    settings: Settings
    admin: httpx.AsyncClient
    waits: list[float] = field(default_factory=list)
    stages: list[CrawlerStage] = field(default_factory=list)
    now: datetime = field(default_factory=utcnow)
    """The crawler's clock (the circuit breaker's rests, the lookback window); tests move it
    on. ``open_rig`` starts it at the simulator's fixed clock: from the machine's, the
    40-day lookback lost the corpus's oldest posts once the real date passed 2026-12-01."""

    @property
    def sim(self) -> SimState:
        state: SimState = self.app.state.sim
        return state

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def fetcher(
        self, source: Source, settings: Settings, cookies: dict[str, str] | None
    ) -> HttpFetcher:
        return HttpFetcher(
            source.url(settings),
            source.politeness,
            transport=httpx.ASGITransport(app=self.app),
            cookies=cookies,
            sleep=self.sleep,
        )

    async def stage(self) -> CrawlerStage:
        """A freshly started crawler (a restart is a new stage over the same store)."""
        stage = CrawlerStage(
            StageContext(settings=self.settings, store=self.store),
            fetcher=self.fetcher,
            clock=lambda: self.now,
        )
        await stage.start()
        self.stages.append(stage)
        return stage

    async def crawl(self, stage: CrawlerStage, task: CrawlTask) -> list[Post]:
        """Handle one task, then store its posts as the leadfinder downstream would."""
        posts = [p for p in await stage.handle(task) if isinstance(p, Post)]
        for post in posts:
            await self.store.upsert_post(post)
        return posts

    async def fault(self, fault: str, *, times: int | None = 1, **params: Any) -> None:
        spec = {"platform": "weibo", "fault": fault, "times": times, "params": params}
        (await self.admin.post("/_admin/faults", json=spec)).raise_for_status()

    async def clear_faults(self) -> None:
        (await self.admin.delete("/_admin/faults")).raise_for_status()

    async def requests(self) -> list[dict[str, Any]]:
        stats = (await self.admin.get("/_admin/stats")).json()
        recent: list[dict[str, Any]] = stats["recent"]
        return recent

    async def advance(self, seconds: int) -> None:
        (await self.admin.post("/_admin/clock", json={"advance_s": seconds})).raise_for_status()


def write_sources(configs: Path, **overrides: Any) -> None:
    source: dict[str, Any] = {
        "id": "weibo-test",
        "adapter": "weibo",
        "base_url": "{sim}/weibo",
        "queries": [WIDE],
        "pages": 20,
        "lookback_days": 40,
        "politeness": {"rate_per_s": 0, "retries": 2, "cooldown_s": 600},
    }
    source.update(overrides)
    configs.mkdir(exist_ok=True)
    (configs / "sources.yaml").write_text(
        yaml.safe_dump({"sources": [source]}, allow_unicode=True), encoding="utf-8"
    )


@asynccontextmanager
async def open_rig(tmp_path: Path, *, result_cap: int = 200, **source: Any) -> AsyncIterator[Rig]:
    write_sources(tmp_path / "configs", result_cap=result_cap, **source)
    settings = load_settings(data_dir=tmp_path, configs_dir=tmp_path / "configs", sim_url=SIM_URL)
    store = await Store.open(settings.db_url)
    app = create_platforms_app(seed=7, result_cap=result_cap)
    admin = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM_URL)
    now = app.state.sim.now().astimezone(UTC)
    rig = Rig(app=app, store=store, settings=settings, admin=admin, now=now)
    try:
        yield rig
    finally:
        for stage in rig.stages:
            await stage.close()
        await admin.aclose()
        await store.close()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as opened:
        yield opened


def task_for(rig: Rig, *, suffix: str = "") -> CrawlTask:
    """The scheduler's task for the test source, with a distinct id per call site."""
    (task,) = tasks_for_all_sources(load_sources(rig.settings.configs_dir).values())
    return task.model_copy(update={"task_id": task.task_id + suffix})


def visible(rig: Rig, query: str = WIDE) -> set[str]:
    """Native ids the platform lists for ``query`` now: what a lossless crawl must find."""
    return {item.native_id for item in rig.sim.corpus.search("weibo", query, now=rig.sim.now())}


def native_ids(posts: list[Post]) -> list[str]:
    return sorted(p.native_id for p in posts)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI run on the test sources, with its own data directory."""
    write_sources(tmp_path / "configs")
    return {
        **os.environ,
        "XIANBAN_DATA_DIR": str(tmp_path / "data"),
        "XIANBAN_CONFIGS_DIR": str(tmp_path / "configs"),
    }


def xianban(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m xianban ARGS`` in ``env``, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "xianban", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
