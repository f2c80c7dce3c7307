from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from sim.platforms import SimState, create_platforms_app
from tests.sim.conftest import WIDE

API = "/tousu/api/complaints"


async def crawl(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor = ""
    while True:
        body = (await client.get(API, params={**params, "cursor": cursor})).json()
        records += body["data"]["list"]
        if not body["data"]["has_more"]:
            return records
        cursor = body["data"]["next_cursor"]


async def test_cursor_pages_cover_every_match_once(
    client: httpx.AsyncClient, state: SimState
) -> None:
    records = await crawl(client, keyword=WIDE, limit=7)
    expected = state.corpus.search("tousu", WIDE, now=state.now())
    assert [r["id"] for r in records] == [i.native_id for i in expected]
    assert len(expected) > 7


async def test_records_have_the_documented_fields(client: httpx.AsyncClient) -> None:
    body = (await client.get(API, params={"limit": 3})).json()
    assert body["code"] == 0 and body["msg"] == "success"
    for record in body["data"]["list"]:
        assert {"id", "title", "content", "status", "created_at", "timestamp", "user"} <= set(
            record
        )
        assert record["url"] == f"/tousu/api/complaints/{record['id']}"
        detail = (await client.get(record["url"])).json()
        assert detail["data"] == record


async def test_a_stored_cursor_resumes_even_after_new_posts_arrive(
    client: httpx.AsyncClient, state: SimState
) -> None:
    newest = state.corpus.search("tousu", now=state.now())[0]
    state.elapsed = newest.created_at - state.now() - timedelta(seconds=1)  # just before it
    first = (await client.get(API, params={"limit": 10})).json()["data"]
    await client.post("/_admin/clock", json={"advance_s": 60})
    resumed = (await client.get(API, params={"limit": 10, "cursor": first["next_cursor"]})).json()
    assert resumed["data"]["list"][0]["timestamp"] <= first["list"][-1]["timestamp"]
    assert not {r["id"] for r in resumed["data"]["list"]} & {r["id"] for r in first["list"]}
    top = (await client.get(API, params={"limit": 10})).json()["data"]["list"]
    assert top[0]["timestamp"] > first["list"][0]["timestamp"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"cursor": "!!!"}, "cursor"),
        ({"limit": "500"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"since": "last week"}, "since"),
    ],
)
async def test_bad_parameters_get_a_400_that_names_them(
    client: httpx.AsyncClient, params: dict[str, str], needle: str
) -> None:
    response = await client.get(API, params=params)
    assert response.status_code == 400
    assert needle in response.json()["msg"]


async def test_the_cap_stops_paging_and_windows_get_past_it() -> None:
    app = create_platforms_app(seed=7, result_cap=8)
    state: SimState = app.state.sim
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        capped = await crawl(c, limit=3)
        now = int(state.now().timestamp())
        windows: list[dict[str, Any]] = []
        for start in range(now - 31 * 86_400, now, 86_400):
            window = await crawl(c, limit=3, since=start, until=start + 86_399)
            assert all(start <= r["timestamp"] <= start + 86_399 for r in window)
            windows += window
    assert len(capped) == 8
    assert len(windows) == len(state.corpus.search("tousu", now=state.now()))


async def test_layout_change_moves_the_payload(client: httpx.AsyncClient) -> None:
    body = (await client.get(API, params={"_fault": "layout_changed", "limit": 3})).json()
    assert "data" not in body
    assert body["result"]["records"] and body["result"]["cursor"]["next"]


async def test_silent_block_and_duplicates(client: httpx.AsyncClient) -> None:
    blocked = (await client.get(API, params={"_fault": "silent_block"})).json()["data"]
    assert blocked == {"list": [], "next_cursor": "", "has_more": False}
    first = (await client.get(API, params={"limit": 5})).json()["data"]
    second = (
        await client.get(
            API,
            params={"limit": 5, "cursor": first["next_cursor"], "_fault": "duplicates;overlap=2"},
        )
    ).json()["data"]
    assert [r["id"] for r in second["list"][:2]] == [r["id"] for r in first["list"][-2:]]


async def test_login_wall_is_a_401(client: httpx.AsyncClient) -> None:
    response = await client.get(API, params={"_fault": "login_expired"})
    assert response.status_code == 401 and response.json()["msg"] == "请先登录"
