"""Ticket API v1, Open311 GeoReport v2, health and metrics: shapes, filters, masking."""

from __future__ import annotations

import httpx
import pytest

from tests.console import samples
from tests.console.conftest import bearer
from xianban.records import CATEGORIES, Case
from xianban.store import Store

API = bearer("api")


@pytest.fixture
async def cases(store: Store) -> list[Case]:
    made = [samples.case(1), samples.case(2, status="closed", escalations=0)]
    for case in made:
        await store.save_case(case)
    await store.upsert_lead(samples.lead(1))
    return made


async def test_case_list_shape_filter_and_limit(
    client: httpx.AsyncClient, cases: list[Case]
) -> None:
    body = (await client.get("/api/v1/cases", headers=API)).json()
    assert body["count"] == 2
    assert {c["case_id"] for c in body["cases"]} == {"XB-CASE0001", "XB-CASE0002"}
    closed = (await client.get("/api/v1/cases?status=closed", headers=API)).json()
    assert [c["case_id"] for c in closed["cases"]] == ["XB-CASE0002"]
    assert (await client.get("/api/v1/cases?limit=1", headers=API)).json()["count"] == 1
    assert (await client.get("/api/v1/cases?limit=0", headers=API)).status_code == 422
    bad = await client.get("/api/v1/cases?status=lost", headers=API)
    assert bad.status_code == 400


async def test_one_case_round_trips_except_for_masked_numbers(
    client: httpx.AsyncClient, cases: list[Case]
) -> None:
    response = await client.get("/api/v1/cases/XB-CASE0001", headers=API)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    original = cases[0]
    assert body["description"] == (
        original.description.replace(samples.PHONE, "138****5678").replace(
            samples.ID_NUMBER, "4403**********1234"
        )
    )
    assert Case.from_dict({**body, "description": original.description}) == original
    assert samples.PHONE not in response.text
    missing = await client.get("/api/v1/cases/XB-NONE", headers=API)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "没有找到工单 XB-NONE"}


async def test_lead_by_id(client: httpx.AsyncClient, cases: list[Case]) -> None:
    body = (await client.get("/api/v1/leads/lead-1", headers=API)).json()
    assert body["cluster_id"] == "cluster-1"
    assert body["category"] == "municipal_facilities"
    assert "138****5678" in body["text"]
    assert (await client.get("/api/v1/leads/nope", headers=API)).status_code == 404


async def test_open311_services_are_the_18_categories(client: httpx.AsyncClient) -> None:
    services = (await client.get("/open311/v2/services.json", headers=API)).json()
    assert [s["service_code"] for s in services] == list(CATEGORIES)
    by_code = {s["service_code"]: s for s in services}
    assert by_code["noise"]["service_name"] == "噪声扰民"
    assert by_code["road_traffic"]["service_name"] == "道路交通"
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)


async def test_open311_requests_map_our_cases(client: httpx.AsyncClient, cases: list[Case]) -> None:
    requests = (await client.get("/open311/v2/requests.json", headers=API)).json()
    by_id = {r["service_request_id"]: r for r in requests}
    first = by_id["XB-CASE0001"]
    assert first["status"] == "open"
    assert first["service_code"] == "municipal_facilities"
    assert first["service_name"] == "市政设施"
    assert first["agency_responsible"] == "龙华区城市管理和综合执法局"
    assert first["address"] == "龙华区 · 龙华街道 · 龙观大道 · 龙华汽车站"
    assert first["status_notes"] == "督办：超时未派单，已提醒承办部门"
    assert first["service_notice"] == "已督办 1 次"
    assert first["requested_datetime"] == "2026-11-20T01:30:00+00:00"
    assert first["expected_datetime"] == "2026-11-20T02:00:00+00:00"
    assert by_id["XB-CASE0002"]["status"] == "closed"
    assert samples.PHONE not in str(requests)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=closed", ["XB-CASE0002"]),
        ("status=open", ["XB-CASE0001"]),
        ("service_request_id=XB-CASE0002,XB-OTHER", ["XB-CASE0002"]),
        ("service_code=noise", []),
        ("start_date=2026-11-21T00:00:00%2B08:00", []),
        ("end_date=2026-11-21T00:00:00Z", ["XB-CASE0001", "XB-CASE0002"]),
    ],
)
async def test_open311_request_filters(
    client: httpx.AsyncClient, cases: list[Case], query: str, expected: list[str]
) -> None:
    found = (await client.get(f"/open311/v2/requests.json?{query}", headers=API)).json()
    assert sorted(r["service_request_id"] for r in found) == expected


async def test_open311_errors_use_the_georeport_shape(
    client: httpx.AsyncClient, cases: list[Case]
) -> None:
    unknown = await client.get("/open311/v2/requests.json?service_code=ufo", headers=API)
    assert unknown.status_code == 400
    assert unknown.json() == [{"code": 400, "description": "未知的 service_code：ufo"}]
    naive = await client.get(
        "/open311/v2/requests.json?start_date=2026-11-21T00:00:00", headers=API
    )
    assert naive.status_code == 400
    missing = await client.get("/open311/v2/requests/XB-NONE.json", headers=API)
    assert missing.status_code == 404
    assert missing.json() == [{"code": 404, "description": "没有找到服务请求 XB-NONE"}]
    one = (await client.get("/open311/v2/requests/XB-CASE0001.json", headers=API)).json()
    assert [r["service_request_id"] for r in one] == ["XB-CASE0001"]


async def test_metrics_exposition_for_ops(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics", headers=bearer("ops"))
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE xianban_console_analyst_actions_total counter" in response.text


async def test_invalid_parameters_are_named_without_echoing_the_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/api/v1/cases?limit={samples.PHONE}9", headers=API)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("请求参数不正确：query.limit")
    assert body["problems"][0]["field"] == "query.limit"
    assert samples.PHONE not in response.text
