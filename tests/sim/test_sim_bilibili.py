from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from sim.platforms import SimState, create_platforms_app
from tests.sim.conftest import WIDE

SEARCH = "/bilibili/x/web-interface/search/type"


async def crawl(client: httpx.AsyncClient, keyword: str, **extra: Any) -> list[dict[str, Any]]:
    videos: list[dict[str, Any]] = []
    page = 1
    while True:
        params = {"search_type": "video", "keyword": keyword, "page": page, **extra}
        data = (await client.get(SEARCH, params=params)).json()["data"]
        videos += data["result"]
        if page >= data["numPages"]:
            return videos
        page += 1


async def test_search_pages_in_the_bilibili_shape(
    client: httpx.AsyncClient, state: SimState
) -> None:
    videos = await crawl(client, WIDE)
    expected = state.corpus.search("bilibili", WIDE, now=state.now())
    assert [v["bvid"] for v in videos] == [i.native_id for i in expected]
    for video in videos:
        assert video["type"] == "video" and re.fullmatch(r"BV1\w{9}", video["bvid"])
        assert video["arcurl"].endswith(video["bvid"])
        assert re.fullmatch(r"\d+:\d\d", video["duration"])
        assert WIDE in video["description"]
    term = expected[0].title[:2]
    titled = await crawl(client, term)
    assert any(f'<em class="keyword">{term}</em>' in v["title"] for v in titled)


async def test_cap_and_publication_time_windows() -> None:
    app = create_platforms_app(seed=7, result_cap=10)
    state: SimState = app.state.sim
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        first = (
            await c.get(SEARCH, params={"search_type": "video", "keyword": WIDE, "page": 1})
        ).json()["data"]
        assert first["numResults"] == 10 and first["numPages"] == 1
        now = int(state.now().timestamp())
        split: list[dict[str, Any]] = []
        for start in range(now - 31 * 86_400, now, 86_400):
            end = start + 86_400 - 1
            window = await crawl(c, WIDE, pubtime_begin_s=start, pubtime_end_s=end)
            assert all(start <= v["pubdate"] <= end for v in window)
            split += window
    assert len(split) == len(state.corpus.search("bilibili", WIDE, now=state.now())) > 10


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("rate_limit", 429, -799),
        ("ban", 412, -412),
        ("captcha", 200, -352),
        ("login_expired", 200, -101),
    ],
)
async def test_refusals_use_bilibili_codes(
    client: httpx.AsyncClient, fault: str, status: int, code: int
) -> None:
    params = {"search_type": "video", "keyword": "深圳", "_fault": fault}
    response = await client.get(SEARCH, params=params)
    assert response.status_code == status and response.json()["code"] == code


async def test_layout_change_groups_results(client: httpx.AsyncClient) -> None:
    params = {"search_type": "video", "keyword": "深圳", "_fault": "layout_changed"}
    result = (await client.get(SEARCH, params=params)).json()["data"]["result"]
    assert result[0]["result_type"] == "video" and result[0]["data"][0]["bvid"]


async def test_silent_block_reports_no_results(client: httpx.AsyncClient) -> None:
    params = {"search_type": "video", "keyword": "深圳", "_fault": "silent_block"}
    data = (await client.get(SEARCH, params=params)).json()["data"]
    assert data["numResults"] == 0 and data["result"] == []


async def test_bad_requests_say_what_is_wrong(client: httpx.AsyncClient) -> None:
    missing = await client.get(SEARCH, params={"keyword": "深圳"})
    assert missing.status_code == 400 and "search_type" in missing.json()["message"]
    bad = await client.get(
        SEARCH, params={"search_type": "video", "keyword": "深圳", "pubtime_begin_s": "x"}
    )
    assert bad.status_code == 400 and "pubtime_begin_s" in bad.json()["message"]
