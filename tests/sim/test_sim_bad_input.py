from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from sim.platforms import create_platforms_app

APP: Starlette = create_platforms_app(seed=9, corpus_size=300)
GETS = [
    ("/weibo/api/container/getIndex", ("containerid", "page", "starttime", "endtime", "_fault")),
    ("/weibo/statuses/extend", ("id",)),
    ("/tousu/api/complaints", ("keyword", "cursor", "limit", "since", "until")),
    ("/douyin/aweme/v1/web/general/search/single/", ("keyword", "offset", "a_bogus")),
    (
        "/bilibili/x/web-interface/search/type",
        ("search_type", "keyword", "page", "pubtime_begin_s"),
    ),
    ("/xhs/api/sns/web/v1/login/qrcode/status", ("qr_id", "code")),
]
values = st.one_of(st.text(max_size=30), st.integers(-(10**20), 10**20).map(str))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    endpoint=st.sampled_from(GETS),
    data=st.data(),
)
async def test_no_query_makes_a_platform_fail(
    endpoint: tuple[str, tuple[str, ...]], data: st.DataObject
) -> None:
    path, names = endpoint
    params = {name: data.draw(values, label=name) for name in names if data.draw(st.booleans())}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://s") as c:
        response = await c.get(path, params=params)
    assert response.status_code < 500, (path, params, response.text)
    if response.status_code == 400:
        assert response.text.strip()


@settings(max_examples=60, deadline=None)
@given(body=st.one_of(st.binary(max_size=60), st.text(max_size=60).map(str.encode)))
async def test_no_body_makes_xhs_or_admin_fail(body: bytes) -> None:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as c:
        c.cookies.set("web_session", APP.state.sim.sessions.issue("xhs").token)
        for path in ("/xhs/api/sns/web/v1/search/notes", "/_admin/faults", "/_admin/clock"):
            response = await c.post(path, content=body)
            assert response.status_code < 500, (path, body, response.text)
    APP.state.sim.faults.clear()
