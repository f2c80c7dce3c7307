"""Another report of a problem a case already carries: attached to it, never a second case.

A verdict with ``duplicate_of`` names the cluster whose case it joins (a follow-up post in
the same cluster, a lead the verifier found on the same place and problem, or one an
analyst merged into a filed lead). The posts are added to that case with a history event
(佐证); a closed case is reopened, because the problem is being reported again. When the
case it joins is not there yet (its own confirmation travels on another partition), it is
opened here from that cluster's confirmation, exactly as the case opener would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from case_opener.outbox import deliver, queue_filing, with_status
from xianban.records import Case, Verdict, utcnow
from xianban.stage import StageContext
from xianban.store.listing import verdicts_of

if TYPE_CHECKING:
    from case_opener.filing import WorkOrderClient

log = structlog.get_logger(__name__)
MAX_CHAIN = 4


def corroboration_note(verdict: Verdict, new: list[str]) -> str:
    """The history note of a case another report joined with ``new`` posts."""
    return (
        f"新增佐证：{len(new)} 条相关报告（线索 {verdict.cluster_id}，"
        f"{verdict.lead.platform}，{verdict.reason}）"
    )


def opened_from(build: Callable[[Verdict], Case], latest: Verdict, verdicts: list[Verdict]) -> Case:
    """The cluster's case as its first confirmation would open it, carrying the posts of
    every confirmation of the cluster recorded so far (``verdicts``, in order; ``latest``
    the last): whichever of them reaches the case opener later then finds its posts there
    already."""
    confirmations = [v for v in verdicts if v.confirms_own_case()]
    first = next((v for v in confirmations if v.duplicate_of is None), latest)
    case = build(first)
    posts = list(dict.fromkeys(p for v in confirmations for p in v.lead.post_ids))
    return case.model_copy(update={"post_ids": list(dict.fromkeys([*case.post_ids, *posts]))})


def opening(build: Callable[[Verdict], Case], verdicts: list[Verdict]) -> Case | None:
    """The case ``Corroboration.target_case`` opens for a cluster that has none, from the
    cluster's recorded verdicts (in order), when it opens the cluster's own: None when
    the latest is no confirmation or joined another cluster's case (``target_case``
    follows that one)."""
    if not verdicts:
        return None
    latest = verdicts[-1]
    if not latest.confirms_own_case():
        return None
    return opened_from(build, latest, verdicts)


class Corroboration:
    def __init__(
        self,
        ctx: StageContext,
        client: WorkOrderClient,
        build: Callable[[Verdict], Case],
        reopen: Callable[[Case, list[str]], Awaitable[Case]],
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.build = build
        self.reopen = reopen

    async def target_case(self, cluster_id: str) -> tuple[Case | None, list[Case]]:
        """The case of ``cluster_id`` (opened now if its confirmation has none yet)."""
        store = self.ctx.store
        for _ in range(MAX_CHAIN):
            case = await store.get_case_by_cluster(cluster_id)
            if case is not None:
                return case, []
            verdict = await store.latest_verdict(cluster_id)
            if verdict is None or verdict.decision != "confirmed":
                return None, []
            if verdict.duplicate_of and verdict.duplicate_of != cluster_id:
                cluster_id = verdict.duplicate_of  # it joined another case in turn
                continue
            case = opened_from(self.build, verdict, await verdicts_of(store, cluster_id))
            await queue_filing(store, case)
            changed = await deliver(store, self.client)
            opened = next((c for c in changed if c.case_id == case.case_id), case)
            return opened, [c for c in changed if c.case_id != case.case_id]
        return None, []

    async def attach(self, verdict: Verdict) -> list[Case]:
        assert verdict.duplicate_of is not None
        case, others = await self.target_case(verdict.duplicate_of)
        if case is None:
            log.warning(
                "case_opener.duplicate_without_case",
                cluster_id=verdict.cluster_id,
                duplicate_of=verdict.duplicate_of,
            )
            return others
        new = [p for p in verdict.lead.post_ids if p not in case.post_ids]
        if not new:
            return [case, *others] if others or case.status == "pending" else others
        if case.status == "closed":
            updated = await self.reopen(case, new)
        else:
            note = corroboration_note(verdict, new)
            updated = with_status(case, case.status, note, by="case-opener", at=utcnow())
            updated = updated.model_copy(update={"post_ids": [*case.post_ids, *new]})
        await self.ctx.store.save_case(updated)
        if updated.status == "pending":  # not yet accepted: file it as it is now
            await queue_filing(self.ctx.store, updated)
            changed = await deliver(self.ctx.store, self.client)
            updated = next((c for c in changed if c.case_id == updated.case_id), updated)
        return [updated, *others]
