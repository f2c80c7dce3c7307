"""Verifier: rules decide the clear leads; the rest wait in the analysts' queue.

A cluster is decided once: a new lead for a confirmed cluster is emitted as corroboration
for its case (``duplicate_of``), one for a rejected cluster is dropped; a cluster in review is
re-examined as corroboration grows, so a second report can confirm it, unless an analyst
has taken it (their correction of category or place must not be re-ruled on raw leads).
A lead delivered again (a replay after a crash between store and produce) re-emits the
verdict it got, since the first emission may have been lost; the case opener is
idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence

from verifier.context import follow_up, gather
from verifier.rules import VerifierConfig, load_config, rule_on
from xianban.records import Lead, Record, Verdict, stable_id
from xianban.stage import StageContext


class VerifierStage:
    name = "verifier"
    input = Lead

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.cfg: VerifierConfig | None = None

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
        verdict = Verdict(
            verdict_id=stable_id(record.cluster_id, record.lead_id, ruling.rule),
            cluster_id=record.cluster_id,
            lead=record,
            decision=ruling.decision,
            by=f"rule:{ruling.rule}",
            reason=ruling.reason,
            duplicate_of=ruling.duplicate_of,
        )
        await store.record_verdict(verdict)
        return [verdict]

    async def _follow_up(self, record: Lead, previous: Verdict) -> Sequence[Record]:
        """A new report in a cluster already confirmed: corroboration for its case."""
        verdict = follow_up(record, previous)
        if await self.ctx.store.record_verdict(verdict):
            return [verdict]
        return []

    async def close(self) -> None:
        return None
