"""Douyin beyond search: comments (replies paged to the end), creators' videos, POI pages,
all signed by the pluggable signer — in-process or the signing service — which the
simulator checks, so a stale signer fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawlers.comments import CommentOptions
from crawlers.errors import SignatureRejected
from crawlers.fetch import HttpFetcher
from crawlers.platforms.douyin import DouyinOptions, DouyinSearch, comment_thread
from crawlers.platforms.douyin_creator import DouyinCreator
from crawlers.platforms.douyin_poi import DouyinPoi
from crawlers.signing import HttpSigner, LocalSigner, signer_app
from sim.platforms.accounts import REPORTERS, sec_uid
from sim.platforms.douyin_feeds import closed, poi_id
from tests.crawlers.conftest import Rig, open_rig
from tests.crawlers.fake import FakeFetcher, fixture
from xianban.records import CrawlTask

REPORTER = REPORTERS["douyin"][0]


def task(query: str, source: str = "douyin-test") -> CrawlTask:
    return CrawlTask(task_id="t", source=source, query=query, pages=50)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    source: dict[str, Any] = {"id": "douyin-test", "adapter": "douyin", "base_url": "{sim}/douyin"}
    async with open_rig(tmp_path, **source) as opened:
        yield opened


def sim_fetcher(rig: Rig) -> HttpFetcher:
    return HttpFetcher("http://sim/douyin", transport=httpx.ASGITransport(app=rig.app))


async def test_fixtures_in_the_platform_shape_parse_into_posts_and_comments() -> None:
    fetch = FakeFetcher(
        {
            "/aweme/v1/web/comment/list/reply/": fixture("douyin", "comment_reply.json"),
            "/aweme/v1/web/comment/list/": fixture("douyin", "comment_list.json"),
            "/aweme/v1/web/aweme/post/": fixture("douyin", "aweme_post.json"),
            "/aweme/v1/web/poi/detail/aweme/": fixture("douyin", "poi_aweme.json"),
        },
        base_url="https://www.douyin.com",
    )
    thread = await comment_thread("7432000000000010001", "s", fetch, LocalSigner())
    assert [p.native_id for p in thread] == [
        "7432100000000000001",
        "7432100000000000002",
        "7432200000000000001",
        "7432200000000000002",
    ]
    first, second, reply, reply_to_reply = thread
    assert first.reply_to == "douyin:7432000000000010001" and first.text.startswith("这里")
    assert first.place_hints.ip_location == "广东" and second.place_hints.ip_location == "香港"
    assert second.engagement.likes == 3 and first.author.id == "MS4wLjABAAAAc1"
    assert reply.reply_to == "douyin:7432100000000000001"
    assert reply_to_reply.reply_to == "douyin:7432200000000000001"
    assert first.created_at == datetime.fromtimestamp(1763779000, UTC)
    assert all(p.url and p.url.startswith("https://www.douyin.com/video/") for p in thread)
    assert all("a_bogus" in params for _, _, params in fetch.requests)

    page = await DouyinCreator().page(task("MS4wLjABAAAA1b3c4d5e6"), None, fetch)
    assert [p.native_id for p in page.posts] == ["7432000000000020001", "7432000000000020002"]
    assert page.next_cursor == "1763700000000" and page.posts[0].author.name == "宝安生活记录"
    poi = await DouyinPoi().page(task("6601000000012345678"), None, fetch)
    assert poi.next_cursor is None and poi.posts[0].place_hints.poi == "深圳北站"


async def test_a_closed_comment_section_is_no_comments_not_an_error() -> None:
    fetch = FakeFetcher({"/aweme/v1/web/comment/list/": fixture("douyin", "comment_closed.json")})
    assert await comment_thread("7432000000000010001", "s", fetch, LocalSigner()) == []


async def test_a_thread_is_read_to_its_end_replies_included(rig: Rig) -> None:
    corpus, now = rig.sim.corpus, rig.sim.now()
    items = [i for i in corpus.search("douyin", now=now) if i.comments and not closed(i)]
    longest = max(items, key=lambda i: max((len(t.replies) for t in corpus.threads(i)), default=0))
    threads = corpus.threads(longest)
    assert max(len(t.replies) for t in threads) > 20, "a reply thread longer than a page"
    async with sim_fetcher(rig) as fetch:
        posts = await comment_thread(longest.native_id, "s", fetch, LocalSigner())
    expected = {
        c.native_id
        for t in threads
        if t.comment.created_at <= now
        for c in (t.comment, *t.replies)
        if c.created_at <= now
    }
    assert {p.native_id for p in posts} == expected and len(posts) == len(expected)


async def test_search_with_comments_brings_the_busiest_threads(rig: Rig) -> None:
    adapter = DouyinSearch(DouyinOptions(comments=CommentOptions(posts=2)))
    async with sim_fetcher(rig) as fetch:
        page = await adapter.page(task("，"), None, fetch)
    videos = [p for p in page.posts if p.reply_to is None]
    comments = [p for p in page.posts if p.reply_to is not None]
    assert len(videos) == 10 and comments
    assert {p.reply_to for p in comments} <= {f"douyin:{c.native_id}" for c in page.posts}


async def test_a_creators_videos_are_paged_to_the_end(rig: Rig) -> None:
    adapter = DouyinCreator(DouyinOptions(count=2))
    mine = [i for i in rig.sim.corpus.search("douyin", now=rig.sim.now()) if i.author == REPORTER]
    assert len(mine) > 2
    got: list[str] = []
    cursor = None
    async with sim_fetcher(rig) as fetch:
        while True:
            page = await adapter.page(task(sec_uid(REPORTER)), cursor, fetch)
            got += [p.native_id for p in page.posts]
            if (cursor := page.next_cursor) is None:
                break
    assert got == [i.native_id for i in mine]


async def test_a_place_page_lists_what_is_tagged_there(rig: Rig) -> None:
    tagged = [i for i in rig.sim.corpus.search("douyin", now=rig.sim.now()) if i.poi]
    place = tagged[0].poi or ""
    async with sim_fetcher(rig) as fetch:
        page = await DouyinPoi().page(task(poi_id(place)), None, fetch)
    assert {p.native_id for p in page.posts} == {i.native_id for i in tagged if i.poi == place}
    assert all(p.place_hints.poi == place for p in page.posts)


async def test_a_rotated_key_is_a_rejected_signature_fixed_once_in_the_signing_service(
    rig: Rig,
) -> None:
    rotated = {"scheme": "douyin-a_bogus", "key": "dy-web-2026.12"}
    (await rig.admin.post("/_admin/signing", json=rotated)).raise_for_status()
    async with sim_fetcher(rig) as fetch:
        with pytest.raises(SignatureRejected):
            await DouyinCreator().page(task(sec_uid(REPORTER)), None, fetch)
        service = httpx.ASGITransport(app=signer_app({"douyin-a_bogus": "dy-web-2026.12"}))
        signer = HttpSigner("http://signer", transport=service)
        adapter = DouyinCreator()
        adapter.signer = signer
        try:
            page = await adapter.page(task(sec_uid(REPORTER)), None, fetch)
        finally:
            await adapter.close()
    assert page.posts


async def test_the_signing_service_answers_what_the_local_signer_does() -> None:
    service = httpx.ASGITransport(app=signer_app())
    remote = HttpSigner("http://signer", transport=service)
    params = {"aweme_id": "1", "cursor": "0", "count": "20"}
    try:
        for scheme, context in (
            ("douyin-a_bogus", {}),
            ("douyin-search", {"token": "abc"}),
            ("bilibili-wbi", {"img_key": "a" * 32, "sub_key": "b" * 32, "now": "1763780000"}),
            ("heimao-sha256", {"now": "1763780000", "rs": "x1y2z3"}),
        ):
            assert await remote.sign(scheme, params, context) == await LocalSigner().sign(
                scheme, params, context
            )
        with pytest.raises(SignatureRejected, match="HTTP 400"):
            await remote.sign("no-such-scheme", params, {})
    finally:
        await remote.aclose()
