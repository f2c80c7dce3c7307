"""Case opener: a confirmed verdict becomes a case on the city work-order system.

Idempotent by cluster: the case id is derived from the cluster id, so a verdict delivered
twice (or two confirmations of one cluster) finds the case already there and files nothing.
A case still ``pending`` (a crash or timeout before the work-order system accepted it) is
queued again, which the outbox's key makes harmless. A verdict with ``duplicate_of`` is
another report of a problem a case carries: its posts join that case
(``case_opener.duplicates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from case_opener.config import Sla, load_routing, load_sla
from case_opener.duplicates import Corroboration
from case_opener.duties import DutiesList
from case_opener.filing import WorkOrderClient
from case_opener.outbox import deliver, queue_filing
from xianban.labels import CATEGORY_LABELS
from xianban.records import Case, CaseEvent, Lead, Priority, Record, Verdict, stable_id, utcnow
from xianban.stage import StageContext

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
    route = routing.route(lead.category, lead.geo, f"{lead.title or ''}\n{lead.text}")
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

    async def close(self) -> None:
        if self.supervisor is not None:
            await self.supervisor.close()
        if self.client is not None:
            await self.client.close()
