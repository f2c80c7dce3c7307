"""黑猫投诉 (merchant, signed), 领导留言板 and the districts' 12345 boards (official
replies): fixtures in their shapes, paging against the simulator, each one's failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawlers.errors import LayoutChanged, LoginRequired, SignatureRejected
from crawlers.fetch import HttpFetcher
from crawlers.platforms.board12345 import Board12345, BoardOptions
from crawlers.platforms.heimao import HeimaoOptions, HeimaoSearch
from crawlers.platforms.liuyan import LiuyanBoard
from sim.platforms import create_platforms_app
from sim.platforms.heimao import merchant
from sim.platforms.venues import board_of
from tests.crawlers.fake import FakeFetcher, fixture
from tests.crawlers.paging import crawl_all, sim_fetcher, task

CST = timezone(timedelta(hours=8))
APP = create_platforms_app(seed=7)
STATE = APP.state.sim


def sim(prefix: str, fault: str | None = None) -> HttpFetcher:
    return sim_fetcher(APP, prefix, fault)


async def test_heimao_fixture_merchant_full_text_and_public_link() -> None:
    fetch = FakeFetcher(
        {
            "/api/index/s": fixture("heimao", "search.json"),
            "/complaint/view/": fixture("heimao", "view.html"),
        },
        base_url="https://tousu.sina.com.cn",
    )
    page = await HeimaoSearch().page(task("深圳"), None, fetch)
    (post,) = page.posts
    assert post.addressed_to == "某健身连锁（深圳）" and post.engagement.likes == 28
    assert post.text == "在龙华办的年卡，上周门店突然关门，客服电话打不通。\n要求退还剩余费用。"
    assert post.created_at == datetime(2026, 11, 22, 8, 6, tzinfo=CST)
    assert post.url == "https://tousu.sina.com.cn/complaint/view/17380012345/"
    assert page.next_cursor == "2"
    (_, _, params), *_ = fetch.requests
    assert {"ts", "rs", "signature"} <= set(params)


async def test_heimao_refused_signature_and_a_rotated_key() -> None:
    refused = FakeFetcher({"/api/index/s": fixture("heimao", "signature.json")})
    with pytest.raises(SignatureRejected, match="签名错误"):
        await HeimaoSearch().page(task("深圳"), None, refused)
    before = dict(STATE.signing)
    STATE.signing["heimao-sha256"] = "rotated"
    try:
        async with sim("heimao") as fetch:
            with pytest.raises(SignatureRejected):
                await HeimaoSearch().page(task(""), None, fetch)
            fixed = HeimaoSearch(HeimaoOptions(signer={"keys": {"heimao-sha256": "rotated"}}))
            assert (await fixed.page(task(""), None, fetch)).posts
    finally:
        STATE.signing.update(before)


async def test_heimao_pages_every_complaint_with_its_merchant() -> None:
    listed = STATE.corpus.search("heimao", "", now=STATE.now())
    async with sim("heimao") as fetch:
        adapter = HeimaoSearch(HeimaoOptions(page_size=4))
        got = await crawl_all(adapter, fetch, "")
        page = await adapter.page(task(""), None, fetch)
    assert got == [f"heimao:{i.native_id}" for i in listed]
    truth = {i.native_id: i for i in listed}
    assert all(p.addressed_to == merchant(truth[p.native_id]) for p in page.posts)
    assert all(p.text == truth[p.native_id].text for p in page.posts)


async def test_liuyan_fixture_letter_and_official_reply() -> None:
    fetch = FakeFetcher(
        {
            "/v1/threads/list/df": fixture("liuyan", "list.json"),
            "/v1/threads/content": fixture("liuyan", "content.json"),
        }
    )
    page = await LiuyanBoard().page(task("1149"), None, fetch)
    letter, reply = page.posts
    assert letter.addressed_to == "深圳市市长" and letter.text.endswith("希望有关部门管一管。")
    assert letter.created_at == datetime.fromtimestamp(1763700000, UTC)
    assert reply.reply_to == "liuyan:17380099001" and reply.author.verified
    assert reply.author.name == "宝安区城市管理和综合执法局"
    assert page.next_cursor is None  # a short page is the last
    wall = FakeFetcher({"/v1/threads/list/df": fixture("liuyan", "login.json")})
    with pytest.raises(LoginRequired):
        await LiuyanBoard().page(task("1149"), None, wall)


async def test_liuyan_pages_a_board_by_its_last_letter() -> None:
    letters = [
        i
        for i in STATE.corpus.search("liuyan", now=STATE.now())
        if board_of("liuyan", i.native_id)[0] == "1149"
    ]
    async with sim("liuyan") as fetch:
        got = await crawl_all(LiuyanBoard(), fetch, "1149")
    ids = [f"liuyan:{i.native_id}" for i in letters]
    assert [g for g in got if g in set(ids)] == ids
    now = STATE.now()
    replies = sum(t.comment.created_at <= now for i in letters for t in STATE.corpus.threads(i))
    assert len(got) == len(ids) + replies and replies > 0


async def test_12345_fixture_letter_reply_and_a_redesign() -> None:
    fetch = FakeFetcher(
        {
            "/longhua/list": fixture("12345", "list.html"),
            "/longhua/detail": fixture("12345", "detail.html"),
        },
        base_url="https://www.szlhq.gov.cn",
    )
    adapter = Board12345(BoardOptions(districts={"longhua": "龙华区"}))
    page = await adapter.page(task("longhua"), None, fetch)
    letter, reply = page.posts
    assert (
        letter.title == "民治街道某路段路灯不亮" and letter.addressed_to == "深圳市龙华区人民政府"
    )
    assert letter.text == "民治街道某路段的路灯连续一周不亮，\n晚上行人很多，请尽快维修。"
    assert letter.url == "https://www.szlhq.gov.cn/longhua/detail?id=17380000310"
    assert reply.reply_to == letter.post_id and reply.author.name == "龙华区城市管理和综合执法局"
    assert page.next_cursor == "2"
    async with sim("12345", "layout_changed") as live:
        with pytest.raises(LayoutChanged, match="msg-list"):
            await Board12345().page(task("longhua"), None, live)


async def test_12345_boards_read_every_letter_of_their_district() -> None:
    for code in ("futian", "guangming"):
        letters = [
            i
            for i in STATE.corpus.search("12345", now=STATE.now())
            if board_of("12345", i.native_id)[0] == code
        ]
        async with sim("12345") as fetch:
            got = await crawl_all(Board12345(), fetch, code)
        assert {g for g in got if "-r" not in g} == {f"12345:{i.native_id}" for i in letters}
