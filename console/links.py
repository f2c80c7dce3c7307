"""Links to the posts on their platforms: absolute, unmasked, and only ever http or https.

Some adapters keep the path the platform printed (``/thread-88002992-1-1.html`` on a
forum, ``/tousu/api/complaints/17380003534`` on the complaint site); the console joins it
to the source's base URL from ``configs/sources.yaml``, so the link opens the platform,
not a page of the console. A URL is an identifier, not text: masking a digit run in it
would break it. Anything that is not http(s) after joining (``javascript:``, ``data:``)
is shown as text and never becomes a link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import structlog

from xianban.errors import ConfigError
from xianban.settings import Settings

log = structlog.get_logger(__name__)
SAFE_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True)
class Link:
    """What a template shows for a URL: ``href`` only when it is safe to follow."""

    text: str
    href: str | None


def absolute(url: str, base: str | None) -> str:
    """``url`` made absolute against the source's ``base`` (when it is relative)."""
    url = url.strip()
    if urlsplit(url).scheme or url.startswith("//"):
        return urljoin("https:", url) if url.startswith("//") else url
    if not base:
        return url
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    base_path = parts.path.rstrip("/")
    if url.startswith("/"):
        if base_path and (url == base_path or url.startswith(base_path + "/")):
            return origin + url  # the platform printed a path from its own root
        return origin + base_path + url
    return urljoin(origin + base_path + "/", url)


def link(url: str | None, base: str | None = None) -> Link | None:
    if not url:
        return None
    full = absolute(url, base)
    parts = urlsplit(full)
    if parts.scheme.lower() in SAFE_SCHEMES and parts.netloc:
        return Link(text=full, href=full)
    return Link(text=full, href=None)


class SourceBases:
    """Each source's base URL (``{sim}`` resolved), read once from configs/sources.yaml."""

    def __init__(self, bases: Mapping[str, str]) -> None:
        self._bases = dict(bases)

    @classmethod
    def from_settings(cls, settings: Settings) -> SourceBases:
        try:
            from crawlers.sources import load_sources

            sources = load_sources(settings.configs_dir)
        except (ImportError, ConfigError) as exc:
            log.warning("console.sources_unavailable", error=str(exc))
            return cls({})
        bases: dict[str, str] = {}
        for source in sources.values():
            try:
                bases[source.id] = source.url(settings)
            except ConfigError:
                continue  # a {sim} source while no simulator is configured
        return cls(bases)

    def link(self, url: str | None, source: str | None) -> Link | None:
        return link(url, self._bases.get(source or ""))
