"""类案: cases that are one recurring problem, to be fixed at the cause instead of one by one.

A group is the cases sharing a category and a place (the street, or the district when the
street is not known), or, for consumer complaints, the merchant: a named merchant across
the city, an unnamed kind of shop (``某健身房``) within its district. Groups are ranked by
how many cases they had in the period, then by growth over the period before; a group
needs at least two cases over the two periods, one of them in this period.

What people do about a group (tags, the unit it is assigned to, its status, who follows
it) is kept by its ``group_id`` in ``xianban.store.similar_cases``; a group's history is
every case of the last ``LOOKBACK`` that ``group_key`` puts in it, so a case opened after
someone last looked shows there as new without anything being written when it opens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reports.merchants import merchant_in
from xianban.labels import CATEGORY_LABELS
from xianban.records import stable_id
from xianban.store import Store
from xianban.store.reporting import CaseFact, cases_opened

MERCHANT_CATEGORIES = frozenset({"consumer_rights"})
MIN_CASES = 2
LOOKBACK = timedelta(days=90)
"""How far back a group's page (and a follower's 新增 count) looks for its cases."""
GOVERNANCE_LABELS: dict[str, str] = {"open": "待处置", "following": "跟进中", "governed": "已治理"}


@dataclass(frozen=True, slots=True)
class GroupKey:
    group_id: str
    kind: str
    """``place`` or ``merchant``."""
    category: str
    label: str


@dataclass(slots=True)
class SimilarGroup:
    key: GroupKey
    current: list[CaseFact] = field(default_factory=list)
    previous: list[CaseFact] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.current)

    @property
    def growth(self) -> int:
        return len(self.current) - len(self.previous)

    @property
    def overdue(self) -> int:
        return sum(1 for c in self.current if c.case_id in self._overdue)

    _overdue: frozenset[str] = frozenset()


def case_text(case: CaseFact) -> str:
    """What the people wrote (the description's first part, before our own notes)."""
    return case.description.split("\n\n", 1)[0]


def group_key(case: CaseFact) -> GroupKey | None:
    category = CATEGORY_LABELS.get(case.category, case.category)
    if case.category in MERCHANT_CATEGORIES:
        merchant = merchant_in(case_text(case))
        if merchant is not None and (merchant.named or case.district):
            scope = "" if merchant.named else (case.district or "")
            return GroupKey(
                group_id=stable_id("similar", "merchant", case.category, scope, merchant.name),
                kind="merchant",
                category=case.category,
                label=f"{scope}{merchant.name} · {category}",
            )
    place = (case.district or "") + (case.street or "")
    if not place:
        return None
    return GroupKey(
        group_id=stable_id("similar", "place", case.category, place),
        kind="place",
        category=case.category,
        label=f"{place} · {category}",
    )


def similar_groups(
    current: Iterable[CaseFact],
    previous: Iterable[CaseFact],
    *,
    overdue: Iterable[str] = (),
    limit: int = 20,
) -> list[SimilarGroup]:
    """The period's 类案, largest first; each lists its cases of both periods."""
    groups: dict[str, SimilarGroup] = {}
    late = frozenset(overdue)
    for cases, this_period in ((current, True), (previous, False)):
        for case in cases:
            key = group_key(case)
            if key is None:
                continue
            group = groups.setdefault(key.group_id, SimilarGroup(key, _overdue=late))
            (group.current if this_period else group.previous).append(case)
    ranked = [
        g for g in groups.values() if g.current and len(g.current) + len(g.previous) >= MIN_CASES
    ]
    ranked.sort(key=lambda g: (-g.count, -g.growth, -len(g.previous), g.key.label))
    return ranked[:limit]


@dataclass(frozen=True, slots=True)
class GroupHistory:
    """A group's cases of the last ``LOOKBACK``, newest first (no minimum count)."""

    key: GroupKey
    cases: list[CaseFact]

    def opened_after(self, moment: datetime) -> list[CaseFact]:
        return [c for c in self.cases if c.opened_at > moment]


def histories(cases: Iterable[CaseFact]) -> dict[str, GroupHistory]:
    """Every group the cases form, by group id."""
    out: dict[str, GroupHistory] = {}
    for case in cases:
        key = group_key(case)
        if key is not None:
            out.setdefault(key.group_id, GroupHistory(key, [])).cases.append(case)
    for history in out.values():
        history.cases.sort(key=lambda c: (c.opened_at, c.case_id), reverse=True)
    return out


async def recent_histories(
    store: Store, *, now: datetime, category: str | None = None
) -> dict[str, GroupHistory]:
    """The groups of the cases opened in the ``LOOKBACK`` up to ``now`` (of one category)."""
    cases = await cases_opened(
        store, now - LOOKBACK, now + timedelta(microseconds=1), category=category
    )
    return histories(cases)
