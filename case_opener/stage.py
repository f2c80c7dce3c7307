"""Case opener: a confirmed verdict becomes a case on the city work-order system.

Idempotent by cluster: the case id is derived from the cluster id, so a verdict delivered
twice (or two confirmations of one cluster) finds the case already there and files nothing.
A case still ``pending`` (a crash or timeout before the work-order system accepted it) is
queued again, which the outbox's key makes harmless. A verdict with ``duplicate_of`` is
another report of a problem a case carries: its posts join that case
(``case_opener.duplicates``).

``handle_batch`` files a poll's confirmations as ``handle`` would one by one, with one read
(the clusters' cases), one write (the new cases and their outbox items) and one delivery
round that files them ``filing_concurrency`` at a time. A verdict with ``duplicate_of``
is attached in memory: at once when the confirmations not yet filed do not carry the
case it joins, else, in its turn, onto that case as the delivery round filed it (one
round a poll, not one per such report: the bench's polls made ~10 rounds of 5 store
transactions and an HTTP round each). A report whose case is missing (its confirmation
comes later, or on another partition) opens it as ``Corroboration.attach`` would, filed
with the rest of the round. Only a report whose case is pending or closed, or whose
target joined yet another case, goes through ``Corroboration.attach``, after what came
before it is filed. Under
filing failures a batch tries each filing once (one by one, a cluster confirmed twice in
a poll is tried again at once); the outbox retries the rest on the next delivery either
way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from case_opener.config import Sla, load_routing, load_sla
from case_opener.duplicates import Corroboration, corroboration_note, opening
from case_opener.duties import DutiesList
from case_opener.filing import WorkOrderClient
from case_opener.outbox import FILE_CASE, deliver, queue_filing, with_status
from xianban.labels import CATEGORY_LABELS
from xianban.records import Case, CaseEvent, Lead, Priority, Record, Verdict, stable_id, utcnow
from xianban.stage import StageContext
from xianban.store.listing import verdicts_of

if TYPE_CHECKING:
    from case_opener.supervision import Supervisor


def case_id_for(cluster_id: str) -> str:
    return "XB-" + stable_id("case", cluster_id, length=12).upper()


def build_case(lead: Lead, verdict: Verdict, routing: DutiesList, sla: Sla) -> Case:
    priority: Priority = "urgent" if lead.urgent else "ordinary"
    place = lead.geo.road or lead.geo.poi or lead.geo.street or lead.geo.district or "深圳"
    title = f"【{'加急' if lead.urgent else '一般'}】{place} {CATEGORY_LABELS[lead.category]}问题"
    description = "\n".join(
        [
            lead.text.strip(),
            "",
            f"线索来源：{lead.platform} {lead.url or ''}".rstrip(),
            f"研判：{verdict.by}（{verdict.reason}）",
            "依据：" + "；".join(lead.reasons),
        ]
    )
    opened = verdict.decided_at
    route = routing.route_lead(lead)
    return Case(
        case_id=case_id_for(lead.cluster_id),
        cluster_id=lead.cluster_id,
        department=route.unit,
        unit_level=route.level,
        routing=list(route.why),
        first_department=route.unit,
        category=lead.category,
        priority=priority,
        geo=lead.geo,
        title=title,
        description=description,
        post_ids=lead.post_ids,
        opened_at=opened,
        dispatch_due=opened + sla.dispatch_within(priority),
        history=[CaseEvent(at=opened, status="pending", note="立案，待报送工单系统")],
    )


class CaseOpenerStage:
    name = "case-opener"
    input = Verdict

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.routing: DutiesList | None = None
        self.sla: Sla | None = None
        self.client: WorkOrderClient | None = None
        self.corroboration: Corroboration | None = None
        self.supervisor: Supervisor | None = None

    async def start(self) -> None:
        settings = self.ctx.settings
        self.routing = load_routing(settings.configs_dir)
        self.sla = load_sla(settings.configs_dir)
        self.client = WorkOrderClient.from_settings(settings)
        self.corroboration = Corroboration(self.ctx, self.client, self._build, self._reopen)

    def _build(self, verdict: Verdict) -> Case:
        assert self.routing and self.sla
        return build_case(verdict.lead, verdict, self.routing, self.sla)

    async def _reopen(self, case: Case, post_ids: list[str]) -> Case:
        """A closed case reported again: reopened by supervision's rules."""
        from case_opener.supervision import Supervisor

        if self.supervisor is None:
            self.supervisor = Supervisor(self.ctx)
            await self.supervisor.start()
        return await self.supervisor.reopen_for(case, post_ids, now=utcnow())

    async def handle(self, record: Verdict) -> Sequence[Record]:
        assert self.routing and self.sla and self.client, "start() first"
        if record.decision != "confirmed":
            return []
        assert self.corroboration is not None
        if record.duplicate_of is not None:
            return await self.corroboration.attach(record)
        store = self.ctx.store
        existing = await store.get_case_by_cluster(record.cluster_id)
        if existing is not None and not set(record.lead.post_ids) <= set(existing.post_ids):
            # the case was opened from another report of this cluster: this one joins it
            own = record.model_copy(update={"duplicate_of": record.cluster_id})
            return await self.corroboration.attach(own)
        if existing is not None and existing.status != "pending":
            return []
        case = existing or build_case(record.lead, record, self.routing, self.sla)
        await queue_filing(store, case)
        changed = await deliver(store, self.client)
        if all(c.case_id != case.case_id for c in changed):
            changed.append(case)  # not accepted yet: the outbox keeps trying
        return changed

    async def handle_batch(self, records: Sequence[Verdict]) -> list[Sequence[Record]]:
        assert self.routing and self.sla and self.client, "start() first"
        assert self.corroboration is not None
        out: list[Sequence[Record]] = [[] for _ in records]
        store = self.ctx.store

        async def cases_after(start: int) -> dict[str, Case]:
            return await store.cases_by_cluster(
                {r.cluster_id for r in records[start:] if r.decision == "confirmed"}
            )

        # one read for the confirmations and for the reports joining a case (what the
        # first attach would read)
        wanted = _Joins.wanted(records)
        existing = await store.cases_by_cluster(wanted)
        joins = _Joins(self, records)
        joins.cases = {cluster: existing.get(cluster) for cluster in wanted}
        segment: list[int] = []
        queued: dict[str, tuple[int, Case]] = {}
        """The segment's cases to file, by cluster: the record that opens each, the case."""
        deferred: list[tuple[int, Verdict]] = []
        for i, record in enumerate(records):
            if record.decision != "confirmed":
                continue
            join = record.duplicate_of is not None
            case = queued[record.cluster_id][1] if record.cluster_id in queued else None
            case = case or existing.get(record.cluster_id)
            if (
                not join
                and case is not None
                and not set(record.lead.post_ids) <= set(case.post_ids)
            ):
                # the case was opened from another report of this cluster: this one joins it
                record = record.model_copy(update={"duplicate_of": record.cluster_id})
                join = True
            if join and record.duplicate_of in queued:
                # joins a case of this segment: attached in its turn once that is filed
                deferred.append((i, record))
                continue
            if join:
                # a case the confirmations not yet filed do not touch: attached now
                attached = await joins.attach(i, record)
                if attached is not None:
                    out[i] = attached
                    existing = existing | joins.by_cluster(attached)
                    continue
                opened = await joins.opening(record)
                if opened is not None:
                    # no case yet (its confirmation comes later, or on another partition):
                    # opened as ``attach`` opens it, filed with the segment, then joined
                    queued[opened.cluster_id] = (i, opened)
                    deferred.append((i, record))
                    continue
                # a pending or a closed case, or a chain of joins: the store's way, after
                # what came before it is filed and saved
                await self._flush(records, segment, queued, deferred, joins, out)
                out[i] = await self.corroboration.attach(record)
                joins.forget()
                existing = await cases_after(i + 1)
                segment, queued, deferred = [], {}, []
                continue
            segment.append(i)
            if record.cluster_id not in queued and (case is None or case.status == "pending"):
                queued[record.cluster_id] = (i, case or self._build(record))
        await self._flush(records, segment, queued, deferred, joins, out)
        return out

    async def _flush(
        self,
        records: Sequence[Verdict],
        segment: Sequence[int],
        queued: dict[str, tuple[int, Case]],
        deferred: Sequence[tuple[int, Verdict]],
        joins: _Joins,
        out: list[Sequence[Record]],
    ) -> None:
        """File the segment's cases in one delivery round, then attach the reports that
        join them, in order, onto the cases as filed; save what changed. (One by one,
        each of those reports found its case filed already: the filings in between touch
        other cases.) A report whose case is still pending (its filing failed) goes the
        store's way, and so do those after it. A report that opened its target's case
        (``_Joins.opening``) answers the case it joined, then what else the delivery
        changed, as ``Corroboration.attach`` does."""
        assert self.corroboration is not None
        # The cases attached so far are saved with the rest below: the delivery reads and
        # writes only pending cases, which those are not.
        filed = await self._file(records, segment, queued, out)
        for n, (i, record) in enumerate(deferred):
            target = record.duplicate_of
            assert target is not None
            attached = joins.join(filed[target], record)
            if attached is None:
                await joins.save()
                for j, rest in deferred[n:]:
                    out[j] = [*await self.corroboration.attach(rest), *out[j]]
                break
            if not attached and out[i]:  # nothing new, but the delivery changed others
                attached = [filed[target]]
            out[i] = [*attached, *out[i]]
            if attached:
                filed[target] = attached[0]
        await joins.save()

    async def _file(
        self,
        records: Sequence[Verdict],
        segment: Sequence[int],
        queued: dict[str, tuple[int, Case]],
        out: list[Sequence[Record]],
    ) -> dict[str, Case]:
        """File the queued cases; the outputs of the segment's confirmations go into
        ``out`` (a report that opened a case gets only the other cases the delivery
        changed, if it came first: its join answers the case). The cases queued, by
        cluster, as the delivery left them."""
        assert self.client is not None
        if not queued:
            return {}
        store = self.ctx.store
        cases = [case for _, case in queued.values()]
        await store.queue_filings(cases, kind=FILE_CASE)
        changed = await deliver(
            store,
            self.client,
            limit=len(queued) + 100,
            concurrency=self.ctx.settings.filing_concurrency,
            saved={case.case_id: case for case in cases},
        )
        after = {c.case_id: c for c in changed}
        ours = {case.case_id for _, case in queued.values()}
        own = set(segment)
        for i, case in queued.values():
            if i in own:  # not accepted yet: the outbox keeps trying
                out[i] = [after.get(case.case_id, case)]
        earlier = [c for c in changed if c.case_id not in ours]
        if earlier:  # filings pending from before: the first delivery would have sent them
            first = min(i for i, _ in queued.values())
            out[first] = [*earlier, *out[first]] if first in own else earlier
        for i in segment:
            entry = queued.get(records[i].cluster_id)
            if entry is not None and entry[0] != i:  # one by one it found the case filed before
                out[i] = [] if entry[1].case_id in after else [entry[1]]
        return {cluster: after.get(case.case_id, case) for cluster, (_, case) in queued.items()}

    async def close(self) -> None:
        if self.supervisor is not None:
            await self.supervisor.close()
        if self.client is not None:
            await self.client.close()


class _Joins:
    """Reports joining a case the common way (the case is there, past filing and not
    closed) attached in memory and the cases saved in one write: a poll full of
    follow-ups was one ``Corroboration.attach`` (5 to 7 store round-trips) after another.
    Anything else (no case yet, a pending or a closed case) goes through ``attach``, after
    the cases changed so far are saved."""

    def __init__(self, stage: CaseOpenerStage, records: Sequence[Verdict]) -> None:
        self.stage = stage
        self.records = records
        self.cases: dict[str, Case | None] | None = None
        """Case by cluster, for the clusters the batch's reports from the last read on
        belong to or join, as the store holds them with this batch's attachments."""
        self.changed: dict[str, Case] = {}

    async def attach(self, i: int, verdict: Verdict) -> list[Case] | None:
        """What ``Corroboration.attach`` answers for ``records[i]``, or None when the
        report needs the store."""
        target = verdict.duplicate_of
        assert target is not None
        if self.cases is None or target not in self.cases:
            await self.save()
            wanted = self.wanted(self.records[i:]) | {target}
            found = await self.stage.ctx.store.cases_by_cluster(wanted)
            self.cases = {cluster: found.get(cluster) for cluster in wanted}
        attached = self.join(self.cases[target], verdict)
        if attached:
            self.cases[target] = attached[0]
        return attached

    async def opening(self, verdict: Verdict) -> Case | None:
        """The case ``Corroboration.attach`` would open for ``verdict``'s target when the
        target has none (read just now by ``attach``): its cluster's own, from its
        recorded verdicts (``duplicates.opening``); None when the target has a case, or
        its latest verdict is no confirmation or joined yet another case."""
        target = verdict.duplicate_of
        assert target is not None and self.cases is not None
        if self.cases[target] is not None:
            return None
        verdicts = await verdicts_of(self.stage.ctx.store, target)
        return opening(self.stage._build, verdicts)

    @staticmethod
    def wanted(records: Sequence[Verdict]) -> set[str]:
        """The clusters whose cases these reports belong to or join."""
        return {c for r in records for c in (r.cluster_id, r.duplicate_of) if c}

    def join(self, case: Case | None, verdict: Verdict) -> list[Case] | None:
        """``verdict``'s posts added to ``case`` in memory (kept to be saved), as
        ``Corroboration.attach`` adds them; None when the case is not one it joins so
        (none, pending or closed)."""
        if case is None or case.status in ("pending", "closed"):
            return None
        new = [p for p in verdict.lead.post_ids if p not in case.post_ids]
        if not new:
            return []
        note = corroboration_note(verdict, new)
        updated = with_status(case, case.status, note, by="case-opener", at=utcnow())
        updated = updated.model_copy(update={"post_ids": [*case.post_ids, *new]})
        self.changed[updated.case_id] = updated
        return [updated]

    @staticmethod
    def by_cluster(cases: Sequence[Case]) -> dict[str, Case]:
        return {case.cluster_id: case for case in cases}

    async def save(self) -> None:
        if self.changed:
            await self.stage.ctx.store.save_cases(list(self.changed.values()))
            self.changed = {}

    def forget(self) -> None:
        """The store changed under the cases held (filings, an attach that opened or
        reopened a case): read them again when next needed."""
        self.cases = None
