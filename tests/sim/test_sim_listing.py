from __future__ import annotations

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.platforms import create_platforms_app, generate
from sim.platforms.corpus import ANCHOR
from sim.platforms.listing import paginate
from sim.server import SimServer
from tests.sim.conftest import WIDE

CORPUS = generate(3, 400)
ITEMS = CORPUS.search("weibo", now=ANCHOR)


@given(size=st.integers(1, 30), cap=st.integers(0, 400))
def test_pages_partition_the_capped_results(size: int, cap: int) -> None:
    seen = []
    page = 1
    while True:
        listing = paginate(ITEMS, page, size, cap=cap)
        seen += listing.items
        if not listing.has_more:
            break
        page += 1
    assert seen == list(ITEMS[:cap])


@given(size=st.integers(1, 30), overlap=st.integers(1, 10), page=st.integers(2, 10))
def test_overlap_repeats_the_items_just_before_the_page(size: int, overlap: int, page: int) -> None:
    clean = paginate(ITEMS, page, size, cap=len(ITEMS)).items
    current = paginate(ITEMS, page, size, cap=len(ITEMS), overlap=overlap).items
    start = (page - 1) * size
    if clean:
        assert current[len(current) - len(clean) :] == clean
        repeated = current[: len(current) - len(clean)]
        assert repeated == list(ITEMS[max(0, start - overlap) : start])


@settings(max_examples=15, deadline=None)
@given(limit=st.integers(1, 50), keyword=st.sampled_from(["", "深圳", "井盖", "工地 南山", "物业"]))
async def test_tousu_cursor_paging_never_skips_or_repeats(limit: int, keyword: str) -> None:
    app = create_platforms_app(seed=5, corpus_size=600)
    state = app.state.sim
    ids: list[str] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        cursor = ""
        while True:
            params: dict[str, str | int] = {"keyword": keyword, "limit": limit, "cursor": cursor}
            data = (await c.get("/tousu/api/complaints", params=params)).json()["data"]
            ids += [r["id"] for r in data["list"]]
            if not data["has_more"]:
                break
            cursor = data["next_cursor"]
    assert ids == [i.native_id for i in state.corpus.search("tousu", keyword, now=state.now())]


async def test_the_lead_server_serves_platforms_and_admin_on_a_real_port() -> None:
    async with SimServer(seed=7) as server, httpx.AsyncClient(base_url=server.url) as client:
        params = {"containerid": f"100103type=1&q={WIDE}", "page_type": "searchall"}
        body = (await client.get("/weibo/api/container/getIndex", params=params)).json()
        assert body["ok"] == 1 and body["data"]["cards"]
        fault = {"platform": "forum", "fault": "rate_limit", "params": {"retry_after": 2}}
        assert (await client.post("/_admin/faults", json=fault)).status_code == 200
        limited = await client.get("/forum/forum-2-1.html")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        stats = (await client.get("/_admin/stats")).json()["platforms"]
        assert stats["forum"]["by_fault"] == {"rate_limit": 1}
