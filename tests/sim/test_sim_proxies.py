from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sim.platforms import create_platforms_app
from sim.server import SimServer
from xianban.asgi_server import EmbeddedServer

FEED = "/news/rss.xml"


@pytest.fixture
async def sim() -> AsyncIterator[str]:
    server = EmbeddedServer(create_platforms_app(seed=7, corpus_size=300), lifespan="off")
    await server.start()
    yield server.url
    await server.stop()


async def proxies(base: str, **spec: object) -> list[dict[str, str]]:
    async with httpx.AsyncClient(base_url=base) as admin:
        response = await admin.post("/_admin/proxies", json=spec)
    assert response.status_code == 200, response.text
    issued: list[dict[str, str]] = response.json()["proxies"]
    return issued


async def test_a_proxy_relays_until_its_lifetime_then_dies(sim: str) -> None:
    [proxy] = await proxies(sim, count=1, lifetime_requests=3)
    async with httpx.AsyncClient(proxy=proxy["url"]) as client:
        statuses = [(await client.get(sim + FEED)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 502, 502]
    async with httpx.AsyncClient(base_url=sim) as admin:
        listed = (await admin.get("/_admin/proxies")).json()["proxies"]
        assert listed == [{"id": proxy["id"], "dead": True, "served": 3}]
        assert (await admin.get(FEED)).status_code == 200


async def test_ops_can_kill_one_proxy_and_others_keep_working(sim: str) -> None:
    first, second = await proxies(sim, count=2)
    async with httpx.AsyncClient(base_url=sim) as admin:
        killed = await admin.delete("/_admin/proxies", params={"id": first["id"]})
        assert killed.json() == {"killed": 1}
    async with httpx.AsyncClient(proxy=first["url"]) as dead:
        response = await dead.get(sim + FEED)
        assert response.status_code == 502 and first["id"] in response.text
    async with httpx.AsyncClient(proxy=second["url"]) as alive:
        assert (await alive.get(sim + FEED)).status_code == 200


async def test_wrong_credentials_get_407(sim: str) -> None:
    [proxy] = await proxies(sim)
    forged = proxy["url"].replace(proxy["url"].split(":")[2].split("@")[0], "wrongpass")
    async with httpx.AsyncClient(proxy=forged) as client:
        response = await client.get(sim + FEED)
    assert response.status_code == 407
    assert response.headers["proxy-authenticate"].startswith("Basic")


async def test_proxies_work_through_the_lead_server() -> None:
    async with SimServer(seed=7) as server:
        [proxy] = await proxies(server.url, count=1, lifetime_requests=1)
        async with httpx.AsyncClient(proxy=proxy["url"]) as client:
            assert (await client.get(server.url + FEED)).status_code == 200
            assert (await client.get(server.url + FEED)).status_code == 502


async def test_bad_proxy_requests_are_refused(sim: str) -> None:
    async with httpx.AsyncClient(base_url=sim) as admin:
        response = await admin.post("/_admin/proxies", json={"count": 0})
    assert response.status_code == 422 and "count" in response.json()["error"]
