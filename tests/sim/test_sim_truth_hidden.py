from __future__ import annotations

from urllib.parse import quote

import httpx

from sim.platforms import SimState
from tests.sim.conftest import WIDE
from xianban.records import CATEGORIES

Q = quote(WIDE)
FIRST_PAGES = [
    ("GET", f"/weibo/api/container/getIndex?containerid=100103type%3D1%26q%3D{Q}"),
    ("GET", "/news/rss.xml"),
    ("GET", "/news/atom.xml"),
    ("GET", "/forum/forum-2-1.html"),
    ("GET", "/tousu/api/complaints?limit=50"),
    ("GET", f"/douyin/search/{Q}"),
    ("POST", "/xhs/api/sns/web/v1/search/notes"),
    ("GET", f"/bilibili/x/web-interface/search/type?search_type=video&keyword={Q}"),
    ("GET", f"/zhihu/api/v4/search_v3?t=general&q={Q}"),
]
LEAKS = ("is_problem", "truth", "inc-", "out_of_city", *CATEGORIES)


async def test_no_platform_serves_the_ground_truth(
    client: httpx.AsyncClient, state: SimState
) -> None:
    client.cookies.set("web_session", state.sessions.issue("xhs").token)
    for method, path in FIRST_PAGES:
        response = await client.request(method, path, json={"keyword": WIDE})
        assert response.status_code == 200, path
        assert len(response.content) > 500, path
        for leak in LEAKS:
            assert leak not in response.text, (path, leak)
