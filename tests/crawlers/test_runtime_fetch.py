"""The fetcher's chain on its own: the concurrency limit and the retry budget."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from crawlers.errors import ServerError
from crawlers.fetch import HttpFetcher
from crawlers.politeness import Politeness


async def test_no_more_requests_in_flight_than_the_source_allows() -> None:
    in_flight, peak = 0, 0

    async def platform(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={"ok": 1})

    policy = Politeness(concurrency=2, rate_per_s=0)
    async with HttpFetcher("http://p", policy, transport=httpx.MockTransport(platform)) as fetch:
        answers = await asyncio.gather(*(fetch.get_json(f"/{n}") for n in range(10)))
    assert answers == [{"ok": 1}] * 10
    assert peak == 2


async def test_the_retry_budget_is_one_request_and_its_retries() -> None:
    calls: list[str] = []
    slept: list[float] = []

    def platform(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(502, text="<center>nginx</center>")

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = Politeness(rate_per_s=0, retries=3, backoff_s=1, backoff_max_s=100)
    transport = httpx.MockTransport(platform)
    async with HttpFetcher("http://p", policy, transport=transport, sleep=sleep) as fetch:
        with pytest.raises(ServerError, match="HTTP 502"):
            await fetch.get_text("/list")
    assert len(calls) == 4
    assert len(slept) == 3 and all(0.5 * 2**n <= s <= 2**n for n, s in enumerate(slept))
