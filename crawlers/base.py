"""The adapter seam: a platform adapter turns a crawl task into posts and the next cursor.

Adapters parse; they do not fetch. The runtime hands them a ``Fetcher`` (one pooled
client per source, with timeouts, politeness, retries and health detection) so that all
of that lives once, outside every adapter (STYLE.md #2). An adapter reports a refusal it
recognises in a body by raising the matching ``crawlers.errors`` class (``LayoutChanged``
when the page parses but not into the shape it knows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from crawlers.fetch import HttpFetcher
from xianban.records import CrawlTask, Post

__all__ = [
    "Adapter",
    "Fetcher",
    "HttpFetcher",
    "Page",
    "QrCode",
    "QrLoginAdapter",
    "SessionAdapter",
    "Window",
    "WindowedAdapter",
]


@dataclass(frozen=True, slots=True)
class Page:
    """One fetched page, parsed: its posts and where to continue (None: no more).

    ``total``: how many results the platform says match (before its result cap), when
    it says so; the runtime splits a time window whose total exceeds the source's cap.
    """

    posts: Sequence[Post]
    next_cursor: str | None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """A time window of a search, both ends inclusive (None: open)."""

    since: datetime | None = None
    until: datetime | None = None


class Fetcher(Protocol):
    """What an adapter may ask for. The runtime's fetcher behind it applies politeness,
    retries, sessions and health detection; adapters never see a client."""

    @property
    def base_url(self) -> str:
        """The source's base URL (``Source.url``): where relative request paths go."""
        ...

    def url_of(self, path: str) -> str:
        """The absolute URL a request for ``path`` goes to (for a post's link)."""
        ...

    async def get_json(self, url: str, *, params: dict[str, Any] | None = None) -> Any: ...

    async def get_text(self, url: str, *, params: dict[str, Any] | None = None) -> str: ...

    async def post_json(self, url: str, *, json_body: Any) -> Any: ...


class Adapter(Protocol):
    name: str

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        """Fetch and parse the page at ``cursor`` (None: the first page)."""
        ...


@runtime_checkable
class WindowedAdapter(Protocol):
    """An adapter whose platform filters by publication time: the runtime crawls it
    incrementally from a watermark and splits windows past the platform's result cap."""

    name: str

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page: ...

    async def window_page(
        self, task: CrawlTask, window: Window, cursor: str | None, fetch: Fetcher
    ) -> Page:
        """Like ``page``, restricted to posts published inside ``window``."""
        ...


@runtime_checkable
class SessionAdapter(Protocol):
    """An adapter of a login-walled platform: the runtime crawls it with the source's pool
    of accounts (``crawlers.sessions``), checking the login before each task."""

    name: str

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page: ...

    async def check_session(self, fetch: Fetcher) -> bool:
        """Whether the fetcher's cookie is still logged in (must not count as a use)."""
        ...


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR-code login in progress: ``url`` is what the code encodes for the phone app."""

    qr_id: str
    code: str
    url: str


@runtime_checkable
class QrLoginAdapter(Protocol):
    """An adapter whose platform logs in by QR code: an ops user scans it with the app,
    so a headless crawler gets a session without a browser (``xianban sources login``)."""

    name: str

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page: ...

    async def qr_create(self, fetch: Fetcher) -> QrCode: ...

    async def qr_poll(self, fetch: Fetcher, qr: QrCode) -> str | None:
        """The session token once the scan is confirmed; None while waiting."""
        ...
