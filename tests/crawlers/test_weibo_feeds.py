"""Weibo: a reporter's timeline paged by since_id, comments with every reply and IP属地."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawlers.comments import CommentOptions
from crawlers.errors import LoginRequired
from crawlers.fetch import HttpFetcher
from crawlers.platforms.weibo import WeiboOptions, WeiboSearch, comment_thread
from crawlers.platforms.weibo_timeline import WeiboTimeline
from sim.platforms.accounts import REPORTERS
from sim.platforms.weibo_feeds import limited
from tests.crawlers.conftest import Rig, open_rig
from tests.crawlers.fake import FakeFetcher, fixture
from xianban.records import CrawlTask

REPORTER = REPORTERS["weibo"][1]
CST = timezone(timedelta(hours=8))


def task(query: str) -> CrawlTask:
    return CrawlTask(task_id="t", source="weibo-test", query=query, pages=50)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as opened:
        yield opened


def sim_fetcher(rig: Rig) -> HttpFetcher:
    return HttpFetcher("http://sim/weibo", transport=httpx.ASGITransport(app=rig.app))


async def test_fixtures_in_the_platform_shape() -> None:
    fetch = FakeFetcher(
        {
            "/api/container/getIndex": fixture("weibo", "timeline.json"),
            "/comments/hotFlowChild": fixture("weibo", "hotflow_child.json"),
            "/comments/hotflow": fixture("weibo", "hotflow.json"),
        }
    )
    page = await WeiboTimeline().page(task("6501000002"), None, fetch)
    assert [p.native_id for p in page.posts] == ["5230000209458123", "5230000104729001"]
    first = page.posts[0]
    assert first.text == "#深圳#龙华大道辅道的井盖松动了，车一压就响[怒]"
    assert first.author.followers == 16_000 and first.place_hints.ip_location == "广东"
    assert first.created_at == datetime(2026, 11, 22, 9, 15, 2, tzinfo=CST)
    assert page.next_cursor == "5230000104729001"
    assert fetch.requests[0][2]["containerid"] == "1076036501000002"
    thread = await comment_thread("5230000209458123", "s", fetch)
    assert [p.native_id for p in thread] == [
        "5230009000000001",
        "5230009000000002",
        "5230009000000011",
        "5230009000000012",
    ]
    assert (
        thread[0].text == "同问，我家楼下也是[允悲]"
        and thread[0].reply_to == "weibo:5230000209458123"
    )
    assert thread[1].place_hints.ip_location == "香港"
    assert thread[2].text == "回复@龙华住户:是的" and thread[2].reply_to == "weibo:5230009000000001"
    assert all(p.url and p.url.startswith("https://m.weibo.cn/detail/") for p in thread)


async def test_comments_limited_by_the_author_are_no_comments() -> None:
    fetch = FakeFetcher({"/comments/hotflow": fixture("weibo", "hotflow_limited.json")})
    assert await comment_thread("1", "s", fetch) == []


async def test_a_reporters_timeline_is_paged_to_its_end(rig: Rig) -> None:
    mine = [i for i in rig.sim.corpus.search("weibo", now=rig.sim.now()) if i.author == REPORTER]
    assert len(mine) > 10, "more than one page"
    got: list[str] = []
    cursor = None
    async with sim_fetcher(rig) as fetch:
        while True:
            page = await WeiboTimeline().page(task(str(REPORTER.id)), cursor, fetch)
            got += [p.native_id for p in page.posts]
            if (cursor := page.next_cursor) is None:
                break
    assert got == [i.native_id for i in mine]


async def test_every_comment_and_reply_of_a_long_thread(rig: Rig) -> None:
    corpus, now = rig.sim.corpus, rig.sim.now()
    items = [i for i in corpus.search("weibo", now=now) if i.comments > 20 and not limited(i)]
    item = max(items, key=lambda i: sum(len(t.replies) for t in corpus.threads(i)))
    expected = {
        c.native_id
        for t in corpus.threads(item)
        if t.comment.created_at <= now
        for c in (t.comment, *t.replies)
        if c.created_at <= now
    }
    assert len(expected) > 20
    async with sim_fetcher(rig) as fetch:
        posts = await comment_thread(item.native_id, "s", fetch)
    assert sorted(p.native_id for p in posts) == sorted(expected)
    assert all(p.place_hints.ip_location in ("广东", "香港") for p in posts)


async def test_search_brings_the_busiest_threads_and_a_login_wall_is_named(rig: Rig) -> None:
    adapter = WeiboSearch(WeiboOptions(comments=CommentOptions(posts=2)))
    async with sim_fetcher(rig) as fetch:
        page = await adapter.page(task("，"), None, fetch)
        assert any(p.reply_to for p in page.posts)
        spec: dict[str, Any] = {"platform": "weibo", "fault": "login_expired", "times": 1}
        (await rig.admin.post("/_admin/faults", json=spec)).raise_for_status()
        with pytest.raises(LoginRequired):
            await WeiboTimeline().page(task(str(REPORTER.id)), None, fetch)
