from __future__ import annotations

from typing import Any

import httpx

from sim.platforms import SimState
from tests.sim.conftest import WIDE

SEARCH = "/xhs/api/sns/web/v1/search/notes"
FEED = "/xhs/api/sns/web/v1/feed"
ME = "/xhs/api/sns/web/v2/user/me"


async def login(client: httpx.AsyncClient, **spec: Any) -> str:
    response = await client.post("/_admin/sessions", json={"platform": "xhs", **spec})
    assert response.status_code == 200
    token: str = response.json()["token"]
    client.cookies.set("web_session", token)
    return token


async def search(client: httpx.AsyncClient, page: int = 1, **extra: Any) -> dict[str, Any]:
    body = {"keyword": WIDE, "page": page, "page_size": 20, "sort": "general"}
    response = await client.post(SEARCH, json=body, params=extra)
    result: dict[str, Any] = response.json()
    return result


async def test_without_a_session_everything_is_the_login_wall(client: httpx.AsyncClient) -> None:
    assert await search(client) == {"code": -100, "success": False, "msg": "登录已过期", "data": {}}
    assert (await client.post(FEED, json={"source_note_id": "x"})).json()["code"] == -100
    assert (await client.get(ME)).json()["data"]["guest"] is True


async def test_a_session_pages_through_search_and_reads_notes(
    client: httpx.AsyncClient, state: SimState
) -> None:
    await login(client)
    me = (await client.get(ME)).json()["data"]
    assert me["guest"] is False and me["nickname"]
    ids: list[str] = []
    page, more = 1, True
    while more:
        data = (await search(client, page))["data"]
        ids += [i["id"] for i in data["items"]]
        for item in data["items"]:
            assert item["note_card"]["display_title"]
            assert isinstance(item["note_card"]["interact_info"]["liked_count"], str)
        page, more = page + 1, data["has_more"]
    expected = state.corpus.search("xhs", WIDE, now=state.now())
    assert ids == [i.native_id for i in expected]
    note = (await client.post(FEED, json={"source_note_id": ids[0]})).json()["data"]["items"][0]
    card = note["note_card"]
    assert card["desc"] == expected[0].text
    assert card["time"] == int(expected[0].created_at.timestamp() * 1000)
    assert card["ip_location"] == expected[0].ip_region in ("广东", "香港")


async def test_qr_login_sets_the_cookie_once_ops_scan(client: httpx.AsyncClient) -> None:
    qr = (await client.get("/xhs/api/sns/web/v1/login/qrcode/create")).json()["data"]
    assert qr["url"].startswith("xhsdiscover://")
    status = "/xhs/api/sns/web/v1/login/qrcode/status"
    params = {"qr_id": qr["qr_id"], "code": qr["code"]}
    assert (await client.get(status, params=params)).json()["data"] == {"code_status": 0}
    assert (await search(client))["code"] == -100
    scanned = await client.post(f"/_admin/qrcode/{qr['qr_id']}/scan")
    assert scanned.json() == {"qr_id": qr["qr_id"], "status": 2}
    confirmed = await client.get(status, params=params)
    assert confirmed.json()["data"]["code_status"] == 2
    assert confirmed.cookies["web_session"] == confirmed.json()["data"]["login_info"]["session"]
    assert (await search(client))["code"] == 0
    wrong = await client.get(status, params={"qr_id": qr["qr_id"], "code": "000000x"})
    assert wrong.status_code == 400


async def test_a_session_expires_after_its_lifetime_and_stays_expired(
    client: httpx.AsyncClient,
) -> None:
    await login(client, lifetime_requests=2)
    assert [(await search(client))["code"] for _ in range(4)] == [0, 0, -100, -100]
    assert (await client.get(ME)).json()["data"]["guest"] is True


async def test_the_login_expired_fault_really_expires_the_session(
    client: httpx.AsyncClient,
) -> None:
    await login(client)
    assert (await search(client, _fault="login_expired"))["code"] == -100
    assert (await search(client))["code"] == -100
    await login(client)
    assert (await search(client))["code"] == 0


async def test_ops_can_expire_every_session(client: httpx.AsyncClient) -> None:
    token = await login(client)
    expired = await client.delete("/_admin/sessions", params={"platform": "xhs", "token": token})
    assert expired.json() == {"expired": 1}
    assert (await search(client))["code"] == -100


async def test_captcha_is_a_461_with_verify_headers(client: httpx.AsyncClient) -> None:
    await login(client)
    response = await client.post(SEARCH, json={"keyword": WIDE}, params={"_fault": "captcha"})
    assert response.status_code == 461 and response.headers["verifytype"] == "102"


async def test_rate_limit_is_the_frequency_message(client: httpx.AsyncClient) -> None:
    await login(client)
    response = await client.post(SEARCH, json={"keyword": WIDE}, params={"_fault": "rate_limit"})
    assert response.status_code == 429 and response.json()["code"] == 300013
    assert response.headers["retry-after"] == "5"


async def test_layout_change_and_silent_block(client: httpx.AsyncClient) -> None:
    await login(client)
    changed = (await search(client, _fault="layout_changed"))["data"]["items"]
    assert changed and all("noteCard" in i and "note_card" not in i for i in changed)
    assert (await search(client, _fault="silent_block"))["data"] == {"has_more": False, "items": []}


async def test_bad_requests_are_400s_that_say_why(client: httpx.AsyncClient) -> None:
    await login(client)
    for body in (b"{oops", b"[1]"):
        response = await client.post(SEARCH, content=body)
        assert response.status_code == 400 and "JSON" in response.json()["msg"]
    response = await client.post(SEARCH, json={"keyword": WIDE, "page_size": 500})
    assert response.status_code == 400 and "page_size" in response.json()["msg"]


async def test_admin_refuses_unknown_platforms_and_qr_ids(client: httpx.AsyncClient) -> None:
    response = await client.post("/_admin/sessions", json={"platform": "friendster"})
    assert response.status_code == 422 and "friendster" in response.json()["error"]
    assert (await client.post("/_admin/qrcode/nope/scan")).status_code == 404


async def test_a_banned_account_is_refused_but_others_still_work(
    client: httpx.AsyncClient,
) -> None:
    banned = await login(client)
    response = await client.post("/_admin/sessions/ban", json={"platform": "xhs", "token": banned})
    assert response.json() == {"banned": True}
    refused = await search(client)
    assert refused["code"] == -104 and "账号异常" in refused["msg"]
    assert (await client.get(ME)).json()["data"]["guest"] is False
    await login(client)
    assert (await search(client))["code"] == 0
    unknown = await client.post("/_admin/sessions/ban", json={"platform": "xhs", "token": "nope"})
    assert unknown.status_code == 404
