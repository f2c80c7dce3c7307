"""What the verifier looks up before ruling on a lead, and the follow-up verdict.

The rules are pure functions of a lead and this context, so they are tested without a
store. ``gather`` looks up one lead's context (leads of the district confirmed within the
duplicate window); ``Nearby`` reads those of a batch's districts once and keeps them as
the store would hold them while the batch records its verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from verifier.rules import Context, VerifierConfig, decided_utc
from xianban.records import Lead, Verdict, stable_id, utcnow
from xianban.store import Store
from xianban.store.listing import confirmed_in_districts, confirmed_near

NEAR_LIMIT = 200
"""Confirmations a lead's context holds at most (the oldest first)."""


async def gather(store: Store, lead: Lead, cfg: VerifierConfig) -> Context:
    now = utcnow()
    rule = cfg.rules.duplicate_open_case
    if not rule.enabled or lead.geo.district is None:
        return Context(now=now)
    # the district's confirmations in the window: the rule looks for the same problem at
    # the same place, or the same text (a repost filed under another category)
    near = await confirmed_near(
        store,
        category=None,
        district=lead.geo.district,
        street=None,
        since=now - timedelta(hours=rule.window_hours),
        exclude_cluster=lead.cluster_id,
        limit=NEAR_LIMIT,
    )
    return Context(now=now, near=tuple(near))


class Nearby:
    """The contexts of a batch's leads from one read: per district, the oldest
    confirmations in the window (each cluster's latest verdict), enough of them that
    every lead's ``NEAR_LIMIT`` are among them after the batch replaced up to one per
    lead; the batch's verdicts are applied as they are recorded. A lead whose context
    the list cannot vouch for (entries aged out of the window since the read) is left
    to ``gather``."""

    def __init__(
        self,
        store: Store,
        cfg: VerifierConfig,
        leads: int,
        known: Mapping[str, Verdict] | None = None,
    ) -> None:
        self.store = store
        self.cfg = cfg
        self.limit = NEAR_LIMIT + leads + 1
        self.known = known
        """Verdicts read before (by id), not decoded again."""
        self.lists: dict[str, list[Verdict]] = {}
        self.whole: set[str] = set()
        """Districts whose list is every confirmation in the window, not a prefix."""
        self.fetched: dict[str, list[Verdict]] = {}
        """The lists as read, before this batch's verdicts."""
        self.ids: set[str] = set()
        """The verdict ids the lists hold."""
        self.holding: dict[str, set[str]] = {}
        """Cluster id -> the districts whose list holds one of its verdicts (scanning
        every list for each recorded verdict was a fifth of the verifier's batch)."""

    async def read(self, leads: Iterable[Lead]) -> None:
        rule = self.cfg.rules.duplicate_open_case
        if not rule.enabled:
            return
        districts = {lead.geo.district for lead in leads if lead.geo.district is not None}
        since = utcnow() - timedelta(hours=rule.window_hours)
        self.lists = await confirmed_in_districts(
            self.store, sorted(districts), since=since, limit=self.limit, known=self.known
        )
        self.fetched = {d: list(found) for d, found in self.lists.items()}
        self.whole = {d for d, found in self.lists.items() if len(found) < self.limit}
        self.ids = {v.verdict_id for found in self.lists.values() for v in found}
        self.holding = {}
        for district, found in self.lists.items():
            for v in found:
                self.holding.setdefault(v.cluster_id, set()).add(district)

    def context(self, lead: Lead) -> Context | None:
        """The lead's context, or None when the store must be asked (``gather``)."""
        now = utcnow()
        rule = self.cfg.rules.duplicate_open_case
        district = lead.geo.district
        if not rule.enabled or district is None:
            return Context(now=now)
        since = now - timedelta(hours=rule.window_hours)
        near = [
            v
            for v in self.lists.get(district, ())
            if v.cluster_id != lead.cluster_id and decided_utc(v) >= since
        ]
        if len(near) < NEAR_LIMIT and district not in self.whole:
            return None
        return Context(now=now, near=tuple(near[:NEAR_LIMIT]))

    def held(self) -> dict[str, Verdict]:
        """The verdicts read, by id (as stored: not this batch's, which a verdict stored
        before under the same id may differ from), for the next batch's read."""
        return {v.verdict_id: v for found in self.fetched.values() for v in found}

    def recorded(self, verdict: Verdict) -> None:
        """``verdict`` is its cluster's latest now: the cluster's confirmation leaves the
        lists, and the verdict joins its district's when it is a confirmation of the
        cluster's own case (the first, or a follow-up: ``confirmed_near``). A verdict
        the lists hold already was stored before (a replay): nothing changes."""
        if verdict.verdict_id in self.ids:
            return
        for held in self.holding.pop(verdict.cluster_id, set()):
            found = self.lists[held]
            self.ids.difference_update(
                v.verdict_id for v in found if v.cluster_id == verdict.cluster_id
            )
            found[:] = [v for v in found if v.cluster_id != verdict.cluster_id]
        district = verdict.lead.geo.district
        if verdict.confirms_own_case() and district is not None and district in self.lists:
            self.lists[district].append(verdict)
            self.ids.add(verdict.verdict_id)
            self.holding.setdefault(verdict.cluster_id, set()).add(district)


def follow_up(lead: Lead, previous: Verdict) -> Verdict:
    """Another report in a cluster already confirmed: it joins the same case."""
    target = previous.duplicate_of or previous.cluster_id
    return Verdict(
        verdict_id=stable_id(lead.cluster_id, lead.lead_id, "follow_up"),
        cluster_id=lead.cluster_id,
        lead=lead,
        decision="confirmed",
        by="rule:duplicate_open_case",
        reason=f"已确认线索簇的新报告，作为佐证并入线索 {target} 的工单",
        duplicate_of=target,
    )
