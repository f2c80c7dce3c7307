"""The clustering window in memory: the leads a near-duplicate may join, without the store.

It answers exactly what ``Store.recent_leads(since=..., limit=lookback_limit,
category=...)`` answers (the ``limit`` newest leads of a category by found time, then
those found at or after ``since``), filtered the way clustering filters them (same
district, posted within the window, SimHash within ``max_hamming``), with each lead's
SimHash computed once instead of once per post; and, for near-identical copies, what the
same query without a category answers (``copies``). It holds per category the newest
``limit`` leads plus some slack, indexed by district (and all of them together, the
newest ``limit`` of any category being among them); it is filled from the store when a
worker's partitions change and topped up with the leads other workers stored since.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from leadfinder.cluster import bare, hamming, near_identical, simhash_of_bare
from xianban.records import Category, Geo, Lead

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
    """What clustering needs of a lead; and what a copy the model scored below the lead
    threshold takes from it (category, place, urgency, score)."""

    lead_id: str
    cluster_id: str
    category: Category
    district: str | None
    posted_at: datetime | None
    found_at: datetime
    chars: str
    """``cluster.bare`` of the lead's text: what a copy is compared by."""
    simhash: int
    geo: Geo
    urgent: bool
    urgency_triggers: list[str]
    score: float
    order: tuple[int, str]
    """Newest first, then by lead id: the store's ``found_at DESC, lead_id`` (made once:
    each lead added is ordered in four lists, and taken out of them again)."""

    @classmethod
    def of(cls, lead: Lead, chars: str | None = None, hashed: int | None = None) -> Seen:
        """``chars``, ``hashed``: ``bare(lead.text)`` and its SimHash when the caller has
        them already."""
        chars = bare(lead.text) if chars is None else chars
        return cls(
            lead_id=lead.lead_id,
            cluster_id=lead.cluster_id,
            category=lead.category,
            district=lead.geo.district,
            posted_at=lead.posted_at,
            found_at=lead.found_at,
            chars=chars,
            simhash=simhash_of_bare(chars) if hashed is None else hashed,
            geo=lead.geo,
            urgent=lead.urgent,
            urgency_triggers=lead.urgency_triggers,
            score=lead.score,
            order=(-micros(lead.found_at), lead.lead_id),
        )


def same_or_unknown(a: str | None, b: str | None) -> bool:
    """Districts a copy may be in: its original's, or either is not known (a copy pasted
    without its place tag, or a place the resolver only found in one)."""
    return a is None or b is None or a == b


SHORT = 48
"""Below this many leads a reach's SimHash test runs in Python: numpy's calls cost more
than the loop over so few."""


@dataclass
class _Leads:
    """One district's kept leads (or every district's, for the window's ``copies``),
    newest first, with their order keys and SimHashes in lists of their own, the SimHashes
    also in a numpy array: a reach cuts the list where the store's query stops with two
    bisects and compares SimHashes first, the test few leads pass (scanning every lead
    through ``Reach.keeps`` was the leadfinder stage's largest item, and the SimHash test
    over a district's leads in Python, one ``bit_count`` a lead, the window's largest)."""

    orders: list[tuple[int, str]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    hashes: list[int] = field(default_factory=list)
    packed: np.ndarray = field(default_factory=lambda: np.zeros(64, dtype=np.uint64))
    """The SimHashes in its first ``len(orders)`` places, shifted in place (``np.insert``
    makes a new array and cost more than the scan saves)."""

    def insert(self, order: tuple[int, str], seen: Seen) -> int:
        i = bisect.bisect_left(self.orders, order)
        self.orders.insert(i, order)
        self.seen.insert(i, seen)
        self.hashes.insert(i, seen.simhash)
        n = len(self.orders)
        if n > len(self.packed):
            self.packed = np.concatenate([self.packed, np.zeros_like(self.packed)])
        packed = self.packed
        packed[i + 1 : n] = packed[i : n - 1]
        packed[i] = seen.simhash
        return i

    def discard(self, order: tuple[int, str], lead_id: str) -> int | None:
        i = bisect.bisect_left(self.orders, order)
        while i < len(self.orders) and self.orders[i] == order:
            if self.seen[i].lead_id == lead_id:
                del self.orders[i], self.seen[i], self.hashes[i]
                n = len(self.orders)
                self.packed[i:n] = self.packed[i + 1 : n + 1]
                return i
            i += 1
        return None

    def close(self, end: int, mine: int, most: int) -> list[Seen]:
        """Of the first ``end``, those within ``most`` bits of ``mine``, in order."""
        seen = self.seen
        if end < SHORT:
            hashes = self.hashes
            return [seen[i] for i in range(end) if (hashes[i] ^ mine).bit_count() <= most]
        apart = np.bitwise_count(self.packed[:end] ^ np.uint64(mine))
        return [seen[i] for i in np.flatnonzero(apart <= most).tolist()]


@dataclass
class _Category:
    orders: list[tuple[int, str]] = field(default_factory=list)
    """Every kept lead's order key, sorted (newest first)."""
    by_district: dict[str | None, _Leads] = field(default_factory=dict)
    whole: _Leads | None = None
    """Every kept lead, whatever its district (kept for the window's ``copies``)."""

    def insert(self, seen: Seen) -> None:
        order = seen.order
        bisect.insort(self.orders, order)
        leads = self.by_district.get(seen.district)
        if leads is None:
            leads = self.by_district[seen.district] = _Leads()
        leads.insert(order, seen)
        if self.whole is not None:
            self.whole.insert(order, seen)

    def discard(self, seen: Seen) -> None:
        order = seen.order
        i = bisect.bisect_left(self.orders, order)
        if i < len(self.orders) and self.orders[i] == order:
            del self.orders[i]
        self.by_district[seen.district].discard(order, seen.lead_id)
        if self.whole is not None:
            self.whole.discard(order, seen.lead_id)

    def boundary(self, limit: int) -> tuple[int, str] | None:
        """The ``limit``-th newest: what the store's ``LIMIT`` stops at."""
        return self.orders[limit - 1] if len(self.orders) > limit else None


class ClusterWindow:
    def __init__(self, *, limit: int, slack: int = SLACK) -> None:
        self.limit = limit
        self.slack = slack
        self._by_id: dict[str, Seen] = {}
        self._categories: dict[str, _Category] = {}
        self._all = _Category(whole=_Leads())
        """Every kept lead whatever its category: where copies are looked for."""

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, lead_id: object) -> bool:
        return lead_id in self._by_id

    def get(self, lead_id: str) -> Seen | None:
        return self._by_id.get(lead_id)

    def clear(self) -> None:
        self._by_id.clear()
        self._categories.clear()
        self._all = _Category(whole=_Leads())

    def knows(self, lead_id: str, found_at: datetime) -> bool:
        """The window holds this lead as it was found at ``found_at`` (or dropped it as
        too old for its category)."""
        seen = self._by_id.get(lead_id)
        return seen is not None and seen.found_at == found_at

    def add(self, lead: Lead, chars: str | None = None, hashed: int | None = None) -> Seen:
        """Keep a lead (replacing an earlier version of it); returns what is kept."""
        seen = Seen.of(lead, chars, hashed)
        self.add_seen(seen)
        return seen

    def add_all(self, leads: Iterable[Lead]) -> None:
        for lead in leads:
            self.add(lead)

    def add_seen(self, seen: Seen) -> None:
        self.remove(seen.lead_id)
        cat = self._categories.setdefault(seen.category, _Category())
        cat.insert(seen)
        self._all.insert(seen)
        self._by_id[seen.lead_id] = seen
        while len(cat.orders) > self.limit + self.slack:
            oldest = cat.orders[-1]
            self.remove(oldest[1])

    def remove(self, lead_id: str) -> None:
        seen = self._by_id.pop(lead_id, None)
        if seen is None:
            return
        self._categories[seen.category].discard(seen)
        self._all.discard(seen)

    def near(self, *, category: str, district: str | None, reach: Reach) -> list[Seen]:
        """The leads clustering would pick from the store: among the ``limit`` newest of
        the category found at or after ``reach.since``, those of the same district that
        ``reach`` keeps."""
        cat = self._categories.get(category)
        if cat is None:
            return []
        leads = cat.by_district.get(district)
        return [] if leads is None else reach.over(leads, cat.boundary(self.limit))

    def copies(self, *, chars: str, district: str | None, reach: Reach) -> list[Seen]:
        """The near-identical copies clustering would pick from the store whatever their
        category: among the ``limit`` newest leads found at or after ``reach.since``,
        those whose district is this one or unknown (any, when this one is unknown) that
        ``reach`` keeps and whose text ``chars`` is ``near_identical`` to."""
        everything = self._all
        boundary = everything.boundary(self.limit)
        if district is None:
            assert everything.whole is not None
            lists: list[_Leads] = [everything.whole]
        else:
            pair = (everything.by_district.get(district), everything.by_district.get(None))
            lists = [leads for leads in pair if leads is not None]
        return [
            seen
            for leads in lists
            for seen in reach.over(leads, boundary)
            if near_identical(seen.chars, chars)
        ]


@dataclass(frozen=True, slots=True)
class Reach:
    """What a near-duplicate of a post is, besides its category and place: found at or
    after ``since``, posted within ``window`` of ``when``, SimHash within
    ``max_hamming`` of ``mine``, and not ``exclude`` (the post's own lead)."""

    since: datetime
    when: datetime
    window: timedelta
    mine: int
    max_hamming: int
    exclude: str
    after: tuple[int, str] = field(init=False, repr=False, compare=False)
    """The order key past every lead found at or after ``since`` (``over``'s bisect;
    worked out once, not for each list a post is compared with)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "after", (-micros(self.since) + 1, ""))

    def keeps(self, lead_id: str, posted_at: datetime | None, hashed: int) -> bool:
        return (
            lead_id != self.exclude
            and (posted_at is None or abs(posted_at - self.when) <= self.window)
            and hamming(hashed, self.mine) <= self.max_hamming
        )

    def over(self, leads: _Leads, boundary: tuple[int, str] | None) -> list[Seen]:
        """One district's leads (newest first) as far as the store's query reaches
        (``boundary``: the ``limit``-th newest; and found at or after ``since``), those
        this reach keeps, newest first."""
        orders = leads.orders
        # The first found before ``since``: its order's first part is above -micros(since).
        end = bisect.bisect_left(orders, self.after)
        if boundary is not None:
            end = min(end, bisect.bisect_right(orders, boundary))
        close = leads.close(end, self.mine, self.max_hamming)
        return [s for s in close if self.keeps(s.lead_id, s.posted_at, s.simhash)]
