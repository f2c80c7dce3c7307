"""Toutiao search, 深圳新闻网, 读特 (relative times against the answer's server time) and
南方+: fixtures in their shapes, paging against the simulator, each one's failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawlers.errors import Captcha, LayoutChanged
from crawlers.fetch import HttpFetcher
from crawlers.platforms.dute import DuteChannel, DuteOptions
from crawlers.platforms.nfplus import NfplusColumn
from crawlers.platforms.sznews import SznewsChannel
from crawlers.platforms.toutiao import ToutiaoSearch
from sim.platforms import create_platforms_app
from tests.crawlers.fake import FakeFetcher, fixture
from tests.crawlers.paging import crawl_all, sim_fetcher, task
from xianban.records import Post

CST = timezone(timedelta(hours=8))
APP = create_platforms_app(seed=7)
STATE = APP.state.sim


def sim(prefix: str, fault: str | None = None) -> HttpFetcher:
    return sim_fetcher(APP, prefix, fault)


async def test_toutiao_fixture_skips_boxes_reads_the_article() -> None:
    fetch = FakeFetcher(
        {
            "/api/search/content/": fixture("toutiao", "search.json"),
            "/article/": fixture("toutiao", "article.html"),
        },
        base_url="https://www.toutiao.com",
    )
    page = await ToutiaoSearch().page(task("罗湖"), None, fetch)
    (post,) = page.posts
    assert (
        post.text == "一下雨就积水，商户苦不堪言。\n希望尽快疏通。" and post.engagement.likes == 35
    )
    assert post.media == ["https://p3-sign.toutiaoimg.com/tos-cn-i/abc.jpg"]
    assert post.created_at == datetime.fromtimestamp(1763771200, UTC) and page.next_cursor == "20"


async def test_toutiao_pages_and_its_captcha() -> None:
    listed = STATE.corpus.search("toutiao", "，", now=STATE.now())
    async with sim("toutiao") as fetch:
        assert await crawl_all(ToutiaoSearch(), fetch, "，") == [i.post_id for i in listed]
    async with sim("toutiao", "captcha") as blocked:
        with pytest.raises(Captcha):
            await ToutiaoSearch().page(task("，"), None, blocked)


async def test_sznews_fixture_and_a_redesigned_channel() -> None:
    fetch = FakeFetcher(
        {
            "/node_31234.htm": fixture("sznews", "node.html"),
            "/content/": fixture("sznews", "article.html"),
        },
        base_url="https://www.sznews.com/news",
    )
    page = await SznewsChannel().page(task(), None, fetch)
    (post,) = page.posts
    assert post.native_id == "content_31200217" and post.author.name == "深圳新闻网"
    assert post.url == "https://www.sznews.com/news/content/2026-11/22/content_31200217.htm"
    assert post.created_at == datetime(2026, 11, 22, 9, 40, tzinfo=CST) and page.next_cursor == "2"
    listed = STATE.corpus.search("sznews", now=STATE.now())
    async with sim("sznews") as live:
        assert await crawl_all(SznewsChannel(), live) == [i.post_id for i in listed]
    async with sim("sznews", "layout_changed") as changed:
        with pytest.raises(LayoutChanged, match="listbox"):
            await SznewsChannel().page(task(), None, changed)


async def test_dute_relative_times_count_from_the_answers_server_time() -> None:
    fetch = FakeFetcher({"/api/v1/articles": fixture("dute", "articles.json")})
    page = await DuteChannel().page(task(), None, fetch)
    served = datetime.fromtimestamp(1795320000, UTC)
    first, second = page.posts
    assert first.created_at == served - timedelta(hours=3)
    assert second.created_at == datetime(2026, 11, 21, 12, 30, tzinfo=CST)
    assert first.text == "附近居民反映工地凌晨还在施工。\n已向街道反映。"
    assert first.media == ["https://img.dutenews.com/cover/1.jpg"] and page.next_cursor == "2"


async def test_dute_pages_against_the_simulator_clock_and_names_a_bad_time() -> None:
    STATE.elapsed = timedelta(days=3)  # now is not the crawler's now: times must follow the page
    try:
        listed = STATE.corpus.search("dute", now=STATE.now())
        async with sim("dute") as fetch:
            posts: list[Post] = []
            cursor = None
            while True:
                page = await DuteChannel(DuteOptions(page_size=2)).page(task(), cursor, fetch)
                posts += page.posts
                if (cursor := page.next_cursor) is None:
                    break
    finally:
        STATE.elapsed = timedelta(0)
    assert [p.post_id for p in posts] == [i.post_id for i in listed]
    for post, item in zip(posts, listed, strict=True):
        assert post.created_at is not None
        assert abs(post.created_at - item.created_at) < timedelta(hours=1, minutes=1)
    bad = fixture("dute", "articles.json").replace("3小时前", "很久以前")
    with pytest.raises(LayoutChanged, match="not a time"):
        await DuteChannel().page(task(), None, FakeFetcher({"/api/v1/articles": bad}))


async def test_nfplus_fixture_paging_and_a_changed_api() -> None:
    fetch = FakeFetcher({"/api/column/articles": fixture("nfplus", "articles.json")})
    page = await NfplusColumn().page(task(), None, fetch)
    (post,) = page.posts
    assert post.created_at == datetime(2026, 11, 22, 7, 55, tzinfo=CST) and page.next_cursor is None
    listed = STATE.corpus.search("nfplus", now=STATE.now())
    async with sim("nfplus") as live:
        assert await crawl_all(NfplusColumn(), live) == [i.post_id for i in listed]
    async with sim("nfplus", "layout_changed") as changed:
        with pytest.raises(LayoutChanged, match="articles"):
            await NfplusColumn().page(task(), None, changed)
