"""The clustering window in memory: the leads a near-duplicate may join, without the store.

It answers exactly what ``Store.recent_leads(since=..., limit=lookback_limit,
category=...)`` answers (the ``limit`` newest leads of a category by found time, then
those found at or after ``since``), filtered the way clustering filters them (same
district, posted within the window, SimHash within ``max_hamming``), with each lead's
SimHash computed once instead of once per post. It holds per category the newest
``limit`` leads plus some slack, indexed by district; it is filled from the store when a
worker's partitions change and topped up with the leads other workers stored since.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from leadfinder.cluster import hamming, simhash
from xianban.records import Lead

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SLACK = 256
"""Leads kept beyond ``limit`` per category, so a lead found again (moved to the front)
or a late-stored lead of another worker does not push out one the store would still
return."""


def micros(at: datetime) -> int:
    """Exact microseconds since the epoch (a float would round them)."""
    return (at - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Seen:
    """What clustering needs of a lead."""

    lead_id: str
    cluster_id: str
    category: str
    district: str | None
    posted_at: datetime | None
    found_at: datetime
    simhash: int

    @property
    def order(self) -> tuple[int, str]:
        """Newest first, then by lead id: the store's ``found_at DESC, lead_id``."""
        return (-micros(self.found_at), self.lead_id)

    @classmethod
    def of(cls, lead: Lead, hashed: int | None = None) -> Seen:
        """``hashed``: the SimHash of ``lead.text`` when the caller has it already."""
        return cls(
            lead_id=lead.lead_id,
            cluster_id=lead.cluster_id,
            category=lead.category,
            district=lead.geo.district,
            posted_at=lead.posted_at,
            found_at=lead.found_at,
            simhash=simhash(lead.text) if hashed is None else hashed,
        )


@dataclass
class _Category:
    orders: list[tuple[int, str]] = field(default_factory=list)
    """Every kept lead's order key, sorted (newest first)."""
    by_district: dict[str | None, list[tuple[tuple[int, str], Seen]]] = field(default_factory=dict)


class ClusterWindow:
    def __init__(self, *, limit: int, slack: int = SLACK) -> None:
        self.limit = limit
        self.slack = slack
        self._by_id: dict[str, Seen] = {}
        self._categories: dict[str, _Category] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, lead_id: object) -> bool:
        return lead_id in self._by_id

    def get(self, lead_id: str) -> Seen | None:
        return self._by_id.get(lead_id)

    def clear(self) -> None:
        self._by_id.clear()
        self._categories.clear()

    def knows(self, lead_id: str, found_at: datetime) -> bool:
        """The window holds this lead as it was found at ``found_at`` (or dropped it as
        too old for its category)."""
        seen = self._by_id.get(lead_id)
        return seen is not None and seen.found_at == found_at

    def add(self, lead: Lead, hashed: int | None = None) -> Seen:
        """Keep a lead (replacing an earlier version of it); returns what is kept."""
        seen = Seen.of(lead, hashed)
        self.add_seen(seen)
        return seen

    def add_all(self, leads: Iterable[Lead]) -> None:
        for lead in leads:
            self.add(lead)

    def add_seen(self, seen: Seen) -> None:
        self.remove(seen.lead_id)
        cat = self._categories.setdefault(seen.category, _Category())
        order = seen.order
        bisect.insort(cat.orders, order)
        bisect.insort(cat.by_district.setdefault(seen.district, []), (order, seen))
        self._by_id[seen.lead_id] = seen
        while len(cat.orders) > self.limit + self.slack:
            oldest = cat.orders[-1]
            self.remove(oldest[1])

    def remove(self, lead_id: str) -> None:
        seen = self._by_id.pop(lead_id, None)
        if seen is None:
            return
        cat = self._categories[seen.category]
        order = seen.order
        i = bisect.bisect_left(cat.orders, order)
        if i < len(cat.orders) and cat.orders[i] == order:
            del cat.orders[i]
        entries = cat.by_district[seen.district]
        j = bisect.bisect_left(entries, (order,))
        while j < len(entries) and entries[j][0] == order:
            if entries[j][1].lead_id == lead_id:
                del entries[j]
                break
            j += 1

    def near(
        self,
        *,
        category: str,
        district: str | None,
        since: datetime,
        when: datetime,
        window: timedelta,
        mine: int,
        max_hamming: int,
        exclude: str,
    ) -> list[Seen]:
        """The leads clustering would pick from the store: among the ``limit`` newest of
        the category found at or after ``since``, those of the same district posted
        within ``window`` of ``when`` whose SimHash is within ``max_hamming`` of
        ``mine``, other than ``exclude`` (the lead itself)."""
        cat = self._categories.get(category)
        if cat is None:
            return []
        entries = cat.by_district.get(district, [])
        # The limit-th newest of the category bounds what the store would return.
        boundary = cat.orders[self.limit - 1] if len(cat.orders) > self.limit else None
        oldest_allowed = -micros(since)
        out = []
        for order, seen in entries:
            if boundary is not None and order > boundary:
                break
            if order[0] > oldest_allowed:  # found before ``since``: so is everything after
                break
            if seen.lead_id == exclude:
                continue
            if seen.posted_at is not None and abs(seen.posted_at - when) > window:
                continue
            if hamming(seen.simhash, mine) <= max_hamming:
                out.append(seen)
        return out
