"""Ticket API v1: cursor pages, filters, ETags, problem documents, write-back, tokens."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from console import tokens
from tests.console import samples
from tests.console.conftest import bearer
from xianban.records import Case
from xianban.store import Store
from xianban.store.ticket_api import list_tokens

API = bearer("api")


@pytest.fixture
async def cases(store: Store) -> list[Case]:
    routed = samples.case(1).model_copy(
        update={
            "routing": ["市政设施·天桥 → 区城管局（职责清单第 12 条）", "龙华区 → 龙华区城管局"],
            "unit_level": "district",
            "first_department": "龙华区城市管理和综合执法局",
        }
    )
    made = [routed, samples.case(2, status="closed", escalations=0)]
    for n in range(3, 6):
        made.append(samples.case(n, status="filed", escalations=0))
    for case in made:
        await store.save_case(case)
    await store.upsert_lead(samples.lead(1))
    await store.upsert_lead(samples.lead(2, urgent=False))
    await store.record_verdict(samples.needs_review(1))
    return made


async def _token(store: Store, *scopes: str, departments: tuple[str, ...] = ()) -> dict[str, str]:
    secret, _ = await tokens.issue(
        store, consumer="longhua", scopes=list(scopes), departments=departments
    )
    return {"Authorization": f"Bearer {secret}"}


async def test_case_pages_follow_the_cursor_to_the_end(
    client: httpx.AsyncClient, cases: list[Case]
) -> None:
    seen: list[str] = []
    url = "/api/v1/cases?limit=2"
    while True:
        body = (await client.get(url, headers=API)).json()
        seen += [c["case_id"] for c in body["cases"]]
        if body["next_cursor"] is None:
            break
        url = f"/api/v1/cases?limit=2&cursor={body['next_cursor']}"
    assert sorted(seen) == sorted(c.case_id for c in cases)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=closed", ["XB-CASE0002"]),
        ("status=dispatched,closed", ["XB-CASE0001", "XB-CASE0002"]),
        ("category=noise", []),
        ("district=龙华区&street=龙华街道&status=closed", ["XB-CASE0002"]),
        ("street=民治街道", []),
        ("urgency=ordinary", []),
        ("updated_since=2026-11-20T10:10:00%2B08:00", [f"XB-CASE000{n}" for n in range(1, 6)]),
        ("updated_since=2026-11-20T10:10:01%2B08:00", []),
        ("updated_since=2030-01-01", []),
    ],
)
async def test_case_filters(
    client: httpx.AsyncClient, cases: list[Case], query: str, expected: list[str]
) -> None:
    body = (await client.get(f"/api/v1/cases?{query}", headers=API)).json()
    assert sorted(c["case_id"] for c in body["cases"]) == expected


async def test_errors_are_problem_documents_with_stable_codes(
    client: httpx.AsyncClient, cases: list[Case]
) -> None:
    missing = await client.get("/api/v1/cases/XB-NONE", headers=API)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json() == {
        "type": "/api/docs#problem-case_not_found",
        "title": "没有找到工单",
        "status": 404,
        "detail": "没有找到工单 XB-NONE",
        "instance": "/api/v1/cases/XB-NONE",
        "code": "case_not_found",
    }
    bad = (await client.get("/api/v1/cases?status=lost", headers=API)).json()
    assert bad["code"] == "invalid_parameter" and "query.status" in bad["detail"]
    cursor = (await client.get("/api/v1/cases?limit=1", headers=API)).json()["next_cursor"]
    other = await client.get(f"/api/v1/cases?limit=1&status=filed&cursor={cursor}", headers=API)
    assert other.status_code == 400 and other.json()["code"] == "invalid_cursor"
    forged = await client.get("/api/v1/cases?cursor=bm90LWEtY3Vyc29y", headers=API)
    assert forged.json()["code"] == "invalid_cursor"
    nowhere = await client.get("/api/v1/nowhere", headers=API)
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "not_found"


async def test_invalid_parameters_are_named_without_echoing_the_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(f"/api/v1/cases?limit={samples.PHONE}9", headers=API)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert body["detail"].startswith("请求参数不正确：query.limit")
    assert body["problems"][0]["field"] == "query.limit"
    assert samples.PHONE not in response.text


async def test_etag_and_if_none_match(client: httpx.AsyncClient, cases: list[Case]) -> None:
    first = await client.get("/api/v1/cases/XB-CASE0001", headers=API)
    etag = first.headers["etag"]
    again = await client.get("/api/v1/cases/XB-CASE0001", headers={**API, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
    listing = await client.get("/api/v1/cases", headers=API)
    same = await client.get(
        "/api/v1/cases", headers={**API, "If-None-Match": f"W/{listing.headers['etag']}"}
    )
    assert same.status_code == 304
    await client.post(
        "/api/v1/cases/XB-CASE0001/status", headers=API, json={"status": "in_progress"}
    )
    changed = await client.get("/api/v1/cases/XB-CASE0001", headers={**API, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_a_case_with_history_routing_and_masked_numbers(
    client: httpx.AsyncClient, cases: list[Case]
) -> None:
    response = await client.get("/api/v1/cases/XB-CASE0001", headers=API)
    body = response.json()
    assert [e["status"] for e in body["status_history"]] == ["pending", "filed", "dispatched"]
    assert body["status_history"][2]["status_label"] == "已派单"
    assert body["routing_explanation"]["steps"][0].startswith("市政设施·天桥")
    assert body["routing_explanation"]["unit_level"] == "district"
    assert body["allowed_transitions"] == ["in_progress", "resolved", "returned"]
    assert samples.PHONE not in response.text and "138****5678" in body["description"]
    plain = (await client.get("/api/v1/cases/XB-CASE0002", headers=API)).json()
    assert plain["routing_explanation"] is None


async def test_leads_with_their_cluster_status_and_the_cluster(
    client: httpx.AsyncClient, cases: list[Case]
) -> None:
    body = (await client.get("/api/v1/leads", headers=API)).json()
    assert {(lead["lead_id"], lead["status"]) for lead in body["leads"]} == {
        ("lead-1", "needs_review"),
        ("lead-2", "unverified"),
    }
    urgent = (await client.get("/api/v1/leads?urgency=urgent", headers=API)).json()
    assert [lead["lead_id"] for lead in urgent["leads"]] == ["lead-1"]
    review = (await client.get("/api/v1/leads?status=unverified", headers=API)).json()
    assert [lead["lead_id"] for lead in review["leads"]] == ["lead-2"]
    one = (await client.get("/api/v1/leads/lead-1", headers=API)).json()
    assert one["cluster_id"] == "cluster-1" and "138****5678" in one["text"]
    cluster = (await client.get("/api/v1/clusters/cluster-1", headers=API)).json()
    assert cluster["status"] == "needs_review" and cluster["case_id"] == "XB-CASE0001"
    assert [lead["lead_id"] for lead in cluster["leads"]] == ["lead-1"]
    assert (await client.get("/api/v1/clusters/nope", headers=API)).json()["code"] == (
        "cluster_not_found"
    )


async def test_write_back_follows_the_state_machine(
    client: httpx.AsyncClient, cases: list[Case], store: Store, published: list[object]
) -> None:
    writer = await _token(store, "cases:read", "cases:write")
    url = "/api/v1/cases/XB-CASE0001"
    started = await client.post(
        f"{url}/status", headers=writer, json={"status": "in_progress", "note": "已到场"}
    )
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "in_progress"
    assert started.json()["status_history"][-1]["by"] == "api:longhua"
    again = await client.post(
        f"{url}/status", headers=writer, json={"status": "in_progress", "note": "已到场"}
    )
    assert again.status_code == 200 and len(again.json()["history"]) == 4  # a retry: no change
    closing = await client.post(f"{url}/status", headers=writer, json={"status": "closed"})
    assert closing.status_code == 409
    assert closing.json()["code"] == "invalid_transition"
    backwards = await client.post(f"{url}/status", headers=writer, json={"status": "filed"})
    assert backwards.json()["code"] == "invalid_transition"
    assert "in_progress" in backwards.json()["detail"]
    no_reason = await client.post(f"{url}/status", headers=writer, json={"status": "returned"})
    assert no_reason.json()["code"] == "invalid_parameter"
    replied = await client.post(
        f"{url}/replies", headers=writer, json={"text": "台阶已修复，感谢反映。"}
    )
    assert replied.json()["reply"] == "台阶已修复，感谢反映。"
    checked = await client.post(
        f"{url}/site-check", headers=writer, json={"result": "confirmed", "note": "属实，已围挡"}
    )
    assert checked.json()["status_history"][-1]["note"] == "现场核查：情况属实（属实，已围挡）"
    done = await client.post(
        f"{url}/status", headers=writer, json={"status": "resolved", "note": "已修复"}
    )
    assert done.json()["status"] == "resolved"
    saved = await store.get_case("XB-CASE0001")
    assert saved is not None and saved.status == "resolved" and saved.reply
    assert [c.status for c in published if isinstance(c, Case)] == [
        "in_progress",
        "in_progress",
        "in_progress",
        "resolved",
    ]
    closed = await client.post(
        "/api/v1/cases/XB-CASE0002/replies", headers=writer, json={"text": "再答复"}
    )
    assert closed.status_code == 409


async def test_if_match_guards_against_lost_updates(
    client: httpx.AsyncClient, cases: list[Case], store: Store
) -> None:
    writer = await _token(store, "cases:read", "cases:write")
    url = "/api/v1/cases/XB-CASE0001"
    etag = (await client.get(url, headers=writer)).headers["etag"]
    await client.post(f"{url}/replies", headers=writer, json={"text": "第一条答复"})
    stale = await client.post(
        f"{url}/status", headers={**writer, "If-Match": etag}, json={"status": "in_progress"}
    )
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    fresh = (await client.get(url, headers=writer)).headers["etag"]
    ok = await client.post(
        f"{url}/status", headers={**writer, "If-Match": fresh}, json={"status": "in_progress"}
    )
    assert ok.status_code == 200


async def test_a_token_writes_back_only_for_its_departments(
    client: httpx.AsyncClient, cases: list[Case], store: Store
) -> None:
    other = await _token(store, "cases:read", "cases:write", departments=("福田区城管局",))
    refused = await client.post(
        "/api/v1/cases/XB-CASE0001/status", headers=other, json={"status": "in_progress"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "case_out_of_scope"
    read = (await client.get("/api/v1/cases/XB-CASE0001", headers=other)).json()
    assert read["allowed_transitions"] == []


async def test_tokens_are_hashed_at_rest_scoped_rotated_and_revoked(
    client: httpx.AsyncClient, store: Store, app: FastAPI
) -> None:
    admin = bearer("admin")
    issued = await client.post(
        "/api/v1/tokens", headers=admin, json={"consumer": "futian", "scopes": ["cases:read"]}
    )
    assert issued.status_code == 201, issued.text
    secret = issued.json()["token"]
    assert secret.startswith("xbk_")
    kept = await list_tokens(store)
    assert [t.consumer for t in kept] == ["futian"]
    assert secret not in repr(kept)
    mine = {"Authorization": f"Bearer {secret}"}
    me = (await client.get("/api/v1/tokens/current", headers=mine)).json()
    assert me["scopes"] == ["cases:read"] and me["consumer"] == "futian"
    assert (await client.get("/api/v1/cases", headers=mine)).status_code == 200
    refused = await client.post(
        "/api/v1/cases/x/status", headers=mine, json={"status": "in_progress"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "missing_scope"
    rotated = await client.post(
        "/api/v1/tokens/current/rotate", headers=mine, json={"grace_seconds": 0}
    )
    assert rotated.status_code == 201
    successor = {"Authorization": f"Bearer {rotated.json()['token']}"}
    assert (await client.get("/api/v1/cases", headers=successor)).status_code == 200
    old = await client.get("/api/v1/cases", headers=mine)
    assert old.status_code == 401 and old.json()["code"] == "invalid_token"
    token_id = rotated.json()["token_id"]
    assert (await client.delete(f"/api/v1/tokens/{token_id}", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/cases", headers=successor)).status_code == 401
    configured = await client.post("/api/v1/tokens/current/rotate", headers=API, json={})
    assert configured.status_code == 409
    assert (await client.get("/api/v1/tokens", headers=API)).status_code == 403


async def test_a_rotated_token_lives_through_its_grace_period(store: Store) -> None:
    secret, token = await tokens.issue(store, consumer="c", scopes=["cases:read"])
    new_secret, _ = await tokens.rotate(store, token, grace=timedelta(hours=1))
    assert await tokens.lookup(store, secret) is not None
    assert await tokens.lookup(store, new_secret) is not None
    later = token.created_at + timedelta(hours=2)
    assert await tokens.lookup(store, secret, now=later) is None


async def test_each_token_is_rate_limited(
    client: httpx.AsyncClient, store: Store, app: FastAPI
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"api": app.state.settings.api.model_copy(update={"rate_per_minute": 3})}
    )
    first = await _token(store, "cases:read")
    second = await _token(store, "cases:read")
    answers = [(await client.get("/api/v1/cases", headers=first)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = await client.get("/api/v1/cases", headers=first)
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert (await client.get("/api/v1/cases", headers=second)).status_code == 200
