"""Xiaohongshu notes' comments (IP属地, login wall) and Bilibili replies (WBI-signed, closed
sections): fixtures in the platforms' shapes, threads read to their end on the simulator."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from crawlers.comments import CommentOptions
from crawlers.errors import LoginRequired, SignatureRejected
from crawlers.fetch import HttpFetcher
from crawlers.platforms.bilibili import BilibiliOptions, BilibiliSearch, Wbi, comment_thread
from crawlers.platforms.xhs import XhsOptions, XhsSearch
from crawlers.platforms.xhs import comment_thread as xhs_thread
from crawlers.signing import LocalSigner
from sim.platforms import create_platforms_app
from sim.platforms.bilibili import aid, closed
from tests.crawlers.fake import FakeFetcher, fixture
from xianban.records import CrawlTask, Post

APP = create_platforms_app(seed=7)
STATE = APP.state.sim


def sim(prefix: str, cookies: dict[str, str] | None = None) -> HttpFetcher:
    return HttpFetcher(
        f"http://sim/{prefix}", transport=httpx.ASGITransport(app=APP), cookies=cookies
    )


def visible_thread(item_id: str) -> set[str]:
    item = STATE.corpus.get(item_id)
    assert item is not None
    now = STATE.now()
    return {
        c.native_id
        for t in STATE.corpus.threads(item)
        if t.comment.created_at <= now
        for c in (t.comment, *t.replies)
        if c.created_at <= now
    }


async def test_xhs_fixture_comments_replies_and_ip() -> None:
    fetch = FakeFetcher(
        {
            "/api/sns/web/v2/comment/sub/page": fixture("xhs", "comment_sub.json"),
            "/api/sns/web/v2/comment/page": fixture("xhs", "comment_page.json"),
        }
    )
    thread = await xhs_thread("6740a0aa000000001e03c4d5", "s", fetch)
    first, reply, reply_to_reply = thread
    assert first.reply_to == "xhs:6740a0aa000000001e03c4d5" and first.engagement.likes == 11_000
    assert first.place_hints.ip_location == "广东" and reply.reply_to == first.post_id
    assert reply_to_reply.reply_to == reply.post_id
    assert reply_to_reply.place_hints.ip_location == "香港"
    assert first.created_at == datetime.fromtimestamp(1795310000, UTC)
    expired = FakeFetcher({"/api/sns/web/v2/comment/page": fixture("xhs", "expired.json")})
    with pytest.raises(LoginRequired):
        await xhs_thread("6740a0aa000000001e03c4d5", "s", expired)


async def test_xhs_search_with_comments_reads_whole_threads() -> None:
    token = STATE.sessions.issue("xhs").token
    adapter = XhsSearch(XhsOptions(comments=CommentOptions(posts=1)))
    task = CrawlTask(task_id="t", source="s", query="，", pages=5)
    async with sim("xhs", {"web_session": token}) as fetch:
        page = await adapter.page(task, None, fetch)
    notes = [p for p in page.posts if p.reply_to is None]
    comments = [p for p in page.posts if p.reply_to is not None]
    (busiest,) = {
        c.reply_to
        for c in comments
        if c.reply_to and c.reply_to[4:] in {n.native_id for n in notes}
    }
    assert {c.native_id for c in comments} == visible_thread(busiest[4:])


async def test_bilibili_fixture_replies_ip_and_a_closed_section() -> None:
    fetch = FakeFetcher(
        {
            "/x/web-interface/nav": fixture("bilibili", "nav.json"),
            "/x/v2/reply/wbi/main": fixture("bilibili", "replies.json"),
            "/x/v2/reply/reply": fixture("bilibili", "reply_reply.json"),
        }
    )
    video = Post(platform="bilibili", native_id="BV1xx411c7mD", text="井盖")
    thread = await comment_thread(video, 1103456789, "s", fetch, LocalSigner(), Wbi())
    top, reply, nested = thread
    assert top.reply_to == "bilibili:BV1xx411c7mD" and top.place_hints.ip_location == "广东"
    assert reply.reply_to == top.post_id and nested.reply_to == reply.post_id
    assert nested.place_hints.ip_location == "北京"
    (_, _, nav), (_, _, signed), *_ = fetch.requests
    assert nav == {} and {"wts", "w_rid"} <= set(signed)
    shut = FakeFetcher(
        {
            "/x/web-interface/nav": fixture("bilibili", "nav.json"),
            "/x/v2/reply/wbi/main": fixture("bilibili", "closed.json"),
        }
    )
    assert await comment_thread(video, 1, "s", shut, LocalSigner(), Wbi()) == []


async def test_bilibili_threads_on_the_simulator_and_a_wrong_signature() -> None:
    listed = [i for i in STATE.corpus.search("bilibili", now=STATE.now()) if i.comments]
    item = next(i for i in listed if not closed(str(aid(i))))
    video = Post(platform="bilibili", native_id=item.native_id, text="x")
    async with sim("bilibili") as fetch:
        thread = await comment_thread(video, aid(item), "s", fetch, LocalSigner(), Wbi())
        assert {p.native_id for p in thread} == visible_thread(item.native_id)
        stale = Wbi()
        stale.keys = {"img_key": "0" * 32, "sub_key": "1" * 32}
        with pytest.raises(SignatureRejected):
            await comment_thread(video, aid(item), "s", fetch, LocalSigner(), stale)
        adapter = BilibiliSearch(BilibiliOptions(comments=CommentOptions(posts=2)))
        task = CrawlTask(task_id="t", source="s", query="，", pages=5)
        page = await adapter.page(task, None, fetch)
    assert any(p.reply_to for p in page.posts)
