"""Supervision (督办): follow every case to closure and 回访, and chase the late ones.

A sweep (cron, or the supervisor worker's loop; ``now`` is passed in, so tests drive the
clock) does, in order:

1. delivers filings still in the outbox, and files confirmations that never reached the
   case opener (recorded, then lost between the store and the bus);
2. syncs each open case from the work-order system: status, 退单 (re-routed at once to the
   unit the returning one names, if the duties list knows it, else the next unit down the
   list), 办结, and the 回访 the 12345 centre recorded;
3. runs the clocks: dispatch (wall minutes), handling and closure (working days,
   Asia/Shanghai); a case past a deadline is escalated, for dispatch every
   ``escalate_every``, for handling and closure one level at a time (提醒 → 警示 → 区级督办);
4. 办结审核: an ordinary case the unit resolved, with its reply, passes by rule; an urgent
   one waits for a person's check (console); after 回访 it is closed, or reopened when the
   citizen is not satisfied;
5. reopens a closed case when its cluster gets new reports within the reopen window;
6. tells the on-duty group about urgent leads and overdue urgent cases, in one digest
   (``case_opener.alerts``).

It returns the cases that changed; the wiring publishes them on ``cases``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog

from case_opener.alerts import AlertDesk
from case_opener.calendar import WorkingCalendar
from case_opener.config import Sla, load_routing, load_sla
from case_opener.duties import DutiesList
from case_opener.filing import WorkOrderClient
from case_opener.outbox import deliver, queue_filing, with_status
from case_opener.replies import Replies, load_replies
from xianban.errors import PermanentError, TransientError
from xianban.labels import SATISFACTION_LABELS, STATUS_LABELS
from xianban.records import (
    OPEN_STATUSES,
    UNDISPATCHED_STATUSES,
    Case,
    CaseStatus,
    Satisfaction,
    utcnow,
)
from xianban.stage import StageContext
from xianban.store.listing import confirmed_without_case

log = structlog.get_logger(__name__)

REMOTE_STATUS: dict[str, CaseStatus] = {
    "filed": "filed",
    "returned": "returned",
    "dispatched": "dispatched",
    "in_progress": "in_progress",
    "resolved": "resolved",
    "closed": "resolved",  # the unit is done; our own 办结审核 and 回访 close the case
}
SATISFACTIONS: tuple[Satisfaction, ...] = (
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "unreachable",
)
APPROVED = "办结审核通过"
RECONCILE_AFTER = timedelta(minutes=10)
"""A confirmation this old without a case was lost on its way to the case opener."""
STATUS_BATCH = 50
"""Work orders a status read asks for (their ids in the query string: ~850 characters)."""
STATUS_READS = 8
"""Single-order status reads in flight at once to the work-order system during a sweep."""


def closure_approved(case: Case) -> bool:
    """Did 办结审核 pass since the unit last reported the case resolved?"""
    for event in reversed(case.history):
        if event.note.startswith(APPROVED):
            return True
        if event.status == "resolved" and event.by == "workorder":
            return False
        if event.status != "resolved":
            return False
    return False


def last_change(case: Case, status: CaseStatus) -> datetime | None:
    return next((e.at for e in reversed(case.history) if e.status == status), None)


def moved_to(case: Case, status: CaseStatus) -> datetime | None:
    """When the case last moved into ``status``; later events that keep it (a 复查 note)
    are not a move."""
    moved = None
    for before, event in zip([None, *case.history], case.history, strict=False):
        if event.status == status and (before is None or before.status != status):
            moved = event.at
    return moved


class Supervisor:
    name = "supervisor"

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.sla: Sla | None = None
        self.calendar: WorkingCalendar | None = None
        self.duties: DutiesList | None = None
        self.replies: Replies | None = None
        self.units: frozenset[str] = frozenset()
        self.client: WorkOrderClient | None = None
        self.alerts: AlertDesk | None = None

    async def start(self) -> None:
        settings = self.ctx.settings
        self.sla = load_sla(settings.configs_dir)
        self.calendar = self.sla.calendar()
        self.duties = load_routing(settings.configs_dir)
        self.units = frozenset(self.duties.units())
        self.replies = load_replies(settings.configs_dir)
        self.client = WorkOrderClient.from_settings(settings)
        try:
            self.alerts = AlertDesk.from_settings(self.ctx.store, settings)
        except BaseException:  # a broken alerts.yaml: the client made above is not left open
            await self.close()
            raise

    async def close(self) -> None:
        alerts, client, self.alerts, self.client = self.alerts, self.client, None, None
        if alerts is not None:
            await alerts.close()
        if client is not None:
            await client.close()

    async def __aenter__(self) -> Supervisor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def sweep(self, *, now: datetime | None = None) -> list[Case]:
        assert self.client is not None and self.sla is not None, "start() first"
        now = now or utcnow()
        store = self.ctx.store
        changed = {c.case_id: c for c in await self._reconcile(now)}
        changed.update({c.case_id: c for c in await deliver(store, self.client)})
        cases = [
            changed.get(case.case_id, case)
            for case in await store.list_cases(statuses=OPEN_STATUSES, limit=10_000)
        ]
        remotes = await self._statuses(cases)
        for case in cases:
            updated, remote = await self._sync(case, remotes.get(case.case_id), now)
            updated = self._clocks(updated, now)
            updated = await self._escalate(updated, now)
            updated = self._review_closure(updated, now)
            updated = await self._recorded_follow_up(updated, remote, now)
            if updated is not case or case.case_id in changed:
                await store.save_case(updated)
                changed[updated.case_id] = updated
        for case in await self._recurrences(now):
            await store.save_case(case)
            changed[case.case_id] = case
        if self.alerts is not None:
            await self.alerts.tick(now, changed.values())
        return list(changed.values())

    # -- 1. confirmations that never became cases -------------------------------------------

    async def _reconcile(self, now: datetime) -> list[Case]:
        from case_opener.stage import build_case

        assert self.duties is not None and self.sla is not None
        store = self.ctx.store
        opened = []
        for verdict in await confirmed_without_case(store, decided_before=now - RECONCILE_AFTER):
            case = build_case(verdict.lead, verdict, self.duties, self.sla)
            if await queue_filing(store, case):
                log.warning("supervision.reconciled", cluster_id=verdict.cluster_id)
                opened.append(case)
        return opened

    # -- 2. status from the work-order system ----------------------------------------------------

    async def _statuses(self, cases: list[Case]) -> dict[str, dict[str, Any]]:
        """Each filed case's work order as the system has it now, by case id: read
        ``STATUS_BATCH`` orders at a time (GeoReport v2's list of ids; one by one, 139 reads
        were ~0.5-1 s of ``run --once``), then one by one, ``STATUS_READS`` at a time, the
        orders an answer lacked (a system without the list, an order it cannot find). A
        case the system cannot answer for is left out."""
        client = self.client
        assert client is not None
        filed = [(case.case_id, case.external_id) for case in cases if case.external_id]
        remotes: dict[str, dict[str, Any]] = {}
        for start in range(0, len(filed), STATUS_BATCH):
            part = filed[start : start + STATUS_BATCH]
            try:
                found = await client.statuses([external_id for _, external_id in part])
            except (TransientError, PermanentError) as exc:
                log.warning("supervision.batch_read_failed", orders=len(part), error=str(exc))
                continue
            remotes.update({case_id: found[ext] for case_id, ext in part if ext in found})
        bound = asyncio.Semaphore(STATUS_READS)

        async def read(case_id: str, external_id: str) -> tuple[str, dict[str, Any] | None]:
            async with bound:
                try:
                    return case_id, await client.status(external_id)
                except (TransientError, PermanentError) as exc:
                    # one case the system cannot answer for must not stop the sweep of the others
                    log.warning("supervision.sync_failed", case_id=case_id, error=str(exc))
                    return case_id, None

        alone = [read(case_id, ext) for case_id, ext in filed if case_id not in remotes]
        for case_id, remote in await asyncio.gather(*alone):
            if remote is not None:
                remotes[case_id] = remote
        return remotes

    async def _sync(
        self, case: Case, remote: dict[str, Any] | None, now: datetime
    ) -> tuple[Case, dict[str, Any]]:
        if remote is None:  # not filed yet, or the system did not answer
            return case, {}
        status = REMOTE_STATUS.get(str(remote.get("x_status", "")))
        if status == "returned":
            return await self._reroute(case, remote, now), remote
        if status is not None and status != case.status:
            case = with_status(
                case, status, f"工单系统：{STATUS_LABELS[status]}", by="workorder", at=now
            )
            case = self._reply(case, status, now)
        return case, remote

    async def _recorded_follow_up(self, case: Case, remote: dict[str, Any], now: datetime) -> Case:
        """The 回访 the 12345 centre recorded, once 办结审核 has passed."""
        satisfaction = str(remote.get("x_satisfaction") or "")
        if case.status == "resolved" and satisfaction and closure_approved(case):
            return await self._follow_up(case, satisfaction, "12345 回访", now)
        return case

    async def _reroute(self, case: Case, remote: dict[str, Any], now: datetime) -> Case:
        """退单: send the order to the unit that acts, and say why on the case."""
        assert self.client is not None and self.duties is not None
        external_id = case.external_id or ""
        reason = str(remote.get("x_return_reason") or "承办单位退单")
        if case.status != "returned":
            case = with_status(case, "returned", f"退单：{reason}", by="workorder", at=now)
        tried = {case.department, case.first_department or case.department}
        tried |= {line.split("改派至 ", 1)[1] for line in case.routing if "改派至 " in line}
        suggested = str(remote.get("x_suggested_agency") or "")
        if suggested and suggested in self.units and suggested not in tried:
            unit, why = suggested, [f"退单单位建议改派：{suggested}"]
        else:
            text = f"{case.title}\n{case.description}"
            route = self.duties.route(case.category, case.geo, text, exclude=frozenset(tried))
            unit, why = route.unit, list(route.why)
        try:
            await self.client.transfer(external_id, unit, reason)
        except (TransientError, PermanentError) as exc:
            log.warning("supervision.transfer_failed", case_id=case.case_id, error=str(exc))
            return case  # still returned: the next sweep tries again
        moved = with_status(case, "filed", f"改派至 {unit}", by="supervisor", at=now)
        moved = moved.model_copy(
            update={
                "department": unit,
                "reroutes": case.reroutes + 1,
                "routing": [
                    *case.routing,
                    f"退单（{case.department}）：{reason}",
                    *why,
                    f"改派至 {unit}",
                ],
            }
        )
        return self._reply(moved, "returned", now)

    def _reply(self, case: Case, state: str, now: datetime) -> Case:
        assert self.replies is not None
        due = case.handle_due if state == "dispatched" else None
        reply = self.replies.render(case, state, due=due)
        return case if reply is None else case.model_copy(update={"reply": reply})

    # -- 3. clocks and 督办 -------------------------------------------------------------------

    def _clocks(self, case: Case, now: datetime) -> Case:
        """Start the handling clock on dispatch and the closure clock on 办结."""
        assert self.calendar is not None and self.sla is not None
        if case.status in ("dispatched", "in_progress") and case.handle_due is None:
            since = last_change(case, "dispatched") or now
            due = self.calendar.add_working_days(
                since, self.sla.handling_working_days[case.priority]
            )
            case = case.model_copy(update={"handle_due": due, "escalation_level": 0})
            case = self._reply(case, "dispatched", now)
        if case.status == "resolved" and case.close_due is None:
            since = last_change(case, "resolved") or now
            due = self.calendar.add_working_days(
                since, self.sla.closure_working_days[case.priority]
            )
            case = case.model_copy(update={"close_due": due, "escalation_level": 0})
        return case

    async def _escalate(self, case: Case, now: datetime) -> Case:
        assert self.sla is not None and self.calendar is not None
        if case.status in UNDISPATCHED_STATUSES:
            return await self._escalate_dispatch(case, now)
        if case.status in ("dispatched", "in_progress") and case.handle_due is not None:
            return await self._escalate_level(case, now, case.handle_due, "办结")
        if case.status == "resolved" and case.close_due is not None:
            return await self._escalate_level(case, now, case.close_due, "办结审核与回访")
        return case

    async def _escalate_dispatch(self, case: Case, now: datetime) -> Case:
        assert self.sla is not None
        if now <= case.dispatch_due:
            return case
        last = max((e.at for e in case.history if e.note.startswith("督办：")), default=None)
        if last is not None and now - last < self.sla.escalate_every(case.priority):
            return case
        overdue = int((now - case.dispatch_due).total_seconds() // 60)
        reason = f"督办：超过派单时限 {overdue} 分钟未派单（第 {case.escalations + 1} 次）"
        if not await self._tell(case, reason):
            return case
        escalated = with_status(case, case.status, reason, by="supervisor", at=now)
        return escalated.model_copy(update={"escalations": case.escalations + 1})

    async def _escalate_level(self, case: Case, now: datetime, due: datetime, what: str) -> Case:
        assert self.sla is not None and self.calendar is not None
        reached = [
            level
            for level in self.sla.escalation_levels
            if now > self.calendar.add_working_days(due, level.after_working_days)
        ]
        if not reached or reached[-1].level <= case.escalation_level:
            return case
        level = reached[-1]
        late = self.calendar.working_days_between(due, now)
        reason = (
            f"督办（{level.name}）：超过{what}时限"
            + (f" {late} 个工作日" if late else "")
            + f"，承办单位 {case.department}"
        )
        if not await self._tell(case, reason):
            return case
        escalated = with_status(case, case.status, reason, by="supervisor", at=now)
        return escalated.model_copy(
            update={"escalations": case.escalations + 1, "escalation_level": level.level}
        )

    async def _tell(self, case: Case, reason: str) -> bool:
        """Post the escalation to the work-order system (when it has the case)."""
        assert self.client is not None
        if not case.external_id:
            return True
        try:
            await self.client.escalate(case.external_id, reason)
        except (TransientError, PermanentError) as exc:
            log.warning("supervision.escalate_failed", case_id=case.case_id, error=str(exc))
            return False
        return True

    # -- 4. 办结审核 and 回访 ------------------------------------------------------------------

    def _review_closure(self, case: Case, now: datetime) -> Case:
        """An ordinary case resolved with a reply passes 办结审核 by rule; urgent ones wait
        for a person's check (``approve_closure``)."""
        if case.status != "resolved" or closure_approved(case):
            return case
        if case.priority == "urgent" or not case.reply:
            return case
        return with_status(
            case, "resolved", f"{APPROVED}：已答复，按规则审核（一般诉求）", by="supervisor", at=now
        )

    async def approve_closure(
        self, case: Case, *, by: str, check: str, now: datetime | None = None
    ) -> Case:
        """A person's 办结审核: urgent cases need what was checked (复核情况)."""
        now = now or utcnow()
        if case.status != "resolved":
            raise PermanentError(f"工单 {case.case_id} 尚未办结，不能审核")
        if case.priority == "urgent" and not check.strip():
            raise PermanentError("加急工单办结审核须填写复核情况（现场或电话核实）")
        if not case.reply:
            case = self._reply(case, "resolved", now)
        note = f"{APPROVED}：{check.strip() or '已答复'}"
        return with_status(case, "resolved", note, by=by, at=now)

    async def return_closure(
        self, case: Case, *, by: str, reason: str, now: datetime | None = None
    ) -> Case:
        """办结审核退回: the unit must handle it again."""
        now = now or utcnow()
        if case.status != "resolved":
            raise PermanentError(f"工单 {case.case_id} 尚未办结，不能退回")
        return await self._reopen(case, f"办结审核退回：{reason}", by=by, now=now, count=False)

    async def follow_up(
        self, case: Case, satisfaction: str, *, by: str, note: str = "", now: datetime | None = None
    ) -> Case:
        """回访 recorded by a person (console or API)."""
        if case.status != "resolved" or not closure_approved(case):
            raise PermanentError(f"工单 {case.case_id} 尚未通过办结审核，不能回访")
        return await self._follow_up(case, satisfaction, note or by, now or utcnow(), by=by)

    async def _follow_up(
        self, case: Case, satisfaction: str, note: str, now: datetime, *, by: str = "workorder"
    ) -> Case:
        chosen = next((s for s in SATISFACTIONS if s == satisfaction), None)
        if chosen is None:
            raise PermanentError(f"未知的回访结果：{satisfaction}")
        label = SATISFACTION_LABELS[chosen]
        case = case.model_copy(update={"satisfaction": chosen})
        if chosen == "dissatisfied":
            return await self._reopen(case, f"回访不满意（{note}），重新交办", by=by, now=now)
        closed = with_status(case, "closed", f"回访：{label}（{note}），结案", by=by, at=now)
        return self._reply(closed, "closed", now)

    async def _reopen(
        self, case: Case, reason: str, *, by: str, now: datetime, count: bool = True
    ) -> Case:
        assert self.client is not None
        if case.external_id:
            try:
                await self.client.reopen(case.external_id, reason)
            except (TransientError, PermanentError) as exc:
                log.warning("supervision.reopen_failed", case_id=case.case_id, error=str(exc))
        reopened = with_status(case, "dispatched", reason, by=by, at=now)
        reopened = reopened.model_copy(
            update={
                "reopened": case.reopened + (1 if count else 0),
                "handle_due": None,
                "close_due": None,
                "escalation_level": 0,
            }
        )
        reopened = self._clocks(reopened, now)
        return self._reply(reopened, "reopened", now)

    # -- 5. recurrence -----------------------------------------------------------------------------

    async def _recurrences(self, now: datetime) -> list[Case]:
        """Closed cases whose cluster got new reports after closing: the problem is back."""
        assert self.sla is not None
        store = self.ctx.store
        window = timedelta(days=self.sla.reopen_window_days)
        out = []
        for case in await store.list_cases(statuses=("closed",), limit=10_000):
            closed_at = moved_to(case, "closed")
            if closed_at is None:
                continue
            if now - closed_at > window:
                if case.recheck != "passed":
                    out.append(self._recheck_passed(case, window, now))
                continue
            fresh = [
                lead
                for lead in await store.leads_in_cluster(case.cluster_id)
                if lead.found_at > closed_at and not set(lead.post_ids) <= set(case.post_ids)
            ]
            if not fresh:
                continue
            posts = [p for lead in fresh for p in lead.post_ids if p not in case.post_ids]
            grown = case.model_copy(
                update={"post_ids": [*case.post_ids, *posts], "recheck": "failed"}
            )
            reason = f"问题复发：结案后又有 {len(fresh)} 条新报告，复查未通过，重新交办"
            out.append(await self._reopen(grown, reason, by="supervisor", now=now))
        return out

    @staticmethod
    def _recheck_passed(case: Case, window: timedelta, now: datetime) -> Case:
        """复查通过: the window since closing went by and nobody reported the problem again."""
        note = f"复查通过：结案后 {window.days} 天内未再收到同一问题的报告"
        rechecked = with_status(case, "closed", note, by="supervisor", at=now)
        return rechecked.model_copy(update={"recheck": "passed"})

    async def reopen_for(self, case: Case, post_ids: list[str], *, now: datetime) -> Case:
        """Reopen a closed case because new posts report it again (the case opener's path)."""
        grown = case.model_copy(
            update={
                "post_ids": [*case.post_ids, *(p for p in post_ids if p not in case.post_ids)],
                "recheck": "failed",
            }
        )
        return await self._reopen(
            grown, f"问题复发：{len(post_ids)} 条新报告，重新交办", by="supervisor", now=now
        )
