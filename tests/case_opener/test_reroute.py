"""退单 → 改派: the simulated city returns a case sent to the wrong unit; supervision re-routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from case_opener.duties import DutiesList
from case_opener.figures import duplicate_cases, routing_figures
from case_opener.stage import CaseOpenerStage
from case_opener.supervision import Supervisor
from sim.platforms.items import Item
from sim.server import SimServer
from xianban.records import Case, Category, Geo, Lead, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DECIDED = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def duties() -> DutiesList:
    return DutiesList.load(CONFIGS)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(corpus_size=600) as server:
        yield server


@pytest.fixture
async def ctx(tmp_path: Path, sim: SimServer) -> AsyncIterator[StageContext]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    settings = Settings(workorder_url=sim.workorder_url, workorder_timeout_s=2.0)
    yield StageContext(settings=settings, store=store)
    await store.close()


def _a_street_problem(sim: SimServer, duties: DutiesList) -> Item:
    """An original post whose truth names its street and whose duty is the street office."""
    for item in sim.platforms.corpus.items:
        t = item.truth
        if t.is_lead and not t.duplicate and t.district and t.street and not t.also:
            route = duties.route(t.category or "", Geo(district=t.district, street=t.street))
            if route.level == "street" and t.category == "city_appearance":
                return item
    raise AssertionError("the corpus has no street-level city_appearance post")


def _verdict(item: Item, category: Category, geo: Geo) -> Verdict:
    lead = Lead(
        lead_id=f"l-{item.native_id}",
        cluster_id=f"c-{item.native_id}",
        post_ids=[f"{item.platform}:{item.native_id}"],
        platform=item.platform,
        text=item.text,
        category=category,
        urgent=False,
        geo=geo,
        score=0.9,
    )
    return Verdict(
        verdict_id=f"v-{item.native_id}",
        cluster_id=lead.cluster_id,
        lead=lead,
        decision="confirmed",
        by="rule:clear_problem",
        reason="问题明确",
        decided_at=DECIDED,
    )


async def test_a_wrong_unit_returns_the_case_and_supervision_reroutes_it(
    ctx: StageContext, sim: SimServer, duties: DutiesList
) -> None:
    item = _a_street_problem(sim, duties)
    truth = item.truth
    geo = Geo(district=truth.district, street=truth.street)
    right = duties.route("city_appearance", geo, item.text, matters=False).unit
    opener = CaseOpenerStage(ctx)
    supervisor = Supervisor(ctx)
    await opener.start()
    await supervisor.start()
    try:
        # filed as education: goes to the district's 教育局, which is not whose it is
        (case,) = await opener.handle(_verdict(item, "education", geo))
        assert isinstance(case, Case) and case.department.endswith("教育局")
        assert case.routing and case.routing[-1].startswith("承办单位：")
        order = sim.workorders.orders[case.external_id or ""]
        assert order.status == "returned" and right in order.return_reason

        (moved,) = await supervisor.sweep(now=DECIDED)
        assert moved.department == right and moved.status == "filed"
        assert moved.reroutes == 1 and moved.first_department == case.department
        assert moved.returned
        assert any("退单" in line for line in moved.routing)
        assert moved.routing[-1] == f"改派至 {right}"
        assert [e.status for e in moved.history] == ["pending", "filed", "returned", "filed"]
        assert moved.reply and right in moved.reply
        assert order.status == "filed" and order.transfers == [right]

        # a second case, routed right the first time
        other = _verdict(item, "city_appearance", geo).model_copy(
            update={"cluster_id": "c-right", "verdict_id": "v-right"}
        )
        other = other.model_copy(
            update={"lead": other.lead.model_copy(update={"cluster_id": "c-right"})}
        )
        (second,) = await opener.handle(other)
        assert isinstance(second, Case) and second.department == right
        assert sim.workorders.orders[second.external_id or ""].status == "filed"
    finally:
        await opener.close()
        await supervisor.close()
    figures = await routing_figures(ctx.store)
    assert figures["first_time_routing"] == 0.5 and figures["cases_rerouted"] == 1
    # both cases are the same incident: the simulator counts the second as a duplicate
    assert await duplicate_cases(sim.workorder_url) == 1
    stats = sim.workorders.stats()
    assert (stats["accepted_first_time"], stats["returned_ever"]) == (1, 1)


async def test_a_case_the_system_cannot_answer_for_does_not_stop_the_sweep(
    ctx: StageContext, sim: SimServer, duties: DutiesList
) -> None:
    """Statuses are read several at a time: one read that fails leaves its case as it was
    and the others are still synced (here: the returned one re-routed)."""
    item = _a_street_problem(sim, duties)
    geo = Geo(district=item.truth.district, street=item.truth.street)
    opener = CaseOpenerStage(ctx)
    supervisor = Supervisor(ctx)
    await opener.start()
    await supervisor.start()
    try:
        (wrong,) = await opener.handle(_verdict(item, "education", geo))
        lost = _verdict(item, "city_appearance", geo).model_copy(
            update={"cluster_id": "c-lost", "verdict_id": "v-lost"}
        )
        lost = lost.model_copy(
            update={"lead": lost.lead.model_copy(update={"cluster_id": "c-lost"})}
        )
        (gone,) = await opener.handle(lost)
        assert isinstance(wrong, Case) and isinstance(gone, Case) and gone.external_id
        del sim.workorders.orders[gone.external_id]  # the system answers 404 for it now

        moved = {c.case_id: c for c in await supervisor.sweep(now=DECIDED)}
        assert moved[wrong.case_id].reroutes == 1
        assert gone.case_id not in moved
        stored = await ctx.store.get_case(gone.case_id)
        assert stored is not None and stored.status == gone.status == "filed"
    finally:
        await opener.close()
        await supervisor.close()
