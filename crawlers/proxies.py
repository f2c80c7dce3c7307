"""A source's forward proxies: round-robin over the live ones, dead ones evicted.

Proxies expire (a paid pool's lease ends, a residential exit goes away). A proxy that
refuses us (407), cannot be reached, or answers a gateway error naming itself is evicted
from the pool on the spot and the request goes out again through the next one, without
counting as a retry of the platform. ``check`` probes every proxy through a cheap URL so
a health check can evict dead ones before a crawl meets them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from crawlers.answer import Answer
from crawlers.errors import RetryableError

PROXY_MARKERS = ("代理", "proxy", "Proxy")


class NoLiveProxy(RetryableError):
    state = "no_proxy"


@dataclass
class ProxyPool:
    urls: list[str]
    evicted: dict[str, str] = field(default_factory=dict)
    """Evicted proxy URL -> why."""

    def __post_init__(self) -> None:
        self._turn = itertools.count()

    @property
    def live(self) -> list[str]:
        return [u for u in self.urls if u not in self.evicted]

    def pick(self) -> str:
        live = self.live
        if not live:
            raise NoLiveProxy(f"all {len(self.urls)} proxies evicted: {self.evicted}")
        return live[next(self._turn) % len(live)]

    def evict(self, url: str, why: str) -> None:
        self.evicted[url] = why

    def add(self, urls: Iterable[str]) -> None:
        """Fresh proxies from ops or a provider; a re-added URL is live again."""
        for url in urls:
            self.evicted.pop(url, None)
            if url not in self.urls:
                self.urls.append(url)

    async def check(self, probe_url: str, *, timeout_s: float = 5.0) -> dict[str, bool]:
        """Probe every live proxy; evict those that fail. Returns proxy -> alive."""
        alive: dict[str, bool] = {}
        for url in self.live:
            async with httpx.AsyncClient(proxy=url, timeout=timeout_s) as client:
                try:
                    why = refusal(Answer.of_httpx(await client.get(probe_url)))
                except httpx.HTTPError as exc:
                    why = f"{type(exc).__name__}: {exc}"
            if why:
                self.evict(url, why)
            alive[url] = not why
        return alive


def refusal(response: Answer) -> str | None:
    """Why a response shows the proxy (not the platform) failed, or None."""
    if response.status_code == 407:
        return "407 proxy authentication refused"
    if response.status_code in (502, 503) and any(m in response.text for m in PROXY_MARKERS):
        return f"{response.status_code} {response.text[:60].strip()}"
    return None
