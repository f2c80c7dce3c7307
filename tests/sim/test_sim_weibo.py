from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx

from sim.platforms import SimState, create_platforms_app
from sim.platforms.weibo import mblog, render_text
from tests.sim.conftest import WIDE

SEARCH = "/weibo/api/container/getIndex"
CREATED_AT = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \+0800 \d{4}$"
)


def search_params(q: str, page: int = 1, **extra: Any) -> dict[str, Any]:
    return {"containerid": f"100103type=1&q={q}", "page_type": "searchall", "page": page, **extra}


async def crawl(client: httpx.AsyncClient, q: str, **extra: Any) -> list[dict[str, Any]]:
    blogs: list[dict[str, Any]] = []
    page: int | None = 1
    while page is not None:
        body = (await client.get(SEARCH, params=search_params(q, page, **extra))).json()
        if body["ok"] != 1:
            break
        blogs += [card["mblog"] for card in body["data"]["cards"]]
        page = body["data"]["cardlistInfo"]["page"]
    return blogs


async def test_search_answers_in_the_m_weibo_cn_shape(client: httpx.AsyncClient) -> None:
    response = await client.get(SEARCH, params=search_params(WIDE))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] == 1
    assert body["data"]["cardlistInfo"]["page"] in (2, None)
    for card in body["data"]["cards"]:
        assert card["card_type"] == 9
        blog = card["mblog"]
        assert blog["id"] == blog["mid"] and blog["id"].isdigit()
        assert CREATED_AT.match(blog["created_at"])
        assert blog["region_name"].startswith("发布于 ")
        assert {"screen_name", "followers_count", "verified"} <= blog["user"].keys()
        assert WIDE in re.sub(r"<[^>]+>", "", blog["text"])
        assert len(blog["pics"]) == blog["pic_num"]


def test_text_is_html_with_topics_emoticons_and_mentions() -> None:
    html = render_text("#深圳身边事# 又堵了[怒]\n@深圳交警 管管")
    assert '<span class="surl-text">#深圳身边事#</span></a>' in html
    assert '<span class="url-icon"><img alt=[怒]' in html
    assert "<br /><a href='/n/深圳交警'>@深圳交警</a> 管管" in html


async def test_pages_hold_each_post_once_newest_first(
    client: httpx.AsyncClient, state: SimState
) -> None:
    blogs = await crawl(client, WIDE)
    ids = [b["id"] for b in blogs]
    expected = state.corpus.search("weibo", WIDE, now=state.now())
    assert ids == [i.native_id for i in expected]
    assert len(set(ids)) == len(ids) > 10


async def test_nothing_found_is_ok_0_with_the_real_message(client: httpx.AsyncClient) -> None:
    body = (await client.get(SEARCH, params=search_params("量子计算机"))).json()
    assert body == {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}


async def test_reposts_carry_the_original(client: httpx.AsyncClient, state: SimState) -> None:
    blogs = await crawl(client, "//@")
    reposts = [b for b in blogs if "retweeted_status" in b]
    assert reposts
    for blog in reposts:
        item = state.corpus.get(blog["id"])
        assert item is not None and blog["retweeted_status"]["id"] == item.repost_of


async def test_tagged_places_show_as_a_location_link(
    client: httpx.AsyncClient, state: SimState
) -> None:
    tagged = [b for b in await crawl(client, WIDE) if "timeline_card_small_location" in b["text"]]
    assert tagged
    for blog in tagged:
        item = state.corpus.get(blog["id"])
        assert item is not None and item.poi
        assert blog["text"].endswith(f'<span class="surl-text">{item.poi}</span></a>')


def test_big_accounts_show_followers_as_wan(state: SimState) -> None:
    item = state.corpus.items[0]
    big = replace(item, author=replace(item.author, followers=32_456))
    small = replace(item, author=replace(item.author, followers=9_999))
    assert mblog(big, state.corpus.get)["user"]["followers_count"] == "3.2万"
    assert mblog(small, state.corpus.get)["user"]["followers_count"] == 9_999


async def test_long_posts_are_cut_and_extend_gives_the_full_text(
    client: httpx.AsyncClient, state: SimState
) -> None:
    blogs = [
        b
        for b in await crawl(client, WIDE)
        if b["isLongText"] and "timeline_card_small_location" not in b["text"]
    ]
    assert blogs
    blog = blogs[0]
    assert f'<a href="/status/{blog["id"]}">全文</a>' in blog["text"]
    body = (await client.get("/weibo/statuses/extend", params={"id": blog["id"]})).json()
    full = re.sub(r"<[^>]+>", "", body["data"]["longTextContent"])
    assert len(full) > len(re.sub(r"<[^>]+>", "", blog["text"]).removesuffix("...全文"))
    item = state.corpus.get(blog["id"])
    assert item is not None and full.startswith(item.text.replace("\n", ""))


async def test_ground_truth_never_leaves_python(client: httpx.AsyncClient) -> None:
    raw = (await client.get(SEARCH, params=search_params(WIDE))).text
    for word in ("truth", "is_problem", "incident", "category", "urgent"):
        assert word not in raw


async def test_results_are_capped_per_query() -> None:
    app = create_platforms_app(seed=7, result_cap=25)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        first = (await c.get(SEARCH, params=search_params(WIDE))).json()
        blogs = await crawl(c, WIDE)
    assert first["data"]["cardlistInfo"]["total"] > 25
    assert len(blogs) == 25


async def test_time_windows_filter_and_get_past_the_cap() -> None:
    app = create_platforms_app(seed=7, result_cap=25)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        capped = {b["id"] for b in await crawl(c, WIDE)}
        now = int(app.state.sim.now().timestamp())
        day = 86_400
        split: set[str] = set()
        for start in range(now - 30 * day, now, 3 * day):
            window = await crawl(c, WIDE, starttime=start, endtime=start + 3 * day - 1)
            for blog in window:
                at = datetime.strptime(blog["created_at"], "%a %b %d %H:%M:%S %z %Y")
                assert start <= at.timestamp() <= start + 3 * day - 1
            split |= {b["id"] for b in window}
    assert capped < split
    assert len(split) > 25


async def test_bad_parameters_get_a_clear_error(client: httpx.AsyncClient) -> None:
    response = await client.get(SEARCH, params=search_params("深圳", starttime="yesterday"))
    assert response.status_code == 400
    assert "starttime" in response.json()["msg"]
    response = await client.get(SEARCH, params=search_params("深圳", page=0))
    assert response.status_code == 400 and "page" in response.json()["msg"]


async def test_advancing_the_clock_reveals_newer_posts(
    client: httpx.AsyncClient, state: SimState
) -> None:
    before = {b["id"] for b in await crawl(client, WIDE)}
    moved = await client.post("/_admin/clock", json={"advance_s": 2 * 86_400})
    assert moved.status_code == 200
    after = await crawl(client, WIDE)
    new = [b["id"] for b in after if b["id"] not in before]
    assert new
    newest = max(i.created_at for i in state.corpus.items if i.native_id in before)
    assert all(state.corpus.get(n).created_at > newest for n in new)  # type: ignore[union-attr]


async def test_timescope_in_the_containerid_is_a_window_too(client: httpx.AsyncClient) -> None:
    q = f"{WIDE}&timescope=custom:2026-11-10-0:2026-11-14-23"
    blogs = await crawl(client, q)
    assert blogs
    for blog in blogs:
        at = datetime.strptime(blog["created_at"], "%a %b %d %H:%M:%S %z %Y")
        assert "2026-11-10 00:00" <= f"{at:%Y-%m-%d %H:%M}" <= "2026-11-14 23:59"
    bad = await client.get(SEARCH, params=search_params("深圳&timescope=last-week"))
    assert bad.status_code == 400 and "timescope" in bad.json()["msg"]
