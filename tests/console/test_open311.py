"""Open311 GeoReport v2: the field list checked field by field, JSON and XML from one
source, the spec's filters over every case, api_key and open reads, GeoReport errors,
and ``georeport`` from PyPI, unchanged, reading us over HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from georeport import GeoReport  # type: ignore[import-untyped]

from console import create_app, tokens
from console.georeport import REQUEST_FIELDS, SERVICE_FIELDS
from tests.console import samples
from tests.console.conftest import TOKENS, bearer
from xianban.asgi_server import EmbeddedServer
from xianban.records import CATEGORIES, Case, CaseEvent, Geo, utcnow
from xianban.settings import ApiSettings, Settings
from xianban.store import Store
from xianban.store.tables import Cases

API = bearer("api")
NOW = utcnow().replace(microsecond=0)


def recent(n: int, *, status: str, days_ago: int, geo: Geo | None = None) -> Case:
    opened = NOW - timedelta(days=days_ago)
    base = samples.case(n, status="dispatched", escalations=0)
    history = [
        CaseEvent(at=opened, status="pending", note="立案，待报送工单系统"),
        CaseEvent(at=opened + timedelta(minutes=5), status=status, note="研判：rule:x 内部说明"),
    ]
    description = (
        f"天桥台阶断了一块，电话 {samples.PHONE}\n\n线索来源：weibo https://weibo.example/1\n"
        "研判：rule:corroboration（多源印证）\n依据：命中市政设施关键词"
    )
    return base.model_copy(
        update={
            "status": status,
            "opened_at": opened,
            "dispatch_due": opened + timedelta(minutes=30),
            "history": history,
            "description": description,
            "geo": geo or base.geo,
            "reply": "已安排维修，预计明日完成" if status == "in_progress" else None,
        }
    )


@pytest.fixture
async def cases(store: Store) -> list[Case]:
    made = [
        recent(1, status="in_progress", days_ago=1),
        recent(2, status="closed", days_ago=3, geo=Geo(district="福田区")),
        recent(3, status="filed", days_ago=120),
    ]
    for case in made:
        await store.save_case(case)
    return made


@pytest.fixture
async def many(store: Store, cases: list[Case]) -> list[Case]:
    """1,100 older cases besides: more than the newest 1,000 the old endpoint looked at."""
    old = [recent(n, status="filed", days_ago=200) for n in range(4, 1104)]
    rows = [
        {
            "case_id": c.case_id,
            "cluster_id": c.cluster_id,
            "status": c.status,
            "opened_at": c.opened_at,
            "updated_at": c.history[-1].at,
            "data": c.model_dump(mode="json"),
        }
        for c in old
    ]
    async with store._tx() as conn:  # one statement: 1,100 saves would take a minute
        await conn.execute(store._insert(Cases).values(rows))
    return [*cases, *old]


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(hours=8), text
    return moment


async def test_services_field_by_field(client: httpx.AsyncClient) -> None:
    services = (await client.get("/open311/v2/services.json", headers=API)).json()
    assert [s["service_code"] for s in services] == list(CATEGORIES)
    for s in services:
        assert tuple(s) == SERVICE_FIELDS
        assert isinstance(s["service_name"], str) and s["service_name"]
        assert isinstance(s["description"], str)
        assert s["metadata"] is False
        assert s["type"] in ("realtime", "batch", "blackbox")
        assert isinstance(s["keywords"], str) and isinstance(s["group"], str)
    one = (await client.get("/open311/v2/services/noise.json", headers=API)).json()
    assert one == {"service_code": "noise", "attributes": []}
    missing = await client.get("/open311/v2/services/ufo.json", headers=API)
    assert missing.status_code == 404
    assert missing.json() == [{"code": 404, "description": "没有这个服务类别：ufo"}]


async def test_a_request_field_by_field(client: httpx.AsyncClient, cases: list[Case]) -> None:
    (request,) = (await client.get("/open311/v2/requests/XB-CASE0001.json", headers=API)).json()
    assert tuple(request) == REQUEST_FIELDS
    assert request["service_request_id"] == "XB-CASE0001"
    assert request["status"] == "open"
    assert request["status_notes"] == "处置中：已安排维修，预计明日完成"
    assert request["service_name"] == "市政设施"
    assert request["service_code"] == "municipal_facilities"
    assert request["description"] == "天桥台阶断了一块，电话 138****5678"
    for internal in ("研判", "依据", "线索来源", "rule:"):
        assert internal not in str(request)
    assert request["agency_responsible"] == "龙华区城市管理和综合执法局"
    assert request["service_notice"] == ""
    opened = _aware(request["requested_datetime"])
    assert opened == cases[0].opened_at
    assert _aware(request["updated_datetime"]) == opened + timedelta(minutes=5)
    assert request["expected_datetime"] is None  # dispatched: no handling deadline set yet
    assert request["address"] == "深圳市龙华区龙华街道 龙观大道 龙华汽车站"
    assert request["address_id"] is None and request["zipcode"] is None
    assert isinstance(request["lat"], float) and isinstance(request["long"], float)
    assert 22.4 < request["lat"] < 22.9 and 113.7 < request["long"] < 114.7  # Shenzhen
    assert request["media_url"] is None
    district_only = (await client.get("/open311/v2/requests/XB-CASE0002.json", headers=API)).json()
    assert district_only[0]["status"] == "closed"
    assert district_only[0]["lat"] is None and district_only[0]["long"] is None


async def test_xml_says_what_json_says(client: httpx.AsyncClient, cases: list[Case]) -> None:
    for path, root, item in (
        ("/open311/v2/services", "services", "service"),
        ("/open311/v2/requests", "service_requests", "request"),
        ("/open311/v2/requests/XB-CASE0001", "service_requests", "request"),
    ):
        as_json = (await client.get(f"{path}.json", headers=API)).json()
        response = await client.get(f"{path}.xml", headers=API)
        assert response.headers["content-type"].startswith("text/xml")
        tree = ET.fromstring(response.content)
        assert tree.tag == root
        items = tree.findall(item)
        assert len(items) == len(as_json)
        for element, entry in zip(items, as_json, strict=True):
            assert [child.tag for child in element] == list(entry)
            for child in element:
                value = entry[child.tag]
                expected = (
                    ""
                    if value is None
                    else str(value).lower()
                    if isinstance(value, bool)
                    else str(value)
                )
                assert (child.text or "") == expected, child.tag
    error = await client.get("/open311/v2/requests/XB-NONE.xml", headers=API)
    assert error.status_code == 404
    tree = ET.fromstring(error.content)
    assert tree.tag == "errors" and tree.find("error/code").text == "404"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["XB-CASE0001", "XB-CASE0002"]),  # the last 90 days
        ("status=closed", ["XB-CASE0002"]),
        ("status=open", ["XB-CASE0001"]),
        ("status=open,closed", ["XB-CASE0001", "XB-CASE0002"]),
        ("service_request_id=XB-CASE0003,XB-CASE1103,XB-OTHER", ["XB-CASE0003", "XB-CASE1103"]),
        ("service_code=noise", []),
        ("service_code=noise,municipal_facilities", ["XB-CASE0001", "XB-CASE0002"]),
    ],
)
async def test_the_standard_filters_over_every_case(
    client: httpx.AsyncClient, many: list[Case], query: str, expected: list[str]
) -> None:
    found = (await client.get(f"/open311/v2/requests.json?{query}", headers=API)).json()
    assert sorted(r["service_request_id"] for r in found) == expected


async def test_dates_windows_and_pages(client: httpx.AsyncClient, many: list[Case]) -> None:
    old = (NOW - timedelta(days=200)).date()
    start = f"{old - timedelta(days=1)}"  # a bare date: Beijing time
    found = await client.get(f"/open311/v2/requests.json?start_date={start}", headers=API)
    assert found.status_code == 200
    assert len(found.json()) == 1000  # page_size's default and maximum
    rest = await client.get(f"/open311/v2/requests.json?start_date={start}&page=2", headers=API)
    assert len(rest.json()) == 101  # the 1,100 and the 120-day-old one
    naive = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    since = await client.get(f"/open311/v2/requests.json?start_date={naive}", headers=API)
    assert [r["service_request_id"] for r in since.json()] == ["XB-CASE0001"]
    wide = await client.get(
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        headers=API,
    )
    assert wide.status_code == 400
    assert "90" in wide.json()[0]["description"]
    garbage = await client.get("/open311/v2/requests.json?start_date=yesterday", headers=API)
    assert garbage.status_code == 400 and garbage.json()[0]["code"] == 400
    bad_code = await client.get("/open311/v2/requests.json?service_code=ufo", headers=API)
    assert bad_code.json() == [{"code": 400, "description": "未知的 service_code：ufo"}]
    elsewhere = await client.get(
        "/open311/v2/services.json?jurisdiction_id=beijing.gov.cn", headers=API
    )
    assert elsewhere.status_code == 404
    here = await client.get("/open311/v2/services.json?jurisdiction_id=sz.gov.cn", headers=API)
    assert here.status_code == 200


async def test_api_key_and_open_reads(
    client: httpx.AsyncClient, store: Store, app: FastAPI
) -> None:
    anonymous = await client.get("/open311/v2/services.json")
    assert anonymous.status_code == 401
    assert anonymous.json()[0]["code"] == 401 and "api_key" in anonymous.json()[0]["description"]
    secret, _ = await tokens.issue(store, consumer="citizen-app", scopes=["cases:read"])
    assert (await client.get(f"/open311/v2/services.json?api_key={secret}")).status_code == 200
    writer, _ = await tokens.issue(store, consumer="w", scopes=["cases:write"])
    refused = await client.get(f"/open311/v2/services.json?api_key={writer}")
    assert refused.status_code == 403 and "cases:read" in refused.json()[0]["description"]
    app.state.settings = app.state.settings.model_copy(
        update={"api": ApiSettings(open311_public=True)}
    )
    assert (await client.get("/open311/v2/services.json")).status_code == 200
    assert (await client.get("/open311/discovery.json")).json()["endpoints"][0]["url"] == (
        "http://console.test/open311/v2"
    )
    assert (await client.get("/api/v1/cases")).status_code == 401  # only Open311 opens


@pytest.fixture
async def served(
    store: Store, cases: list[Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path, api=ApiSettings(open311_public=True))
    app = create_app(store=store, publish=None, settings=settings, tokens=TOKENS)
    server = EmbeddedServer(app, host="127.0.0.1", port=0)
    await server.start()
    try:
        yield f"{server.url}/open311/v2"
    finally:
        await server.stop()


@pytest.mark.parametrize("output_format", ["json", "xml"])
async def test_the_georeport_client_reads_us_unchanged(served: str, output_format: str) -> None:
    import asyncio

    client = GeoReport(served, output_format=output_format)
    services = await asyncio.to_thread(client.get_service_list)
    assert [s["service_code"] for s in services] == list(CATEGORIES)
    assert services[0]["service_name"] == "道路交通"
    requests = await asyncio.to_thread(client.get_service_requests)
    assert sorted(r["service_request_id"] for r in requests) == ["XB-CASE0001", "XB-CASE0002"]
    closed = await asyncio.to_thread(client.get_service_requests, status="closed")
    closed = closed if isinstance(closed, list) else [closed]  # XML: one <request> is a dict
    assert [r["service_request_id"] for r in closed] == ["XB-CASE0002"]
    one = await asyncio.to_thread(client.get_service_request, "XB-CASE0001")
    assert one["service_request_id"] == "XB-CASE0001"
    assert one["agency_responsible"] == "龙华区城市管理和综合执法局"
    assert str(one["requested_datetime"]).endswith("+08:00")
    assert float(one["lat"]) > 22.4
    definition = await asyncio.to_thread(client.get_service_definition, "noise")
    assert definition["service_code"] == "noise"
