from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from sim.platforms import SimState
from tests.sim.conftest import WIDE

SEARCH = "/zhihu/api/v4/search_v3"


async def follow(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    url = str(client.build_request("GET", SEARCH, params={"t": "general", **params}).url)
    while url:
        body = (await client.get(url)).json()
        results += body["data"]
        url = "" if body["paging"]["is_end"] else body["paging"]["next"]
    return results


async def test_following_paging_next_reaches_every_answer(
    client: httpx.AsyncClient, state: SimState
) -> None:
    results = await follow(client, q=WIDE, limit=7)
    expected = state.corpus.search("zhihu", WIDE, now=state.now())
    assert [r["object"]["id"] for r in results] == [i.native_id for i in expected]
    assert len(expected) > 7
    for entry in results:
        answer = entry["object"]
        assert entry["type"] == "search_result" and answer["type"] == "answer"
        assert f"<em>{WIDE}</em>" in answer["excerpt"]
        assert answer["content"].startswith("<p>") and answer["question"]["name"]
        assert answer["ip_info"].startswith("IP 属地")


async def test_time_interval_keeps_recent_answers_only(
    client: httpx.AsyncClient, state: SimState
) -> None:
    week = await follow(client, q=WIDE, time_interval="a_week")
    everything = await follow(client, q=WIDE)
    assert 0 < len(week) < len(everything)
    oldest = int((state.now() - timedelta(days=7)).timestamp())
    assert all(r["object"]["created_time"] >= oldest for r in week)


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": WIDE, "limit": "50"},
        {"q": WIDE, "offset": "-1"},
        {"q": WIDE, "time_interval": "a_decade"},
    ],
)
async def test_bad_parameters_are_400_errors(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get(SEARCH, params=params)
    assert response.status_code == 400 and response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [("captcha", 403, 40352), ("login_expired", 401, 100), ("rate_limit", 429, 10020)],
)
async def test_refusals_are_zhihu_error_objects(
    client: httpx.AsyncClient, fault: str, status: int, code: int
) -> None:
    response = await client.get(SEARCH, params={"q": WIDE, "_fault": fault})
    assert response.status_code == status and response.json()["error"]["code"] == code


async def test_layout_change_and_silent_block(client: httpx.AsyncClient) -> None:
    changed = (await client.get(SEARCH, params={"q": WIDE, "_fault": "layout_changed"})).json()
    assert changed["data"] and all("card" in r and "object" not in r for r in changed["data"])
    blocked = (await client.get(SEARCH, params={"q": WIDE, "_fault": "silent_block"})).json()
    assert blocked == {"paging": {"is_end": True, "next": ""}, "data": []}


async def test_next_url_drops_the_per_request_fault(client: httpx.AsyncClient) -> None:
    params: dict[str, str | int] = {"q": WIDE, "limit": 3, "_fault": "duplicates"}
    body = (await client.get(SEARCH, params=params)).json()
    assert "_fault" not in body["paging"]["next"] and "offset=3" in body["paging"]["next"]
