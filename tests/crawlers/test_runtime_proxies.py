"""Proxies that die: evicted on the spot, the crawl carried on through the next one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crawlers.fetch import HttpFetcher
from crawlers.politeness import Politeness
from crawlers.proxies import NoLiveProxy, ProxyPool
from sim.server import SimServer
from tests.crawlers.conftest import WIDE

SEARCH = "/weibo/api/container/getIndex"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer() as server:
        yield server


async def proxies(sim: SimServer, count: int, lifetime: int | None) -> list[str]:
    async with HttpFetcher(sim.url, Politeness(rate_per_s=0)) as admin:
        body = await admin.post_json(
            "/_admin/proxies", json_body={"count": count, "lifetime_requests": lifetime}
        )
    return [p["url"] for p in body["proxies"]]


def params(page: int) -> dict[str, Any]:
    return {"containerid": f"100103type=1&q={WIDE}", "page": page}


async def test_a_dying_proxy_is_evicted_and_the_next_one_carries_on(sim: SimServer) -> None:
    urls = await proxies(sim, 3, lifetime=2)
    pool = ProxyPool(list(urls))
    fetch = HttpFetcher(sim.url, Politeness(rate_per_s=0, retries=0), proxies=pool)
    try:
        pages = [await fetch.get_json(SEARCH, params=params(1 + n % 3)) for n in range(6)]
        assert all(page["ok"] == 1 for page in pages)
        served = {p.id: p.served for p in sim.platforms.proxies.proxies.values()}
        assert sum(served.values()) == 6
        with pytest.raises(NoLiveProxy):
            await fetch.get_json(SEARCH, params=params(1))
        assert set(pool.evicted) == set(urls)
        assert all("已失效" in why for why in pool.evicted.values())
    finally:
        await fetch.close()


async def test_health_check_evicts_killed_and_unauthorised_proxies(sim: SimServer) -> None:
    good, killed = await proxies(sim, 2, lifetime=None)
    wrong = good.replace("@", "x@", 1)
    sim.platforms.proxies.kill(httpx.URL(killed).username)
    pool = ProxyPool([good, killed, wrong])
    alive = await pool.check(f"{sim.url}{SEARCH}?containerid=100103type%3D1%26q%3D")
    assert alive == {good: True, killed: False, wrong: False}
    assert pool.live == [good]
    assert "407" in pool.evicted[wrong]
