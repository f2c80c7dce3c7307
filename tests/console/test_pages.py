"""The pages: hostile post text is escaped, personal numbers masked, stores shown as they are."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from tests.console import samples
from tests.console.conftest import bearer, log_in
from xianban.records import CaseStatus, utcnow
from xianban.store import Store

HTML = {"Accept": "text/html"}


@pytest.fixture
async def filled(store: Store) -> Store:
    await store.upsert_lead(samples.lead(1))
    await store.record_verdict(samples.needs_review(1))
    await store.save_case(samples.case(1))
    await store.save_case(samples.case(2, status="closed", escalations=0))
    await store.add_dead_letter(samples.dead_letter())
    await store.set_source_state("weibo", state="ok", posts_total=120)
    await store.set_source_state(
        "douyin", state="banned", last_error="HTTP 403 需要验证码", error_counts={"banned": 3}
    )
    await store.audit(actor="zhangwei", action="lead.confirmed", target="cluster-9")
    return store


PAGES = [
    "/",
    "/review",
    "/review/cluster-1",
    "/cases",
    "/cases/XB-CASE0001",
    "/sources",
    "/dead-letters",
    "/audit",
]


@pytest.mark.parametrize("path", PAGES)
async def test_pages_escape_hostile_text_and_mask_numbers(
    client: httpx.AsyncClient, filled: Store, path: str
) -> None:
    response = await client.get(path, headers={**bearer("admin"), **HTML})
    assert response.status_code == 200
    page = response.text
    assert "<script>alert" not in page
    assert "onerror=alert(1)>" not in page
    assert samples.PHONE not in page
    assert samples.ID_NUMBER not in page
    assert samples.PHONE.encode().hex() not in page.replace(" ", "")
    assert "script-src 'none'" in response.headers["content-security-policy"]


async def test_review_queue_shows_the_evidence(client: httpx.AsyncClient, filled: Store) -> None:
    page = (await client.get("/review", headers=bearer("analyst"))).text
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in page
    assert "138****5678" in page
    for expected in ["市政设施", "紧急", "weibo", "0.87", "同类报告 2 条", "龙华区 · 龙华街道"]:
        assert expected in page
    assert "命中市政设施关键词：台阶、天桥" in page
    assert 'action="/review/cluster-1/confirm"' in page


async def test_case_page_shows_status_deadline_escalations_and_history(
    client: httpx.AsyncClient, filled: Store
) -> None:
    page = (await client.get("/cases/XB-CASE0001", headers=bearer("viewer"))).text
    for expected in [
        "已派单",
        "龙华区城市管理和综合执法局",
        "2026-11-20 10:00",  # dispatch due, in Shenzhen time
        "已督办 1 次",
        "督办：超时未派单，已提醒承办部门",
        "4403**********1234",
    ]:
        assert expected in page


async def test_case_list_filters_by_status(client: httpx.AsyncClient, filled: Store) -> None:
    closed = (await client.get("/cases?status=closed", headers=bearer("viewer"))).text
    assert "XB-CASE0002" in closed
    assert "XB-CASE0001" not in closed
    everything = (await client.get("/cases?status=", headers=bearer("viewer"))).text
    assert "XB-CASE0001" in everything and "XB-CASE0002" in everything
    bad = await client.get("/cases?status=lost", headers=bearer("viewer"))
    assert bad.status_code == 400
    assert "未知的工单状态：lost" in bad.json()["detail"]


async def test_a_missing_case_is_a_chinese_404_page(
    client: httpx.AsyncClient, filled: Store
) -> None:
    response = await client.get("/cases/XB-NOPE", headers={**bearer("viewer"), **HTML})
    assert response.status_code == 404
    assert "没有找到工单 XB-NOPE" in response.text
    assert 'href="/cases"' in response.text  # the menu is still there


async def test_overview_counts(client: httpx.AsyncClient, filled: Store) -> None:
    page = (await client.get("/", headers=bearer("viewer"))).text
    counts = await filled.counts()
    assert counts["cases"] == 2
    assert counts["dead_letters"] == 1
    assert '<div class="num">2</div><div class="label">工单</div>' in page
    assert '<div class="num">1</div><div class="label">死信</div>' in page
    assert '<div class="num">1</div><div class="label">待人工审核</div>' in page


async def test_sources_and_dead_letters_for_ops(client: httpx.AsyncClient, filled: Store) -> None:
    sources = (await client.get("/sources", headers=bearer("ops"))).text
    assert "已封禁" in sources and "HTTP 403 需要验证码" in sources and "120" in sources
    letters = (await client.get("/dead-letters", headers=bearer("ops"))).text
    assert "invalid Post: platform: Field required" in letters
    assert "RecordError" in letters
    assert "ff fe" in letters  # the undecodable tail, shown as hex
    assert "&lt;script&gt;" in letters


async def test_audit_log_lists_actions(client: httpx.AsyncClient, filled: Store) -> None:
    page = (await client.get("/audit", headers=bearer("admin"))).text
    assert "zhangwei" in page and "lead.confirmed" in page and "cluster-9" in page
    assert "确认线索" in page


async def test_ops_pause_and_resume_a_source(client: httpx.AsyncClient, filled: Store) -> None:
    csrf = await log_in(client, "ops", name="wangops")
    page = (await client.get("/sources")).text
    assert 'action="/sources/weibo/pause"' in page
    assert (await client.post("/sources/weibo/pause")).status_code == 403  # no CSRF token
    response = await client.post("/sources/weibo/pause", data={"csrf": csrf})
    assert response.headers["location"] == "/sources?done=paused"
    state = await filled.get_source_state("weibo")
    assert state is not None and state.paused
    assert state.posts_total == 120  # nothing else changed
    page = (await client.get("/sources?done=paused")).text
    assert "已暂停该采集源" in page and 'action="/sources/weibo/resume"' in page
    await client.post("/sources/weibo/pause", data={"csrf": csrf})  # again: no change
    await client.post("/sources/weibo/resume", data={"csrf": csrf})
    state = await filled.get_source_state("weibo")
    assert state is not None and not state.paused
    rows = [(r.action, r.target) for r in await filled.list_audit() if r.actor == "wangops"]
    assert rows == [("source.resumed", "weibo"), ("source.paused", "weibo"), ("login", "console")]
    missing = await client.post("/sources/nowhere/pause", data={"csrf": csrf})
    assert missing.status_code == 404


async def test_ids_that_look_like_phone_numbers_still_link(
    client: httpx.AsyncClient, store: Store
) -> None:
    odd_id = f"XB-A{samples.PHONE}B"
    odd_post = f"weibo:{samples.PHONE}"
    await store.save_case(
        samples.case(1).model_copy(update={"case_id": odd_id, "post_ids": [odd_post]})
    )
    verdict = samples.needs_review(1)
    odd_cluster = f"c{samples.PHONE}"
    lead = verdict.lead.model_copy(update={"cluster_id": odd_cluster})
    await store.record_verdict(verdict.model_copy(update={"cluster_id": odd_cluster, "lead": lead}))
    listing = (await client.get("/cases", headers=bearer("viewer"))).text
    assert f'href="/cases/{odd_id}"' in listing
    detail = (await client.get(f"/cases/{odd_id}", headers=bearer("viewer"))).text
    assert odd_id in detail
    assert odd_post in detail
    assert "报料人电话 138****5678" in detail
    queue = (await client.get("/review", headers=bearer("analyst"))).text
    assert f'action="/review/{odd_cluster}/confirm"' in queue
    api = (await client.get(f"/api/v1/cases/{odd_id}", headers=bearer("api"))).json()
    assert api["case_id"] == odd_id


async def test_an_undispatched_case_past_its_deadline_is_flagged(
    client: httpx.AsyncClient, store: Store
) -> None:
    past, future = utcnow() - timedelta(minutes=5), utcnow() + timedelta(hours=1)
    made: list[tuple[int, CaseStatus, datetime]] = [
        (1, "filed", past),
        (2, "dispatched", past),
        (3, "filed", future),
    ]
    for n, status, due in made:
        await store.save_case(
            samples.case(n, status=status).model_copy(update={"dispatch_due": due})
        )
    detail = (await client.get("/cases/XB-CASE0001", headers=bearer("viewer"))).text
    assert "已超时未派单" in detail
    dispatched = (await client.get("/cases/XB-CASE0002", headers=bearer("viewer"))).text
    assert "已超时未派单" not in dispatched
    listing = (await client.get("/cases", headers=bearer("viewer"))).text
    assert listing.count("已超时") == 1
