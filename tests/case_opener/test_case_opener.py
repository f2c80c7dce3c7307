"""Case opener and supervision against the work-order simulator and a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from case_opener.config import load_routing
from case_opener.filing import WorkOrderClient
from case_opener.stage import CaseOpenerStage, case_id_for
from case_opener.supervision import Supervisor
from sim.server import SimServer
from sim.workorders import FaultSpec
from xianban.records import Case, Geo, Lead, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

DECIDED = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def lead(cluster: str, *, urgent: bool = True, district: str | None = "龙华区") -> Lead:
    return Lead(
        lead_id=f"l-{cluster}",
        cluster_id=cluster,
        post_ids=[f"weibo:{cluster}"],
        platform="weibo",
        text="龙华民治人民路路灯底座冒火花，13812345678 联系我",
        category="municipal_facilities",
        urgent=urgent,
        urgency_triggers=["冒火花"] if urgent else [],
        geo=Geo(district=district, street="民治街道", road="人民路"),
        score=0.9,
        reasons=["问题:路灯冒火花"],
    )


def confirmed(cluster: str, **kw: object) -> Verdict:
    return Verdict(
        verdict_id=f"v-{cluster}",
        cluster_id=cluster,
        lead=lead(cluster, **kw),  # type: ignore[arg-type]
        decision="confirmed",
        by="rule:urgent_hazard",
        reason="加急隐患",
        decided_at=DECIDED,
    )


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer() as server:
        yield server


@pytest.fixture
async def ctx(tmp_path: Path, sim: SimServer) -> AsyncIterator[StageContext]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    settings = Settings(workorder_url=sim.workorder_url, workorder_timeout_s=1.0)
    yield StageContext(settings=settings, store=store)
    await store.close()


@pytest.fixture
async def opener(ctx: StageContext) -> AsyncIterator[CaseOpenerStage]:
    stage = CaseOpenerStage(ctx)
    await stage.start()
    yield stage
    await stage.close()


@pytest.fixture
async def supervisor(ctx: StageContext) -> AsyncIterator[Supervisor]:
    sup = Supervisor(ctx)
    await sup.start()
    yield sup
    await sup.close()


async def test_confirmed_verdict_is_filed_once(opener: CaseOpenerStage, sim: SimServer) -> None:
    out = await opener.handle(confirmed("c1"))
    assert len(out) == 1 and isinstance(out[0], Case)
    case = out[0]
    assert case.status == "filed" and case.external_id in sim.workorders.orders
    assert case.department == "龙华区城市管理和综合执法局"
    assert case.priority == "urgent"
    assert case.dispatch_due - case.opened_at == timedelta(minutes=30)
    assert await opener.handle(confirmed("c1")) == []
    assert len(sim.workorders.orders) == 1


async def test_rejected_and_review_verdicts_file_nothing(
    opener: CaseOpenerStage, sim: SimServer
) -> None:
    for decision in ("rejected", "needs_review"):
        verdict = confirmed("c2").model_copy(update={"decision": decision})
        assert await opener.handle(verdict) == []
    assert sim.workorders.orders == {}


async def test_system_down_keeps_the_filing_until_a_sweep_delivers_it(
    opener: CaseOpenerStage, supervisor: Supervisor, sim: SimServer, ctx: StageContext
) -> None:
    sim.workorders.faults.append(FaultSpec(kind="error_5xx", times=1))
    (pending,) = await opener.handle(confirmed("c3"))
    assert isinstance(pending, Case) and pending.status == "pending"
    assert (await ctx.store.counts())["outbox_pending"] == 1
    changed = await supervisor.sweep(now=DECIDED)
    assert [c.status for c in changed] == ["filed"]
    assert len(sim.workorders.orders) == 1
    assert (await ctx.store.counts())["outbox_pending"] == 0


async def test_timeout_after_accept_does_not_file_twice(
    opener: CaseOpenerStage, supervisor: Supervisor, sim: SimServer
) -> None:
    sim.workorders.faults.append(FaultSpec(kind="timeout_after_accept", times=1, delay_s=2))
    (pending,) = await opener.handle(confirmed("c4"))
    assert isinstance(pending, Case) and pending.status == "pending"
    (filed,) = await supervisor.sweep(now=DECIDED)
    assert filed.status == "filed"
    assert len(sim.workorders.orders) == 1
    assert sim.workorders.posts_received == 2  # the retry reached the system, deduplicated


async def test_supervision_syncs_status_until_closed(
    opener: CaseOpenerStage, supervisor: Supervisor, sim: SimServer, ctx: StageContext
) -> None:
    await opener.handle(confirmed("c5"))
    order = next(iter(sim.workorders.orders.values()))
    sim.workorders.advance(order)
    (case,) = await supervisor.sweep(now=DECIDED)
    assert case.status == "dispatched" and case.history[-1].by == "workorder"
    sim.workorders.advance(order, 3)
    (case,) = await supervisor.sweep(now=DECIDED)
    # the unit is done; an urgent case waits for a person's 办结审核 before 回访 closes it
    assert case.status == "resolved" and case.reply and "复核" in case.reply
    assert await supervisor.sweep(now=DECIDED) == []
    approved = await supervisor.approve_closure(case, by="analyst:li", check="电话回访现场已修复")
    await ctx.store.save_case(approved)
    (case,) = await supervisor.sweep(now=DECIDED)
    assert (case.status, case.satisfaction) == ("closed", "satisfied")
    assert await supervisor.sweep(now=DECIDED) == []
    stored = await ctx.store.get_case(case_id_for("c5"))
    assert stored is not None
    assert [e.status for e in stored.history] == [
        "pending",
        "filed",
        "dispatched",
        "resolved",
        "resolved",
        "closed",
    ]


async def test_several_work_orders_are_read_at_once_and_unknown_ids_left_out(
    opener: CaseOpenerStage, sim: SimServer
) -> None:
    for cluster in ("c7", "c8"):
        await opener.handle(confirmed(cluster))
    ids = list(sim.workorders.orders)
    client = WorkOrderClient(sim.workorder_url, timeout_s=5)
    try:
        several = await client.statuses([*ids, "SZ-NO-SUCH-ORDER"])
        alone = {external_id: await client.status(external_id) for external_id in ids}
    finally:
        await client.close()
    assert len(ids) == 2 and several == alone


async def test_overdue_cases_are_escalated_on_schedule(
    opener: CaseOpenerStage, supervisor: Supervisor, sim: SimServer
) -> None:
    (case,) = await opener.handle(confirmed("c6"))
    assert isinstance(case, Case)
    due = case.dispatch_due
    assert await supervisor.sweep(now=due - timedelta(minutes=1)) == []
    (late,) = await supervisor.sweep(now=due + timedelta(minutes=1))
    assert late.escalations == 1 and late.history[-1].note.startswith("督办")
    assert await supervisor.sweep(now=due + timedelta(minutes=5)) == []
    (later,) = await supervisor.sweep(now=due + timedelta(minutes=17))
    assert later.escalations == 2
    assert late.external_id is not None
    assert len(sim.workorders.orders[late.external_id].escalations) == 2


def test_routing_names_the_unit_that_acts() -> None:
    routing = load_routing(Path(__file__).resolve().parents[2] / "configs")
    noise = routing.route("noise", Geo(district="南山区", street="粤海街道"), "工地半夜打桩")
    assert (noise.unit, noise.level) == ("深圳市生态环境局南山管理局", "district")
    assert routing.route("noise", Geo(), "工地打桩").unit == "深圳市生态环境局"
    bus = routing.route("public_transport", Geo(district="南山区"), "公交班次太少")
    assert bus.unit == "深圳市交通运输局"
