"""Verifier: rules decide the clear leads; the rest wait in the analysts' queue.

A cluster is decided once: a new lead for a confirmed cluster is emitted as corroboration
for its case (``duplicate_of``), one for a rejected cluster is dropped; a cluster in review is
re-examined as corroboration grows, so a second report can confirm it, unless an analyst
has taken it (their correction of category or place must not be re-ruled on raw leads).
A lead delivered again (a replay after a crash between store and produce) re-emits the
verdict it got, since the first emission may have been lost; the case opener is
idempotent.

``handle_batch`` decides a poll's leads as ``handle`` would one by one: one read (each
cluster's latest verdict, which follow-ups are recorded already, and the confirmations of
the batch's districts the rules' context is taken from, ``Nearby``), the decisions in
memory in order, one write (leads and new verdicts). A lead whose context the batch's read
cannot give (rare: confirmations aging out of the window meanwhile) has it read from the
store after the verdicts decided so far are written, so it is what it would have been.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from verifier.context import Nearby, follow_up, gather
from verifier.rules import Ruling, VerifierConfig, load_config, rule_on
from xianban.records import Lead, Record, Verdict, stable_id
from xianban.stage import StageContext


def verdict_of(lead: Lead, ruling: Ruling) -> Verdict:
    """The verdict a rule gives: its id from cluster, lead and rule, so a replay is the same."""
    return Verdict(
        verdict_id=stable_id(lead.cluster_id, lead.lead_id, ruling.rule),
        cluster_id=lead.cluster_id,
        lead=lead,
        decision=ruling.decision,
        by=f"rule:{ruling.rule}",
        reason=ruling.reason,
        duplicate_of=ruling.duplicate_of,
    )


class VerifierStage:
    name = "verifier"
    input = Lead

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.cfg: VerifierConfig | None = None
        self.known: dict[str, Verdict] = {}
        """The confirmations the last batch read for its context, by id (``Nearby.held``)."""

    async def start(self) -> None:
        self.cfg = load_config(self.ctx.settings.configs_dir)

    async def handle(self, record: Lead) -> Sequence[Record]:
        assert self.cfg is not None, "start() first"
        store = self.ctx.store
        await store.upsert_lead(record)
        previous = await store.latest_verdict(record.cluster_id)
        if previous is not None:
            if previous.lead.lead_id == record.lead_id:
                return [previous]
            if previous.decision == "confirmed":
                return await self._follow_up(record, previous)
            if previous.decision != "needs_review" or previous.by.startswith("analyst:"):
                return []  # decided, or in an analyst's hands: rules do not overrule them
        ruling = rule_on(record, self.cfg, await gather(store, record, self.cfg))
        if previous is not None and previous.decision == ruling.decision:
            return []
        verdict = verdict_of(record, ruling)
        await store.record_verdict(verdict)
        return [verdict]

    async def _follow_up(self, record: Lead, previous: Verdict) -> Sequence[Record]:
        """A new report in a cluster already confirmed: corroboration for its case."""
        verdict = follow_up(record, previous)
        if await self.ctx.store.record_verdict(verdict):
            return [verdict]
        return []

    async def handle_batch(self, records: Sequence[Lead]) -> list[Sequence[Record]]:
        assert self.cfg is not None, "start() first"
        store = self.ctx.store
        follow_ups = {stable_id(r.cluster_id, r.lead_id, "follow_up") for r in records}
        latest, stored = await store.verdicts_for(r.cluster_id for r in records)
        nearby = Nearby(store, self.cfg, len(records), self.known)
        await nearby.read(records)
        remaining = Counter(r.cluster_id for r in records)
        batch = _Batch(self, latest, stored & follow_ups, stored, remaining, nearby)
        out = [await batch.decide(record) for record in records]
        await store.store_leads_and_verdicts(records, batch.unwritten())
        self.known = nearby.held()
        return out

    async def close(self) -> None:
        return None


class _Batch:
    """The store as ``handle`` would find it lead by lead: latest verdicts and recorded
    verdict ids, with this batch's verdicts applied in order."""

    def __init__(
        self,
        stage: VerifierStage,
        latest: dict[str, Verdict],
        recorded: set[str],
        stored: set[str],
        remaining: Counter[str],
        nearby: Nearby,
    ) -> None:
        self.stage = stage
        self.nearby = nearby
        self.latest = latest
        self.recorded = recorded
        """Verdict ids known to be stored (before the batch, or recorded by it)."""
        self.stored = stored
        """The ids of every verdict of the batch's clusters stored before it."""
        self.remaining = remaining
        """Leads of each cluster still to come in this batch."""
        self.verdicts: list[Verdict] = []
        self.written = 0
        """How many of ``verdicts`` are in the store already (written for a ``gather``)."""

    def unwritten(self) -> list[Verdict]:
        return self.verdicts[self.written :]

    async def decide(self, record: Lead) -> Sequence[Record]:
        assert self.stage.cfg is not None
        self.remaining[record.cluster_id] -= 1
        previous = self.latest.get(record.cluster_id)
        if previous is not None:
            if previous.lead.lead_id == record.lead_id:
                return [previous]
            if previous.decision == "confirmed":
                verdict = follow_up(record, previous)
                if verdict.verdict_id in self.recorded:
                    return []
                self._recorded(verdict)
                return [verdict]
            if previous.decision != "needs_review" or previous.by.startswith("analyst:"):
                return []
        store = self.stage.ctx.store
        context = self.nearby.context(record)
        if context is None:
            await store.store_leads_and_verdicts([], self.unwritten())
            self.written = len(self.verdicts)
            context = await gather(store, record, self.stage.cfg)
        ruling = rule_on(record, self.stage.cfg, context)
        if previous is not None and previous.decision == ruling.decision:
            return []
        verdict = verdict_of(record, ruling)
        if verdict.verdict_id not in self.recorded:
            # Recorded unless stored before: that only matters if the cluster comes again.
            again = self.remaining[record.cluster_id] > 0
            if not (again and verdict.verdict_id in self.stored):
                self._recorded(verdict)
        return [verdict]

    def _recorded(self, verdict: Verdict) -> None:
        self.recorded.add(verdict.verdict_id)
        self.latest[verdict.cluster_id] = verdict
        self.verdicts.append(verdict)
        self.nearby.recorded(verdict)
