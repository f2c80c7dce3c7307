"""Douyin's comment, creator and POI XHRs: signed with a_bogus, refused when not."""

from __future__ import annotations

import httpx

from sim.platforms import SimState
from sim.platforms.signatures import KEYS, douyin_ok, fnv

LIST = "/douyin/aweme/v1/web/comment/list/"


def signed(params: dict[str, str], key: str = KEYS["douyin-a_bogus"]) -> dict[str, str]:
    query = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return {**params, "a_bogus": fnv(f"{query}|{key}")}


async def test_an_unsigned_or_wrongly_signed_call_gets_an_empty_200(
    client: httpx.AsyncClient, state: SimState
) -> None:
    item = next(i for i in state.corpus.search("douyin", now=state.now()) if i.comments)
    params = {"aweme_id": item.native_id, "cursor": "0", "count": "20"}
    for bad in (params, {**params, "a_bogus": "deadbeef"}, signed(params, "old-key")):
        answer = await client.get(LIST, params=bad)
        assert answer.status_code == 200 and answer.content == b""
    good = (await client.get(LIST, params=signed(params))).json()
    assert good["status_code"] == 0 and "total" in good
    assert douyin_ok(signed(params), KEYS["douyin-a_bogus"])


async def test_the_signing_key_rotates_through_the_admin_api(
    client: httpx.AsyncClient, state: SimState
) -> None:
    before = dict(state.signing)
    try:
        done = await client.post("/_admin/signing", json={"scheme": "douyin-a_bogus", "key": "k2"})
        assert done.json() == {"scheme": "douyin-a_bogus", "rotated": True}
        assert state.signing["douyin-a_bogus"] == "k2"
        unknown = await client.post("/_admin/signing", json={"scheme": "nope", "key": "k"})
        assert unknown.status_code == 422
    finally:
        state.signing.update(before)
