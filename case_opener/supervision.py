"""Supervision (督办): follow filed cases until they are closed, and chase the late ones.

A sweep (cron, or the supervisor worker's loop) does three things:
1. delivers filings still in the outbox (the work-order system was down or timed out);
2. syncs each open case's status from the work-order system, adding history events;
3. escalates cases not dispatched by their SLA deadline, again every escalation period.
It returns the cases that changed; the wiring publishes them on ``cases``.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from case_opener.config import Sla, load_sla
from case_opener.filing import WorkOrderClient
from case_opener.outbox import deliver, with_status
from xianban.errors import PermanentError, TransientError
from xianban.labels import STATUS_LABELS
from xianban.records import (
    OPEN_STATUSES,
    UNDISPATCHED_STATUSES,
    Case,
    CaseStatus,
    utcnow,
)
from xianban.stage import StageContext

log = structlog.get_logger(__name__)

REMOTE_STATUS: dict[str, CaseStatus] = {
    "filed": "filed",
    "dispatched": "dispatched",
    "in_progress": "in_progress",
    "resolved": "resolved",
    "closed": "closed",
}


class Supervisor:
    name = "supervisor"

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.sla: Sla | None = None
        self.client: WorkOrderClient | None = None

    async def start(self) -> None:
        settings = self.ctx.settings
        self.sla = load_sla(settings.configs_dir)
        self.client = WorkOrderClient.from_settings(settings)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def sweep(self, *, now: datetime | None = None) -> list[Case]:
        assert self.client is not None and self.sla is not None, "start() first"
        now = now or utcnow()
        store = self.ctx.store
        changed = {c.case_id: c for c in await deliver(store, self.client)}
        for case in await store.list_cases(statuses=OPEN_STATUSES, limit=10_000):
            case = changed.get(case.case_id, case)
            updated = await self._sync(case)
            updated = await self._escalate(updated, now)
            if updated is not case or case.case_id in changed:
                await store.save_case(updated)
                changed[updated.case_id] = updated
        return list(changed.values())

    async def _sync(self, case: Case) -> Case:
        assert self.client is not None
        if not case.external_id:
            return case
        try:
            remote = await self.client.status(case.external_id)
        except (TransientError, PermanentError) as exc:
            # one case the system cannot answer for must not stop the sweep of the others
            log.warning("supervision.sync_failed", case_id=case.case_id, error=str(exc))
            return case
        status = REMOTE_STATUS.get(str(remote.get("x_status", "")))
        if status is None or status == case.status:
            return case
        return with_status(case, status, f"工单系统：{STATUS_LABELS[status]}", by="workorder")

    async def _escalate(self, case: Case, now: datetime) -> Case:
        assert self.client is not None and self.sla is not None
        if case.status not in UNDISPATCHED_STATUSES or now <= case.dispatch_due:
            return case
        last = max((e.at for e in case.history if e.note.startswith("督办")), default=None)
        if last is not None and now - last < self.sla.escalate_every(case.priority):
            return case
        overdue = int((now - case.dispatch_due).total_seconds() // 60)
        reason = f"督办：超过派单时限 {overdue} 分钟未派单（第 {case.escalations + 1} 次）"
        if case.external_id:
            try:
                await self.client.escalate(case.external_id, reason)
            except (TransientError, PermanentError) as exc:
                log.warning("supervision.escalate_failed", case_id=case.case_id, error=str(exc))
                return case
        escalated = with_status(case, case.status, reason, by="supervisor", at=now)
        return escalated.model_copy(update={"escalations": case.escalations + 1})
