"""The adapter seam: a platform adapter turns a crawl task into posts and the next cursor.

Adapters parse; they do not fetch. The runtime hands them a ``Fetcher`` (one pooled
client per source, with timeouts) so that politeness, retries and sessions live once,
outside every adapter (STYLE.md #2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from xianban.records import CrawlTask, Post


@dataclass(frozen=True, slots=True)
class Page:
    """One fetched page, parsed: its posts and where to continue (None: no more)."""

    posts: Sequence[Post]
    next_cursor: str | None


class Fetcher(Protocol):
    """What an adapter may ask for. The runtime's fetcher behind it applies politeness,
    retries, sessions and health detection; adapters never see a client."""

    async def get_json(self, url: str, *, params: dict[str, Any] | None = None) -> Any: ...

    async def get_text(self, url: str, *, params: dict[str, Any] | None = None) -> str: ...


class Adapter(Protocol):
    name: str

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        """Fetch and parse the page at ``cursor`` (None: the first page)."""
        ...


class HttpFetcher:
    """Plain HTTP with one pooled client per source."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def get_json(self, url: str, *, params: dict[str, Any] | None = None) -> Any:
        response = await self.client.get(url, params=params)
        response.raise_for_status()
        return response.json()

    async def get_text(self, url: str, *, params: dict[str, Any] | None = None) -> str:
        response = await self.client.get(url, params=params)
        response.raise_for_status()
        return response.text

    async def close(self) -> None:
        await self.client.aclose()
