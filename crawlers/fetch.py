"""The runtime's fetcher: one pooled httpx client per source, behind politeness and health.

Each request goes through an ordered chain, the same for every source and configured per
source (``politeness:`` in sources.yaml):

1. concurrency: at most ``concurrency`` requests of this source in flight;
2. rate: a token bucket of ``rate_per_s`` with ``burst``;
3. the request itself, with the source's timeout as a deadline for the whole answer
   (httpx's own timeouts are per phase: a server trickling bytes would never trip them);
4. health: the status line, refusal pages and error bodies become a ``CrawlError`` state;
5. proxies (optional): round-robin over the source's live proxies; a dead one (407, 502
   naming the proxy, unreachable) is evicted and the request sent through the next;
6. retry: rate limits, 5xx, timeouts and unparsable bodies are retried up to ``retries``
   times after a jittered exponential backoff that is never shorter than ``Retry-After``;
   a refusal (captcha, ban, login wall) is never retried here — retrying a captcha hot is
   how accounts get banned; the stage backs the whole source off instead.

Transport, measured 2026-11-23 against the simulator on a real localhost port (uvicorn in
another process, weibo search pages of ~10 KB, 1,000 requests, the shared 2-core box),
pages/s by connections:

| connections          | 1  | 4  | 16  | 32  |
|----------------------|----|----|-----|-----|
| httpx default        | 23 | 89 | 299 | 140 |
| httpx-aiohttp        | 23 | 90 | 333 | 558 |

Every keep-alive request to the embedded uvicorn waits ~43 ms (a delayed-ACK stall; curl
on a fresh connection answers in 1 ms), so throughput is latency-bound and grows with
connections; past 16 the default transport collapses (as the issue measured on nginx)
while the aiohttp one keeps scaling. Direct requests therefore go through aiohttp; and
since httpx on top of it cost as much CPU again as aiohttp itself (URL parsing and merging,
a second request and response model, a streamed body: 1.7 against 1.0 ms a page of
parse-free work, measured 2026-12-01 against a static server), they use an
``aiohttp.ClientSession`` directly: the query string is still encoded by httpx's
``QueryParams`` and JSON bodies serialised as httpx does (``crawlers/answer.py``), so
signatures and the simulator see the same bytes on either path. ``transport=`` (tests pass
the simulator's ASGI app) and proxies (httpx speaks forward proxies) use an httpx client.
Both hand the chain an ``Answer``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import httpx
from yarl import URL

from crawlers.answer import Answer, json_bytes
from crawlers.errors import (
    CrawlError,
    FetchTimeout,
    MalformedResponse,
    RateLimited,
    RetryableError,
)
from crawlers.health import check_json, check_response
from crawlers.politeness import Clock, Politeness, Sleep, TokenBucket, backoff_delay
from crawlers.proxies import ProxyPool, refusal
from crawlers.urls import url_of
from xianban import metrics
from xianban.tls import tls_context

USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
HEADERS = {"User-Agent": USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9"}
DROPPED = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError)
"""aiohttp's failures of the exchange itself (refused, reset, cut short, a garbled status
line): what httpx's ``NetworkError`` and ``RemoteProtocolError`` are on the other path."""


class HttpFetcher:
    """The ``Fetcher`` adapters get: politeness, retries and health detection, once."""

    def __init__(
        self,
        base_url: str,
        policy: Politeness | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        cookies: dict[str, str] | None = None,
        proxies: ProxyPool | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
        name: str = "",
    ) -> None:
        self.name = name
        """The source's id, the ``source`` label of the fetch metrics."""
        self.policy = policy or Politeness()
        self.sleep = sleep
        self.limit = asyncio.Semaphore(self.policy.concurrency)
        bucket_clock = {"clock": clock} if clock else {}
        self.bucket = TokenBucket(
            self.policy.rate_per_s, self.policy.burst, sleep=sleep, **bucket_clock
        )
        self.proxies = proxies
        self.client_options: dict[str, Any] = {
            "base_url": base_url,
            "timeout": self.policy.timeout_s,
            "limits": httpx.Limits(max_connections=self.policy.concurrency),
            "headers": dict(HEADERS),  # this fetcher's own: callers may add to it
            "cookies": cookies,
            "follow_redirects": False,
        }
        self.transport = transport
        self.clients: dict[str | None, httpx.AsyncClient] = {}
        self.session: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str:
        return str(self.client_options["base_url"])

    def url_of(self, path: str) -> str:
        return url_of(self.base_url, path)

    def _client(self, proxy: str | None) -> httpx.AsyncClient:
        if proxy not in self.clients:
            options = {"transport": self.transport} if proxy is None else {"proxy": proxy}
            self.clients[proxy] = httpx.AsyncClient(
                verify=tls_context(), **options, **self.client_options
            )
        return self.clients[proxy]

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.policy.concurrency, ssl=tls_context()),
                headers=self.client_options["headers"],
                cookies=self.client_options["cookies"],
                cookie_jar=aiohttp.CookieJar(unsafe=True),  # the simulator is an IP address
                timeout=aiohttp.ClientTimeout(total=None),  # the deadline is the chain's
            )
        return self.session

    async def _send(
        self, proxy: str | None, method: str, url: str, params: dict[str, Any] | None, body: Any
    ) -> Answer:
        if proxy is not None or self.transport is not None:
            response = await self._client(proxy).request(method, url, params=params, json=body)
            return Answer.of_httpx(response)
        target = self.url_of(url)
        if params:
            target += ("&" if "?" in target else "?") + str(httpx.QueryParams(params))
        options: dict[str, Any] = {}
        if body is not None:
            options = {"data": json_bytes(body), "headers": {"Content-Type": "application/json"}}
        async with self._session().request(
            method, URL(target, encoded=True), allow_redirects=False, **options
        ) as answer:
            content = await answer.read()
        return Answer(method, answer.url.path, answer.status, answer.headers, content)

    async def get_json(self, url: str, *, params: dict[str, Any] | None = None) -> Any:
        return await self._request("GET", url, _json_body_of, params=params)

    async def post_json(self, url: str, *, json_body: Any) -> Any:
        return await self._request("POST", url, _json_body_of, json_body=json_body)

    async def get_text(self, url: str, *, params: dict[str, Any] | None = None) -> str:
        text: str = await self._request("GET", url, _text_of, params=params)
        return text

    async def _request(
        self,
        method: str,
        url: str,
        parse: Callable[[Answer], Any],
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        for attempt in range(self.policy.retries + 1):
            try:
                return parse(await self._once(method, url, params=params, json_body=json_body))
            except RetryableError as exc:
                if attempt >= self.policy.retries:
                    raise
                await self._back_off(attempt, exc)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self, method: str, url: str, *, params: dict[str, Any] | None, json_body: Any
    ) -> Answer:
        """One request; through a proxy, a dead proxy is evicted and the next one tried."""
        while True:
            proxy = self.proxies.pick() if self.proxies else None
            async with self.limit:
                await self.bucket.take()
                clock = asyncio.get_running_loop().time
                started = clock()
                try:
                    async with asyncio.timeout(self.policy.timeout_s):
                        response = await self._send(proxy, method, url, params, json_body)
                except TimeoutError as exc:
                    metrics.fetched(self.name, FetchTimeout.state, clock() - started)
                    raise FetchTimeout(
                        f"{method} {url}: no answer in {self.policy.timeout_s}s"
                    ) from exc
                except httpx.ProxyError as exc:
                    if self.proxies is None or proxy is None:
                        raise FetchTimeout(f"{method} {url}: {exc}") from exc
                    self.proxies.evict(proxy, f"{type(exc).__name__}: {exc}")
                    continue
                except (
                    httpx.TimeoutException,
                    httpx.NetworkError,
                    httpx.RemoteProtocolError,
                    *DROPPED,
                ) as exc:
                    metrics.fetched(self.name, FetchTimeout.state, clock() - started)
                    raise FetchTimeout(f"{method} {url}: {type(exc).__name__} {exc}") from exc
            took = clock() - started
            if self.proxies is not None and proxy is not None and (why := refusal(response)):
                metrics.fetched(self.name, "proxy_refused", took)
                self.proxies.evict(proxy, why)
                continue
            try:
                check_response(response)
            except CrawlError as exc:
                metrics.fetched(self.name, exc.state, took)
                raise
            metrics.fetched(self.name, "ok", took)
            return response

    async def _back_off(self, attempt: int, error: RetryableError) -> None:
        retry_after = error.retry_after if isinstance(error, RateLimited) else None
        if retry_after is not None and retry_after > self.policy.retry_after_max_s:
            raise error
        delay = backoff_delay(self.policy, attempt, retry_after)
        await self.sleep(delay)

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        if self.session is not None:
            await self.session.close()

    async def __aenter__(self) -> HttpFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _json_body_of(answer: Answer) -> Any:
    try:
        body = json.loads(answer.content)
    except ValueError as exc:
        raise MalformedResponse(f"{answer.where}: not JSON ({exc})") from None
    check_json(body, answer.where)
    return body


def _text_of(answer: Answer) -> str:
    return answer.text
