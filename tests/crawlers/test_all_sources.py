"""Every configured source, through its real adapter, against the simulator: posts, none
silently empty, every link absolute, Chinese names and unique ids; the count the
architecture document states."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from crawlers.checkpoint import Checkpoint
from crawlers.crawl import crawl_task
from crawlers.fetch import HttpFetcher
from crawlers.platforms import close_adapter, load_adapter
from crawlers.scheduler import tasks_for
from crawlers.sources import Source, load_sources, platform_names
from crawlers.urls import is_absolute
from sim.platforms import create_platforms_app
from xianban.records import utcnow

CONFIGS = Path(__file__).parents[2] / "configs"
SOURCES = load_sources(CONFIGS)
APP = create_platforms_app(seed=7)
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_ids_are_unique_and_every_source_has_a_chinese_name_and_platform() -> None:
    text = (CONFIGS / "sources.yaml").read_text(encoding="utf-8")
    ids = re.findall(r"^  - id: (\S+)$", text, flags=re.MULTILINE)
    assert len(ids) == len(set(ids)) == len(SOURCES)
    names = platform_names(CONFIGS)
    for source in SOURCES.values():
        assert CJK.search(source.name), f"{source.id} needs a Chinese display name"
        assert source.platform in names, f"{source.id}: platform {source.platform} unnamed"


def test_the_architecture_document_states_the_true_count() -> None:
    doc = (CONFIGS.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    platforms = len({s.platform for s in SOURCES.values()})
    assert f"`sources.yaml` ({len(SOURCES)} sources on {platforms} platforms" in doc


@pytest.mark.parametrize("source_id", sorted(SOURCES))
async def test_a_source_crawls_posts_with_absolute_links(source_id: str) -> None:
    source: Source = SOURCES[source_id]
    state = APP.state.sim
    cookies = None
    if "login" in source.needs:
        cookies = {"web_session": state.sessions.issue(source.platform).token}
    adapter = load_adapter(source.adapter, source.options)
    polite = source.politeness.model_copy(update={"rate_per_s": 0.0, "retries": 0})
    base = source.base_url.replace("{sim}", "http://sim")
    transport = httpx.ASGITransport(app=APP)
    posts = []
    async with HttpFetcher(base, polite, transport=transport, cookies=cookies) as fetch:
        try:
            for task in tasks_for(source, utcnow()):
                task = task.model_copy(update={"pages": min(source.pages, 3)})
                got = await crawl_task(
                    adapter, source, task, Checkpoint(), fetch, _unknown, now=state.now()
                )
                assert got.error is None, f"{source_id} {task.query!r}: {got.error}"
                posts += got.posts
        finally:
            await close_adapter(adapter)
    assert posts, f"{source_id} crawled nothing"
    ids = {p.post_id for p in posts}
    for post in posts:
        assert post.source == source_id and post.text.strip()
        assert post.platform == source.platform
        assert is_absolute(post.url), f"{source_id}: {post.url!r}"
        assert all(is_absolute(m) for m in post.media), post.media
        assert post.created_at is not None, f"{source_id}: {post.post_id} without a time"
        if post.reply_to is not None:
            assert post.reply_to.startswith(f"{source.platform}:")
    replies = [p for p in posts if p.reply_to]
    if replies:
        assert {p.reply_to for p in replies} & ids, "comments answer posts of the crawl"


async def _unknown(_: Sequence[str]) -> set[str]:
    return set()
