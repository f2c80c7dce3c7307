from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from sim.platforms import FAULT_KINDS, PLATFORMS, SimState
from tests.sim.conftest import WIDE

SEARCH = "/weibo/api/container/getIndex"
PARAMS = {"containerid": f"100103type=1&q={WIDE}", "page_type": "searchall", "page": "1"}


async def queue(client: httpx.AsyncClient, fault: str, **spec: Any) -> None:
    response = await client.post(
        "/_admin/faults", json={"platform": "weibo", "fault": fault, **spec}
    )
    assert response.status_code == 200, response.text


async def search(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await client.get(SEARCH, params={**PARAMS, **params})


async def test_a_queued_fault_applies_times_then_clears(
    client: httpx.AsyncClient, state: SimState
) -> None:
    await queue(client, "rate_limit", times=2, params={"retry_after": 7})
    statuses = [(await search(client)).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    stats = (await client.get("/_admin/stats")).json()["platforms"]["weibo"]
    assert stats["by_fault"] == {"rate_limit": 2, "none": 1}
    assert stats["by_status"] == {"429": 2, "200": 1}
    assert state.faults.queue == []


async def test_rate_limit_sends_retry_after_and_the_platform_error(
    client: httpx.AsyncClient,
) -> None:
    await queue(client, "rate_limit", params={"retry_after": 7})
    response = await search(client)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["msg"] == "请求过于频繁，请稍后再试"


async def test_server_error_is_a_gateway_page_with_the_asked_status(
    client: httpx.AsyncClient,
) -> None:
    await queue(client, "server_error", params={"status": 502})
    response = await search(client)
    assert response.status_code == 502
    assert "502 Bad Gateway" in response.text and "nginx" in response.text


async def test_slow_delays_only_that_request(client: httpx.AsyncClient) -> None:
    slow = asyncio.create_task(search(client, _fault="slow;delay_s=0.5"))
    fast = await search(client)
    assert fast.status_code == 200
    assert not slow.done()
    response = await slow
    assert response.json()["ok"] == 1


async def test_truncated_body_is_a_prefix_that_does_not_parse(client: httpx.AsyncClient) -> None:
    whole = (await search(client)).content
    await queue(client, "truncated", params={"keep": 0.3})
    response = await search(client)
    assert response.status_code == 200
    assert whole.startswith(response.content) and len(response.content) < len(whole)
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


async def test_captcha_is_an_html_page_with_status_200(client: httpx.AsyncClient) -> None:
    await queue(client, "captcha")
    response = await search(client)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "请输入验证码" in response.text and "操作太频繁，请稍后再试" in response.text


async def test_expired_login_answers_ok_minus_100(client: httpx.AsyncClient) -> None:
    await queue(client, "login_expired")
    body = (await search(client)).json()
    assert body["ok"] == -100 and body["url"].startswith("/weibo/login?r=")
    login = await client.get(body["url"])
    assert login.status_code == 200 and "登录" in login.text


async def test_layout_change_moves_posts_out_of_mblog(client: httpx.AsyncClient) -> None:
    await queue(client, "layout_changed")
    cards = (await search(client)).json()["data"]["cards"]
    assert cards and all(c["card_type"] == 11 and "mblog" not in c for c in cards)


async def test_duplicates_repeat_the_end_of_the_previous_page(client: httpx.AsyncClient) -> None:
    first = [c["mblog"]["id"] for c in (await search(client)).json()["data"]["cards"]]
    await queue(client, "duplicates", params={"overlap": 3})
    second = [c["mblog"]["id"] for c in (await search(client, page="2")).json()["data"]["cards"]]
    assert second[:3] == first[-3:]
    assert len(second) == 13


async def test_silent_block_is_a_200_with_nothing_in_it(client: httpx.AsyncClient) -> None:
    await queue(client, "silent_block")
    response = await search(client)
    assert response.status_code == 200
    assert response.json()["data"]["cards"] == []
    assert (await search(client)).json()["data"]["cards"]


async def test_ban_is_a_403_page(client: httpx.AsyncClient) -> None:
    await queue(client, "ban")
    response = await search(client)
    assert response.status_code == 403 and "访问受限" in response.text


async def test_a_fault_without_times_stays_until_deleted(client: httpx.AsyncClient) -> None:
    await queue(client, "ban", times=None)
    assert [(await search(client)).status_code for _ in range(4)] == [403] * 4
    listed = (await client.get("/_admin/faults")).json()["faults"]
    assert listed == [
        {"platform": "weibo", "fault": "ban", "times": None, "params": {}, "match": None}
    ]
    assert (await client.delete("/_admin/faults")).json() == {"cleared": 1}
    assert (await search(client)).status_code == 200


async def test_deleting_one_platform_keeps_the_others(client: httpx.AsyncClient) -> None:
    await queue(client, "ban", times=None)
    await client.post("/_admin/faults", json={"platform": "*", "fault": "captcha", "times": None})
    assert (await client.delete("/_admin/faults", params={"platform": "weibo"})).json() == {
        "cleared": 1
    }
    assert "请输入验证码" in (await search(client)).text


async def test_header_override_takes_precedence_and_consumes_nothing(
    client: httpx.AsyncClient, state: SimState
) -> None:
    await queue(client, "ban")
    response = await client.get(SEARCH, params=PARAMS, headers={"X-Sim-Fault": "server_error"})
    assert response.status_code == 503
    assert len(state.faults.queue) == 1


async def test_unknown_override_is_a_400_naming_the_kinds(client: httpx.AsyncClient) -> None:
    response = await search(client, _fault="meteor")
    assert response.status_code == 400
    assert "meteor" in response.text and "rate_limit" in response.text


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"platform": "myspace", "fault": "ban"}, "myspace"),
        ({"platform": "weibo", "fault": "meteor"}, "fault"),
        ({"platform": "weibo", "fault": "ban", "times": 0}, "times"),
        ({"platform": "weibo", "fault": "ban", "colour": "red"}, "colour"),
    ],
)
async def test_bad_fault_specs_are_refused_clearly(
    client: httpx.AsyncClient, state: SimState, spec: dict[str, Any], needle: str
) -> None:
    response = await client.post("/_admin/faults", json=spec)
    assert response.status_code == 422
    assert needle in response.json()["error"]
    assert state.faults.queue == []


async def test_malformed_admin_json_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/_admin/faults", content=b"{not json")
    assert response.status_code == 422 and "JSON" in response.json()["error"]


async def test_every_fault_kind_is_counted(client: httpx.AsyncClient) -> None:
    for kind in FAULT_KINDS:
        await search(client, _fault=kind + (";delay_s=0" if kind == "slow" else ""))
    stats = (await client.get("/_admin/stats")).json()
    assert stats["platforms"]["weibo"]["by_fault"] == dict.fromkeys(FAULT_KINDS, 1)
    assert [r["fault"] for r in stats["recent"]] == list(FAULT_KINDS)
    assert (await client.delete("/_admin/stats")).status_code == 200
    assert (await client.get("/_admin/stats")).json()["total"] == 0


async def test_rate_limit_can_answer_with_another_status(client: httpx.AsyncClient) -> None:
    response = await search(client, _fault="rate_limit;status=418;retry_after=1")
    assert response.status_code == 418 and response.headers["retry-after"] == "1"


async def test_admin_lists_platforms_and_fault_kinds(client: httpx.AsyncClient) -> None:
    body = (await client.get("/_admin/platforms")).json()
    assert body["platforms"] == sorted(PLATFORMS)
    assert {"weibo", "news", "forum", "tousu", "douyin", "xhs", "bilibili", "zhihu"} <= set(
        PLATFORMS
    )
    assert body["faults"] == list(FAULT_KINDS)


async def test_a_fault_can_target_one_source_on_a_platform(client: httpx.AsyncClient) -> None:
    await queue(client, "ban", times=None, match="q=井盖")
    assert (await search(client)).status_code == 200
    wells = await client.get(SEARCH, params={**PARAMS, "containerid": "100103type=1&q=井盖"})
    assert wells.status_code == 403
    assert (await search(client)).status_code == 200


@pytest.mark.parametrize("value", ["inf", "nan", "-3", "soon"])
async def test_unusable_retry_after_falls_back_to_the_default(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await search(client, _fault=f"rate_limit;retry_after={value}")
    assert response.status_code == 429 and response.headers["retry-after"] == "5"


@pytest.mark.parametrize("value", ["inf", "nan", "-3", "soon", "200", "1000"])
async def test_a_refusal_never_gets_a_non_error_status(
    client: httpx.AsyncClient, value: str
) -> None:
    for fault, default in (("rate_limit", 429), ("server_error", 503), ("ban", 403)):
        response = await search(client, _fault=f"{fault};status={value}")
        assert response.status_code == default


async def test_a_request_given_up_during_a_slow_answer_is_still_counted(
    client: httpx.AsyncClient,
) -> None:
    pending = asyncio.create_task(search(client, _fault="slow;delay_s=30"))
    for _ in range(100):  # in-process transport: only yields separate us from the sleep
        await asyncio.sleep(0)
    assert not pending.done()
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    stats = (await client.get("/_admin/stats")).json()["platforms"]["weibo"]
    assert stats["by_fault"] == {"slow": 1} and stats["by_status"] == {"499": 1}
