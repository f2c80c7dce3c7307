"""办结审核 and 回访 in the console: routed, explained, approved with a check, closed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from case_opener.stage import CaseOpenerStage
from case_opener.supervision import Supervisor
from console import create_app
from sim.server import SimServer
from tests.console.conftest import TOKENS, log_in
from xianban.records import Case, Geo, Lead, Record, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

DECIDED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def urgent_verdict() -> Verdict:
    lead = Lead(
        lead_id="l-u",
        cluster_id="c-u",
        post_ids=["weibo:u"],
        platform="weibo",
        text="石岩街道浪心社区楼道一股燃气味，越来越浓",
        category="water_power_gas",
        urgent=True,
        urgency_triggers=["燃气味"],
        geo=Geo(district="宝安区", street="石岩街道"),
        score=0.9,
    )
    return Verdict(
        verdict_id="v-u",
        cluster_id="c-u",
        lead=lead,
        decision="confirmed",
        by="rule:urgent_hazard",
        reason="加急隐患",
        decided_at=DECIDED,
    )


async def resolved_case(sim: SimServer, ctx: StageContext) -> Case:
    """An urgent case filed with the simulated city, which reports it resolved."""
    opener, supervisor = CaseOpenerStage(ctx), Supervisor(ctx)
    await opener.start()
    await supervisor.start()
    try:
        (case,) = await opener.handle(urgent_verdict())
        assert isinstance(case, Case) and case.external_id
        assert case.department == "深圳市燃气集团股份有限公司"
        sim.workorders.advance(sim.workorders.orders[case.external_id], 3)
        (case,) = await supervisor.sweep(now=DECIDED + timedelta(minutes=20))
        assert case.status == "resolved"
    finally:
        await opener.close()
        await supervisor.close()
    return case


async def no_connection_left(sim: SimServer) -> None:
    """The console keeps no client open to the work-order system (uvicorn would close an
    idle keep-alive connection itself only after 5 s)."""
    for _ in range(100):
        if sim.open_connections == 0:
            return
        await asyncio.sleep(0.02)
    assert sim.open_connections == 0


async def test_an_analyst_approves_closure_with_a_check_and_records_the_follow_up(
    store: Store, tmp_path: Path
) -> None:
    published: list[Record] = []

    async def publish(record: Record) -> None:
        published.append(record)

    async with SimServer(corpus_size=50, judge_routing=False) as sim:
        settings = Settings(data_dir=tmp_path, workorder_url=sim.workorder_url)
        case = await resolved_case(sim, StageContext(settings=settings, store=store))
        app = create_app(store=store, publish=publish, settings=settings, tokens=TOKENS)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
            csrf = await log_in(client, "analyst", name="zhou")
            page = (await client.get(f"/cases/{case.case_id}")).text
            assert "派单依据" in page and "水电燃气·燃气（命中“燃气”）" in page
            assert "办结审核" in page and "加急工单须填写复核情况" in page
            url = f"/cases/{case.case_id}"
            no_check = await client.post(
                f"{url}/closure", data={"csrf": csrf, "decision": "approve"}
            )
            assert no_check.status_code == 409 and "复核情况" in no_check.json()["detail"]
            approved = await client.post(
                f"{url}/closure",
                data={"csrf": csrf, "decision": "approve", "note": "燃气公司现场复核，已更换阀门"},
            )
            assert approved.status_code == 303
            page = (await client.get(url)).text
            assert "回访" in page and "记录回访" in page
            assert "回访话术：您好，这里是先办回访" in page  # the reply template's 回访 script
            done = await client.post(
                f"{url}/follow-up",
                data={
                    "csrf": csrf,
                    "satisfaction": "basically_satisfied",
                    "note": "居民称已无异味",
                },
            )
            assert done.status_code == 303
            page = (await client.get(url)).text
            assert "基本满意" in page and "已结案" in page
        await no_connection_left(sim)

    stored = await store.get_case(case.case_id)
    assert stored is not None and (stored.status, stored.satisfaction) == (
        "closed",
        "basically_satisfied",
    )
    assert [c.status for c in published if isinstance(c, Case)] == ["resolved", "closed"]
    actions = [
        (r.actor, r.action) for r in await store.list_audit() if r.action.startswith("case.")
    ]
    assert actions == [("zhou", "case.follow_up"), ("zhou", "case.closure_approved")]


async def test_a_closure_sent_back_reaches_the_city_and_leaves_no_client_open(
    store: Store, tmp_path: Path
) -> None:
    async def publish(record: Record) -> None:
        pass

    async with SimServer(corpus_size=50, judge_routing=False) as sim:
        settings = Settings(data_dir=tmp_path, workorder_url=sim.workorder_url)
        case = await resolved_case(sim, StageContext(settings=settings, store=store))
        await no_connection_left(sim)
        app = create_app(store=store, publish=publish, settings=settings, tokens=TOKENS)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
            csrf = await log_in(client, "analyst", name="zhou")
            returned = await client.post(
                f"/cases/{case.case_id}/closure",
                data={"csrf": csrf, "decision": "return", "note": "现场仍有异味"},
            )
            assert returned.status_code == 303
        assert case.external_id is not None
        assert len(sim.workorders.orders[case.external_id].reopens) == 1
        await no_connection_left(sim)
