"""Analysts' actions publish verdicts on the bus, update the queue and write the audit log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from console import create_app
from tests.console import samples
from tests.console.conftest import TOKENS, bearer, log_in
from xianban.records import Record, Verdict, utcnow
from xianban.settings import Settings
from xianban.store import Store
from xianban.store.listing import confirmed_without_case


@pytest.fixture
async def queued(store: Store) -> Store:
    await store.record_verdict(samples.needs_review(1))
    await store.record_verdict(samples.needs_review(2))
    return store


async def test_confirm_publishes_an_analyst_verdict(
    client: httpx.AsyncClient, queued: Store, published: list[Record]
) -> None:
    csrf = await log_in(client, "analyst", name="zhangwei")
    response = await client.post("/review/cluster-1/confirm", data={"csrf": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/review?done=confirmed"

    [verdict] = published
    assert isinstance(verdict, Verdict)
    assert verdict.topic == "verdicts"
    assert (verdict.decision, verdict.by, verdict.cluster_id) == (
        "confirmed",
        "analyst:zhangwei",
        "cluster-1",
    )
    assert verdict.lead == samples.lead(1)
    assert await queued.latest_verdict("cluster-1") == verdict
    assert [v.cluster_id for v in await queued.review_queue()] == ["cluster-2"]
    audit = [r for r in await queued.list_audit() if r.action != "login"]
    assert [(r.actor, r.action, r.target) for r in audit] == [
        ("zhangwei", "lead.confirmed", "cluster-1")
    ]
    page = (await client.get("/review?done=confirmed")).text
    assert "已确认，线索将立案并报送工单系统" in page
    assert "cluster-1/confirm" not in page


async def test_a_double_click_changes_nothing_the_second_time(
    client: httpx.AsyncClient, queued: Store, published: list[Record]
) -> None:
    for _ in range(2):
        response = await client.post("/review/cluster-1/confirm", headers=bearer("analyst"))
        assert response.status_code == 303
    assert len(published) == 1
    assert len([r for r in await queued.list_audit() if r.action == "lead.confirmed"]) == 1


async def test_reject_keeps_the_reason(
    client: httpx.AsyncClient, queued: Store, published: list[Record]
) -> None:
    response = await client.post(
        "/review/cluster-2/reject", data={"reason": "广告帖，非真实诉求"}, headers=bearer("admin")
    )
    assert response.status_code == 303
    [verdict] = published
    assert isinstance(verdict, Verdict)
    assert (verdict.decision, verdict.reason) == ("rejected", "广告帖，非真实诉求")
    assert verdict.by.startswith("analyst:token-")
    [row] = await queued.list_audit()
    assert (row.action, row.target) == ("lead.rejected", "cluster-2")


async def test_amend_then_confirm_files_the_corrected_lead(
    client: httpx.AsyncClient, queued: Store, published: list[Record]
) -> None:
    csrf = await log_in(client, "analyst", name="liuyang")
    fix = {
        "csrf": csrf,
        "category": "road_traffic",
        "district": "福田区",
        "street": "华富街道",
        "road": "深南大道",
        "poi": "",
    }
    assert (await client.post("/review/cluster-1/amend", data=fix)).status_code == 303
    amended = published[-1]
    assert isinstance(amended, Verdict)
    assert amended.decision == "needs_review"
    assert amended.lead.category == "road_traffic"
    assert amended.lead.geo.model_dump() == {
        "district": "福田区",
        "street": "华富街道",
        "community": None,
        "road": "深南大道",
        "poi": None,
    }
    page = (await client.get("/review")).text
    assert "道路交通" in page and "福田区 · 华富街道 · 深南大道" in page

    await client.post("/review/cluster-1/confirm", data={"csrf": csrf})
    confirmed = published[-1]
    assert isinstance(confirmed, Verdict)
    assert confirmed.decision == "confirmed"
    assert confirmed.lead.category == "road_traffic"
    actions = [r.action for r in await queued.list_audit() if r.actor == "liuyang"]
    assert actions == ["lead.confirmed", "lead.amended", "login"]
    [amend_row] = [r for r in await queued.list_audit() if r.action == "lead.amended"]
    assert amend_row.detail is not None
    assert amend_row.detail["amended"]["category"] == "road_traffic"


async def test_an_unknown_category_is_refused(
    client: httpx.AsyncClient, queued: Store, published: list[Record]
) -> None:
    response = await client.post(
        "/review/cluster-1/amend", data={"category": "aliens"}, headers=bearer("analyst")
    )
    assert response.status_code == 422
    assert published == []


async def test_a_cluster_decided_by_the_rules_cannot_be_decided_again(
    client: httpx.AsyncClient, store: Store, published: list[Record]
) -> None:
    ruled = samples.needs_review(3).model_copy(
        update={"verdict_id": "rule-3", "decision": "confirmed", "by": "rule:corroborated"}
    )
    await store.record_verdict(ruled)
    response = await client.post("/review/cluster-3/reject", headers=bearer("analyst"))
    assert response.status_code == 409
    assert response.json()["detail"] == "该线索已由 rule:corroborated 处理（已确认），无需重复操作"
    missing = await client.post("/review/cluster-404/confirm", headers=bearer("analyst"))
    assert missing.status_code == 404
    assert published == []


async def test_without_a_bus_nothing_is_decided(queued: Store, tmp_path: Path) -> None:
    app = create_app(
        store=queued, publish=None, settings=Settings(data_dir=tmp_path), tokens=TOKENS
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as http:
        response = await http.post("/review/cluster-1/confirm", headers=bearer("analyst"))
    assert response.status_code == 503
    assert "未连接消息总线" in response.json()["detail"]
    latest = await queued.latest_verdict("cluster-1")
    assert latest is not None and latest.decision == "needs_review"
    assert await queued.list_audit() == []


async def test_a_failed_publish_keeps_the_decision_for_supervision(
    queued: Store, tmp_path: Path
) -> None:
    async def broken(record: Record) -> None:
        raise ConnectionError("bus down")

    app = create_app(
        store=queued, publish=broken, settings=Settings(data_dir=tmp_path), tokens=TOKENS
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as http:
        response = await http.post("/review/cluster-1/confirm", headers=bearer("analyst"))
    assert response.status_code == 503
    assert "研判结果已保存" in response.json()["detail"]
    latest = await queued.latest_verdict("cluster-1")
    assert latest is not None and latest.decision == "confirmed"
    # supervision's reconciliation files what never reached the case opener
    lost = await confirmed_without_case(queued, decided_before=utcnow() + timedelta(hours=1))
    assert [v.cluster_id for v in lost] == ["cluster-1"]
    assert [r.action for r in await queued.list_audit()] == ["lead.confirmed"]


async def test_urgent_leads_come_first_in_the_queue(
    client: httpx.AsyncClient, store: Store
) -> None:
    await store.record_verdict(samples.needs_review(1, urgent=True))
    await store.record_verdict(samples.needs_review(2, urgent=False))
    await store.record_verdict(samples.needs_review(3, urgent=True))
    page = (await client.get("/review", headers=bearer("analyst"))).text
    # urgent first; within each group the one waiting longest (its clock runs out first)
    order = [page.index(f'id="lead-cluster-{n}"') for n in (1, 3, 2)]
    assert order == sorted(order)
