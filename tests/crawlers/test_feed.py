"""The generic RSS/Atom adapter on config-only sources against the simulator's news feeds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crawlers.errors import LayoutChanged
from crawlers.platforms import load_adapter
from crawlers.platforms.feed import parse_feed
from sim.platforms.corpus import ANCHOR
from tests.crawlers.conftest import Rig, native_ids, open_rig, task_for
from xianban.errors import ConfigError

FEED_SIZE = 50  # the simulator's feeds list the latest 50 articles


def feed_source(path: str) -> dict[str, Any]:
    return {
        "id": "news-feed",
        "adapter": "feed",
        "base_url": "{sim}/news",
        "queries": [""],
        "options": {"platform": "news", "path": path, "id_pattern": r"/(content_\d+)\.htm$"},
    }


def latest(rig: Rig) -> list[str]:
    items = rig.sim.corpus.search("news", now=rig.sim.now())[:FEED_SIZE]
    return sorted(item.native_id for item in items)


async def news_fault(rig: Rig, fault: str) -> None:
    spec: dict[str, Any] = {"platform": "news", "fault": fault, "times": None, "params": {}}
    (await rig.admin.post("/_admin/faults", json=spec)).raise_for_status()


@pytest.mark.parametrize("path", ["/rss.xml", "/atom.xml"])
async def test_a_config_only_feed_source_yields_every_listed_article(
    tmp_path: Path, path: str
) -> None:
    async with open_rig(tmp_path, **feed_source(path)) as rig:
        posts = await rig.crawl(await rig.stage(), task_for(rig))
        assert native_ids(posts) == latest(rig)
        truth = {i.native_id: i for i in rig.sim.corpus.search("news", now=rig.sim.now())}
        for post in posts:
            item = truth[post.native_id]
            assert post.platform == "news" and post.source == "news-feed"
            assert item.text in post.text, "the summary's HTML is stripped, the words kept"
            assert post.created_at == item.created_at
            assert post.url and post.url.endswith(f"/{post.native_id}.htm")
        row = await rig.store.get_task(task_for(rig).task_id)
        assert row is not None and row.status == "done" and row.posts == len(posts)


async def test_polling_produces_only_new_articles_even_when_the_site_switches_format(
    tmp_path: Path,
) -> None:
    async with open_rig(tmp_path, **feed_source("/rss.xml")) as rig:
        newest = rig.sim.corpus.search("news", now=rig.sim.now())[0]
        rig.sim.elapsed = newest.created_at - ANCHOR - timedelta(seconds=1)  # just before it
        first = await rig.crawl(await rig.stage(), task_for(rig))
        await news_fault(rig, "layout_changed")  # the RSS URL now serves Atom
        again = await rig.crawl(await rig.stage(), task_for(rig, suffix="-again"))
        assert again == [], "the same articles under Atom ids are not produced twice"
        await rig.advance(3600)
        later = await rig.crawl(await rig.stage(), task_for(rig, suffix="-later"))
        new = set(latest(rig)) - set(native_ids(first))
        assert new, "the simulated clock moved on; new articles were published"
        assert set(native_ids(later)) == new
        state = await rig.store.get_source_state("news-feed")
        assert state is not None and state.state == "ok"


async def test_a_silently_emptied_feed_is_not_taken_for_a_quiet_day(tmp_path: Path) -> None:
    async with open_rig(tmp_path, **feed_source("/rss.xml")) as rig:
        assert await rig.crawl(await rig.stage(), task_for(rig))
        await news_fault(rig, "silent_block")
        assert await rig.crawl(await rig.stage(), task_for(rig, suffix="-blocked")) == []
        row = await rig.store.get_task(task_for(rig, suffix="-blocked").task_id)
        assert row is not None and row.status == "failed"
        assert row.reason and row.reason.startswith("silent_block")
        state = await rig.store.get_source_state("news-feed")
        assert state is not None and state.state == "silent_block"


def test_a_dtd_is_refused_before_parsing() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss><channel/></rss>'
    with pytest.raises(LayoutChanged, match="DTD"):
        parse_feed(bomb)


@pytest.mark.parametrize(
    ("body", "why"), [("<html><body>改版</body></html>", "neither RSS nor Atom"), ("{", "not XML")]
)
def test_a_body_that_is_not_a_feed_is_a_layout_change(body: str, why: str) -> None:
    with pytest.raises(LayoutChanged, match=why):
        parse_feed(body)


def test_a_feed_source_without_its_platform_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="platform"):
        load_adapter("feed", {"path": "/rss.xml"})
