"""Paging of search results the way platforms do it, including their quirks.

Real platforms stop serving a query after a few hundred results however many match, so
``cap`` cuts the list before paging; a crawler that wants everything must split the query
by time window. The duplicates fault shifts each page back by ``overlap`` items, so pages
repeat the end of the previous one, as feeds that insert new posts at the top do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sim.platforms.items import Item


@dataclass(frozen=True)
class Page:
    items: list[Item]
    has_more: bool


def paginate(items: Sequence[Item], page: int, size: int, *, cap: int, overlap: int = 0) -> Page:
    """Page ``page`` (1-based) of ``items`` cut at ``cap``; later pages overlap earlier ones."""
    reachable = items[:cap]
    start = (page - 1) * size
    end = start + size
    first = max(0, start - overlap) if page > 1 else 0
    return Page(list(reachable[first:end]), end < len(reachable))


def parse_int(raw: str | None, name: str, default: int, *, minimum: int = 1) -> int:
    """A page number, offset or limit from a query parameter; ``ValueError`` names it."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"参数 {name} 应为不小于 {minimum} 的整数，收到 {raw!r}")
    return value


def parse_epoch(raw: str | None, name: str) -> datetime | None:
    """Unix seconds from a query parameter, the unit time-window filters use."""
    if raw is None or raw == "":
        return None
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"参数 {name} 应为 Unix 时间戳（秒），收到 {raw!r}") from None
