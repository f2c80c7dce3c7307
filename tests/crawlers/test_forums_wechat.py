"""Tieba bars (floors, 楼中楼), WeChat articles via Sogou, WeChat Channels: fixtures in
the platforms' shapes, paging against the simulator, and each one's own failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from crawlers.errors import Captcha, LayoutChanged, LoginRequired
from crawlers.fetch import HttpFetcher
from crawlers.platforms.channels import ChannelsSearch
from crawlers.platforms.tieba import TiebaBar, TiebaOptions
from crawlers.platforms.wechat import WechatArticles
from sim.platforms import create_platforms_app
from sim.platforms.venues import board_of
from tests.crawlers.fake import FakeFetcher, fixture
from tests.crawlers.paging import crawl_all, sim_fetcher, task

CST = timezone(timedelta(hours=8))
APP = create_platforms_app(seed=7)
STATE = APP.state.sim


def sim(prefix: str, fault: str | None = None) -> HttpFetcher:
    return sim_fetcher(APP, prefix, fault)


async def test_tieba_fixtures_thread_floors_and_lzl() -> None:
    fetch = FakeFetcher(
        {
            "/f": fixture("tieba", "bar.html"),
            "/p/comment": fixture("tieba", "lzl.html"),
            "/p/8800000017": fixture("tieba", "thread.html"),
        },
        base_url="https://tieba.baidu.com",
    )
    page = await TiebaBar().page(task("深圳"), None, fetch)
    thread, floor, reply = page.posts
    assert (thread.native_id, thread.title) == ("8800000017", "西丽这边地铁口的扶梯又停了")
    assert thread.text == "西丽这边地铁口的扶梯又停了，早上人挤人\n有没有人知道找谁"
    assert thread.created_at == datetime(2026, 11, 21, 8, 10, tzinfo=CST)
    assert (
        thread.place_hints.ip_location == "广东"
        and thread.url == "https://tieba.baidu.com/p/8800000017"
    )
    assert floor.reply_to == "tieba:8800000017" and floor.text == "打12345"
    assert reply.reply_to == f"tieba:{floor.native_id}" and reply.text == "回复 南山老居民 :谢谢"
    assert page.next_cursor == "50"


async def test_a_closed_bar_is_named_not_empty() -> None:
    fetch = FakeFetcher({"/f": fixture("tieba", "closed.html")})
    with pytest.raises(LayoutChanged, match="本吧暂不开放"):
        await TiebaBar().page(task("某某"), None, fetch)


async def test_a_bar_is_read_whole_every_floor_and_lzl() -> None:
    now = STATE.now()
    bar = [
        i
        for i in STATE.corpus.search("tieba", now=now)
        if board_of("tieba", i.native_id)[0] == "福田"
    ]
    expected = {f"tieba:{i.native_id}" for i in bar}
    for item in bar:
        for t in STATE.corpus.threads(item):
            if t.comment.created_at <= now:
                expected.add(f"tieba:{t.comment.native_id}")
                expected |= {f"tieba:{r.native_id}" for r in t.replies if r.created_at <= now}
    async with sim("tieba") as fetch:
        got = await crawl_all(TiebaBar(TiebaOptions(rn=5)), fetch, "福田")
    assert len(bar) > 5 and sorted(got) == sorted(expected)


async def test_wechat_fixtures_article_through_the_sogou_link() -> None:
    fetch = FakeFetcher(
        {
            "/weixin": fixture("wechat", "search.html"),
            "https://mp.weixin.qq.com/s": fixture("wechat", "article.html"),
        },
        base_url="https://weixin.sogou.com",
    )
    page = await WechatArticles().page(task("深圳"), None, fetch)
    (post,) = page.posts
    assert post.native_id == "2650123456" and post.title == "福田这条路的绿道断了一截"
    assert post.text == "家门口的绿道断了一截，护栏也倒了。\n晚上跑步的人很多，希望尽快修好。"
    assert post.author.name == "福田街道民生" and post.place_hints.ip_location == "广东"
    assert post.created_at == datetime.fromtimestamp(1763771200, UTC)
    assert post.url and post.url.startswith("https://mp.weixin.qq.com/s?__biz=")
    assert page.next_cursor == "2"
    deleted = FakeFetcher(
        {
            "/weixin": fixture("wechat", "search.html"),
            "https://mp.weixin.qq.com/s": fixture("wechat", "deleted.html"),
        }
    )
    with pytest.raises(LayoutChanged, match="deleted"):
        await WechatArticles().page(task("深圳"), None, deleted)


async def test_wechat_search_pages_and_its_antispider_is_a_captcha() -> None:
    listed = STATE.corpus.search("wechat", "，", now=STATE.now())
    async with sim("wechat") as fetch:
        got = await crawl_all(WechatArticles(), fetch, "，")
        assert got == [f"wechat:{i.native_id}" for i in listed[:100]]
        captcha = {"platform": "wechat", "fault": "captcha", "times": 1}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=APP), base_url="http://sim"
        ) as admin:
            (await admin.post("/_admin/faults", json=captcha)).raise_for_status()
        with pytest.raises(Captcha):
            await WechatArticles().page(task("，"), None, fetch)


async def test_channels_fixtures_paging_and_its_session_wall() -> None:
    fetch = FakeFetcher({"/cgi-bin/mmsearch-bin/searchfinder": fixture("channels", "search.json")})
    page = await ChannelsSearch().page(task("深圳"), None, fetch)
    (post,) = page.posts
    assert post.text.startswith("光明大道") and post.engagement.comments == 12
    assert post.place_hints.ip_location == "广东" and post.author.name == "光明身边事"
    assert page.next_cursor == "eyJvZmZzZXQiOiAyMH0="
    wall = FakeFetcher({"/cgi-bin/mmsearch-bin/searchfinder": fixture("channels", "login.json")})
    with pytest.raises(LoginRequired):
        await ChannelsSearch().page(task("深圳"), None, wall)
    listed = STATE.corpus.search("channels", "", now=STATE.now())
    async with sim("channels") as live:
        assert await crawl_all(ChannelsSearch(), live, "") == [
            f"channels:{i.native_id}" for i in listed
        ]
