"""The store's contract, run on SQLite and on PostgreSQL (the ``store_url`` parameters).

Every test goes through the public Store API; the few that look underneath (schema,
pragmas) open their own connection, as an operator would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from xianban.records import (
    Case,
    CaseEvent,
    DeadLetter,
    Engagement,
    Geo,
    Lead,
    Post,
    Verdict,
)
from xianban.store import Store, upgrade
from xianban.store.migrate import head_revision
from xianban.store.tables import Base

SHENZHEN = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 9, 30, tzinfo=SHENZHEN)
TABLES = {
    "alembic_version",
    "audit_log",
    "case_events",
    "cases",
    "clusters",
    "dead_letters",
    "leads",
    "outbox",
    "posts",
    "site_checks",
    "alerts",
    "weak_signals",
    "source_states",
    "tasks",
    "verdicts",
    "api_tokens",
    "webhook_subscriptions",
    "webhook_case_heads",
    "webhook_events",
    "webhook_deliveries",
    "webhook_attempts",
    "leases",
    "scheduled_tasks",
    "similar_cases",
    "similar_case_notes",
    "similar_case_followers",
}


def post(native_id: str = "5001", **changes: object) -> Post:
    fields: dict[str, object] = {
        "platform": "weibo",
        "native_id": native_id,
        "source": "weibo_search",
        "url": f"https://m.weibo.cn/detail/{native_id}",
        "text": "龙华汽车站天桥台阶断了一块，一脚就能踩空",
        "created_at": T0,
        "fetched_at": T0 + timedelta(minutes=5),
        "engagement": Engagement(likes=3, comments=1),
    }
    return Post.model_validate({**fields, **changes})


def lead(
    n: int,
    *,
    cluster: str = "c1",
    score: float = 0.6,
    corroboration: int = 0,
    found: datetime = T0,
    category: str = "municipal_facilities",
    urgent: bool = False,
    road: str = "龙观大道",
) -> Lead:
    return Lead.model_validate(
        {
            "lead_id": f"lead-{n}",
            "cluster_id": cluster,
            "post_ids": [f"weibo:{5000 + n}"],
            "platform": "weibo",
            "text": f"第{n}条报料：天桥台阶破损",
            "category": category,
            "urgent": urgent,
            "geo": Geo(district="龙华区", road=road),
            "score": score,
            "reasons": ["命中关键词：台阶"],
            "features": {"keywords": 0.5},
            "corroboration": corroboration,
            "found_at": found,
        }
    )


def verdict(
    n: int, *, cluster: str = "c1", decision: str = "needs_review", by: str = "rule:weak"
) -> Verdict:
    subject = lead(n, cluster=cluster)
    return Verdict.model_validate(
        {
            "verdict_id": f"v-{cluster}-{n}-{decision}",
            "cluster_id": cluster,
            "lead": subject,
            "decision": decision,
            "by": by,
            "reason": "证据不足",
            "decided_at": T0 + timedelta(minutes=n),
        }
    )


def case(n: int = 1, *, status: str = "filed", events: int = 2) -> Case:
    history = [
        CaseEvent(at=T0 + timedelta(minutes=i), status=s, note=f"第{i}步")
        for i, s in enumerate(["pending", "filed", "dispatched", "in_progress"][:events])
    ]
    return Case.model_validate(
        {
            "case_id": f"XB-{n:04d}",
            "cluster_id": f"c{n}",
            "external_id": f"SZ-{n}",
            "department": "龙华区城市管理和综合执法局",
            "category": "municipal_facilities",
            "priority": "urgent",
            "geo": Geo(district="龙华区"),
            "title": "天桥台阶破损",
            "description": "台阶断裂，有踩空危险",
            "post_ids": [f"weibo:{n}"],
            "opened_at": T0 + timedelta(hours=n),
            "dispatch_due": T0 + timedelta(hours=n, minutes=30),
            "status": status,
            "history": history,
        }
    )


def dead_letter(offset: int = 41) -> DeadLetter:
    return DeadLetter.for_bytes(
        stage="leadfinder",
        source_topic="posts",
        original=b'{"text": "broken',
        reason="invalid Post: platform: Field required",
        error_type="RecordError",
        partition=2,
        offset=offset,
        key="weibo:bad",
    )


# -- schema and migrations ------------------------------------------------------------


async def test_upgrade_creates_the_schema_on_an_empty_database_then_is_a_no_op(
    store_url: str,
) -> None:
    first = await upgrade(store_url)
    assert first == head_revision()
    store = await Store.open(store_url, migrate=False)
    try:
        assert await store.upsert_post(post())
        assert await upgrade(store_url) == first
        assert await store.revision() == first
        assert await store.has_post("weibo:5001")
    finally:
        await store.close()
    assert await _tables(store_url) == TABLES


async def test_opening_without_migrating_leaves_an_empty_database_empty(store_url: str) -> None:
    store = await Store.open(store_url, migrate=False)
    try:
        assert await store.revision() == ""
    finally:
        await store.close()
    assert await _tables(store_url) == set()


async def test_the_migrations_build_exactly_the_tables_the_models_describe(
    store: Store, store_url: str
) -> None:
    def differences(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = create_async_engine(store_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(differences) == []
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


# -- posts ------------------------------------------------------------------------------


async def test_a_replayed_post_changes_nothing(store: Store) -> None:
    assert await store.upsert_post(post()) is True
    before = await store.counts()
    assert await store.upsert_post(post()) is False
    assert await store.counts() == before
    assert before["posts"] == 1
    assert await store.get_post("weibo:5001") == post()


async def test_a_recrawled_post_keeps_one_row_with_the_latest_content(store: Store) -> None:
    await store.upsert_post(post())
    again = post(engagement=Engagement(likes=99), fetched_at=T0 + timedelta(hours=1))
    assert await store.upsert_post(again) is False
    assert await store.get_post("weibo:5001") == again
    assert (await store.counts())["posts"] == 1


async def test_has_post_knows_only_stored_posts(store: Store) -> None:
    await store.upsert_post(post("1"))
    assert await store.has_post("weibo:1")
    assert not await store.has_post("weibo:2")
    assert not await store.has_post("douyin:1")
    assert await store.get_post("weibo:2") is None
    assert await store.known_posts(["weibo:2", "weibo:1", "weibo:1"]) == {"weibo:1"}
    assert await store.known_posts([]) == set()


async def test_concurrent_upserts_of_one_post_make_one_row_and_one_winner(store: Store) -> None:
    results = await asyncio.gather(*(store.upsert_post(post()) for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    assert (await store.counts())["posts"] == 1


async def test_concurrent_upserts_of_different_posts_keep_every_one(store: Store) -> None:
    results = await asyncio.gather(*(store.upsert_post(post(str(n))) for n in range(12)))
    assert results == [True] * 12
    assert (await store.counts())["posts"] == 12


# -- leads and clusters -------------------------------------------------------------------


async def test_a_replayed_lead_changes_neither_the_lead_nor_its_cluster(store: Store) -> None:
    assert await store.upsert_lead(lead(1, score=0.7, corroboration=1)) is True
    cluster = await store.get_cluster("c1")
    before = await store.counts()
    assert await store.upsert_lead(lead(1, score=0.7, corroboration=1)) is False
    assert await store.counts() == before
    assert before["leads"] == before["clusters"] == 1
    assert await store.get_cluster("c1") == cluster
    assert await store.get_lead("lead-1") == lead(1, score=0.7, corroboration=1)


async def test_leads_fold_into_their_cluster_row(store: Store) -> None:
    await store.upsert_lead(lead(1, score=0.6, corroboration=0, found=T0))
    await store.upsert_lead(
        lead(
            2,
            score=0.9,
            corroboration=2,
            found=T0 + timedelta(hours=1),
            category="road_traffic",
            urgent=True,
            road="人民路",
        )
    )
    cluster = await store.get_cluster("c1")
    assert cluster is not None
    assert (cluster.max_score, cluster.corroboration, cluster.leads) == (0.9, 2, 2)
    assert cluster.urgent is True
    assert (cluster.category, cluster.geo["road"]) == ("road_traffic", "人民路")
    assert (cluster.first_seen, cluster.last_seen) == (T0, T0 + timedelta(hours=1))

    # An older, weaker report arriving late widens the span but takes nothing else over.
    await store.upsert_lead(lead(3, score=0.2, found=T0 - timedelta(hours=1)))
    late = await store.get_cluster("c1")
    assert late is not None
    assert (late.max_score, late.corroboration, late.leads) == (0.9, 2, 3)
    assert (late.category, late.geo["road"], late.urgent) == ("road_traffic", "人民路", True)
    assert late.first_seen == T0 - timedelta(hours=1)
    assert [x.lead_id for x in await store.leads_in_cluster("c1")] == ["lead-3", "lead-1", "lead-2"]
    assert await store.leads_in_cluster("other") == []
    assert await store.get_cluster("other") is None


async def test_concurrent_leads_of_one_cluster_are_all_counted(store: Store) -> None:
    scores = [0.3, 0.9, 0.5, 0.7, 0.4, 0.6]
    await asyncio.gather(
        *(store.upsert_lead(lead(n, score=s, corroboration=n)) for n, s in enumerate(scores))
    )
    cluster = await store.get_cluster("c1")
    assert cluster is not None
    assert (cluster.leads, cluster.max_score, cluster.corroboration) == (6, 0.9, 5)
    assert (await store.counts())["clusters"] == 1


async def test_recent_leads_are_those_found_since_newest_first(store: Store) -> None:
    for n in range(1, 5):
        await store.upsert_lead(lead(n, cluster=f"c{n}", found=T0 + timedelta(hours=n)))
    since = (T0 + timedelta(hours=2)).astimezone(UTC)
    assert [x.lead_id for x in await store.recent_leads(since=since)] == [
        "lead-4",
        "lead-3",
        "lead-2",
    ]
    assert [x.lead_id for x in await store.recent_leads(since=since, limit=1)] == ["lead-4"]
    assert await store.get_lead("lead-9") is None


async def test_recent_leads_of_one_category(store: Store) -> None:
    await store.upsert_lead(lead(1, cluster="c1", found=T0, category="noise"))
    await store.upsert_lead(lead(2, cluster="c2", found=T0))
    noise = await store.recent_leads(since=T0 - timedelta(hours=1), category="noise")
    assert [x.lead_id for x in noise] == ["lead-1"]


async def test_recent_leads_carry_what_clustering_compares(store: Store) -> None:
    """Read by JSON path, not decoded: the same values the lead has."""
    posted = (T0 - timedelta(minutes=30)).astimezone(timezone(timedelta(hours=8)))
    placed = lead(1, found=T0).model_copy(update={"posted_at": posted})
    unplaced = lead(2, cluster="c2", found=T0 + timedelta(seconds=1))
    unplaced = unplaced.model_copy(update={"geo": Geo(), "text": "没说在哪"})
    for each in (placed, unplaced):
        await store.upsert_lead(each)
    got = await store.recent_leads(since=T0 - timedelta(hours=1))
    assert [
        (x.lead_id, x.cluster_id, x.category, x.district, x.posted_at, x.found_at, x.text)
        for x in got
    ] == [
        ("lead-2", "c2", "municipal_facilities", None, None, unplaced.found_at, "没说在哪"),
        ("lead-1", "c1", "municipal_facilities", "龙华区", posted, T0, placed.text),
    ]


# -- verdicts and the review queue ----------------------------------------------------------


async def test_a_replayed_verdict_changes_nothing(store: Store) -> None:
    assert await store.record_verdict(verdict(1)) is True
    before = await store.counts()
    assert await store.record_verdict(verdict(1)) is False
    assert await store.counts() == before
    assert before["verdicts"] == 1
    assert await store.latest_verdict("c1") == verdict(1)
    assert await store.latest_verdict("nothing") is None


async def test_the_latest_recorded_verdict_of_a_cluster_counts(store: Store) -> None:
    await store.record_verdict(verdict(1, decision="needs_review"))
    confirmed = verdict(2, decision="confirmed", by="analyst:zhangwei")
    await store.record_verdict(confirmed)
    assert await store.latest_verdict("c1") == confirmed
    # Replaying the old verdict does not make it the latest again.
    assert await store.record_verdict(verdict(1, decision="needs_review")) is False
    assert await store.latest_verdict("c1") == confirmed


async def test_the_review_queue_holds_clusters_whose_latest_verdict_needs_review(
    store: Store,
) -> None:
    await store.record_verdict(verdict(1, cluster="waiting-old"))
    await store.record_verdict(verdict(1, cluster="decided"))
    await store.record_verdict(verdict(2, cluster="decided", decision="confirmed"))
    await store.record_verdict(verdict(1, cluster="rejected", decision="rejected"))
    await store.record_verdict(verdict(1, cluster="reopened", decision="confirmed"))
    await store.record_verdict(verdict(2, cluster="reopened", decision="needs_review"))
    await store.record_verdict(verdict(1, cluster="waiting-new"))
    await store.record_verdict(verdict(3, cluster="waiting-new", by="analyst:li"))

    queue = await store.review_queue()
    assert [(v.cluster_id, v.by) for v in queue] == [
        ("waiting-new", "analyst:li"),
        ("reopened", "rule:weak"),
        ("waiting-old", "rule:weak"),
    ]
    assert [v.cluster_id for v in await store.review_queue(limit=2)] == [
        "waiting-new",
        "reopened",
    ]


# -- cases -------------------------------------------------------------------------------


async def test_saving_a_case_twice_stores_its_history_once(store: Store) -> None:
    await store.save_case(case(1, events=2))
    await store.save_case(case(1, events=2))
    assert (await store.counts())["cases"] == 1
    assert await store.get_case("XB-0001") == case(1, events=2)
    assert await store.case_history("XB-0001") == case(1, events=2).history


async def test_a_case_saved_with_new_events_adds_only_those(store: Store) -> None:
    await store.save_case(case(1, status="filed", events=2))
    await store.save_case(case(1, status="in_progress", events=4))
    await store.save_case(case(1, status="in_progress", events=4))
    stored = await store.get_case("XB-0001")
    assert stored is not None and stored.status == "in_progress"
    assert await store.case_history("XB-0001") == case(1, events=4).history
    assert len(await store.case_history("XB-0001")) == 4


async def test_cases_are_found_by_id_cluster_and_status(store: Store) -> None:
    await store.save_case(case(1, status="filed"))
    await store.save_case(case(2, status="resolved"))
    await store.save_case(case(3, status="dispatched"))
    assert await store.get_case_by_cluster("c2") == case(2, status="resolved")
    assert await store.get_case_by_cluster("c9") is None
    assert await store.get_case("XB-0009") is None
    assert [c.case_id for c in await store.list_cases()] == ["XB-0003", "XB-0002", "XB-0001"]
    assert [c.case_id for c in await store.list_cases(limit=1)] == ["XB-0003"]
    open_cases = await store.list_cases(statuses={"filed", "dispatched"})
    assert [c.case_id for c in open_cases] == ["XB-0003", "XB-0001"]
    assert await store.list_cases(statuses=[]) == []


# -- outbox ----------------------------------------------------------------------------------


async def test_an_outbox_item_is_queued_once(store: Store) -> None:
    assert await store.outbox_put(key="XB-0001", kind="file_case", payload={"n": 1}) is True
    before = await store.counts()
    assert await store.outbox_put(key="XB-0001", kind="file_case", payload={"n": 2}) is False
    assert await store.counts() == before
    assert before["outbox_pending"] == 1
    [item] = await store.outbox_pending()
    assert (item.key, item.kind, item.payload, item.attempts) == (
        "XB-0001",
        "file_case",
        {"n": 1},
        0,
    )
    assert item.last_error is None
    assert item.created_at.tzinfo is not None


async def test_a_failed_delivery_stays_pending_and_a_done_one_leaves(store: Store) -> None:
    for key in ("a", "b", "c"):
        await store.outbox_put(key=key, kind="file_case", payload={})
    await store.outbox_failed("a", error="timeout")
    await store.outbox_failed("a", error="HTTP 503")
    await store.outbox_done("b", result={"external_id": "SZ-1"})

    pending = {item.key: item for item in await store.outbox_pending()}
    assert set(pending) == {"a", "c"}
    assert (pending["a"].attempts, pending["a"].last_error) == (2, "HTTP 503")
    assert (await store.counts())["outbox_pending"] == 2
    assert len(await store.outbox_pending(limit=1)) == 1
    # A done item is not queued again by a replayed put.
    assert await store.outbox_put(key="b", kind="file_case", payload={}) is False
    assert "b" not in {item.key for item in await store.outbox_pending()}


async def test_marking_an_unknown_outbox_item_is_an_error(store: Store) -> None:
    with pytest.raises(LookupError, match="nope"):
        await store.outbox_done("nope", result={})
    with pytest.raises(LookupError, match="nope"):
        await store.outbox_failed("nope", error="x")


# -- crawl state -------------------------------------------------------------------------------


async def test_source_state_changes_only_the_fields_given(store: Store) -> None:
    assert await store.get_source_state("weibo") is None
    await store.set_source_state("weibo", cursor="page-2")
    created = await store.get_source_state("weibo")
    assert created is not None
    assert (created.state, created.cursor, created.paused, created.posts_total) == (
        "idle",
        "page-2",
        False,
        0,
    )
    assert created.error_counts == {} and created.last_success is None

    await store.set_source_state(
        "weibo", state="banned", error_counts={"banned": 3}, last_error="HTTP 418"
    )
    await store.set_source_state("weibo", last_success=T0, posts_total=42)
    state = await store.get_source_state("weibo")
    assert state is not None
    assert (state.state, state.cursor, state.last_error) == ("banned", "page-2", "HTTP 418")
    assert (state.error_counts, state.posts_total, state.last_success) == ({"banned": 3}, 42, T0)
    assert state.updated_at >= created.updated_at

    await store.set_source_state("weibo", cursor=None, last_error=None, paused=True)
    cleared = await store.get_source_state("weibo")
    assert cleared is not None
    assert (cleared.cursor, cleared.last_error, cleared.paused) == (None, None, True)
    assert cleared.posts_total == 42


async def test_source_states_are_listed_by_name(store: Store) -> None:
    for source in ("zhihu", "douyin", "weibo"):
        await store.set_source_state(source, state="healthy")
    assert [s.source for s in await store.list_source_states()] == ["douyin", "weibo", "zhihu"]


async def test_a_naive_time_is_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        await store.set_source_state("weibo", last_success=datetime(2026, 11, 20, 9, 30))
    assert await store.get_source_state("weibo") is None


async def test_the_task_ledger_follows_a_task_to_its_end(store: Store) -> None:
    await store.record_task(task_id="t1", source="weibo", status="queued")
    queued = await store.get_task("t1")
    await store.record_task(task_id="t1", source="weibo", status="running")
    await store.record_task(task_id="t1", source="weibo", status="done", posts=17)
    done = await store.get_task("t1")
    assert queued is not None and done is not None
    assert (done.status, done.posts, done.reason) == ("done", 17, None)
    assert done.created_at == queued.created_at
    assert done.updated_at >= queued.updated_at

    await store.record_task(task_id="t2", source="weibo", status="running")
    await store.record_task(
        task_id="t2", source="weibo", status="retried", reason="HTTP 429", attempt=1
    )
    await store.record_task(
        task_id="t2", source="weibo", status="failed", reason="banned: 验证码", attempt=3
    )
    failed = await store.get_task("t2")
    assert failed is not None
    assert (failed.status, failed.reason, failed.attempt) == ("failed", "banned: 验证码", 3)
    assert await store.get_task("t3") is None


async def test_the_task_ledger_lists_tasks_by_source_and_status(store: Store) -> None:
    await store.record_task(task_id="a", source="weibo", status="running")
    await store.record_task(task_id="b", source="weibo", status="done")
    await store.record_task(task_id="c", source="zhihu", status="running")
    running = await store.list_tasks(statuses=["running"])
    assert sorted(t.task_id for t in running) == ["a", "c"]
    assert sorted(t.task_id for t in await store.list_tasks(source="weibo")) == ["a", "b"]
    assert len(await store.list_tasks(limit=2)) == 2


async def test_an_unknown_task_status_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="lost"):
        await store.record_task(task_id="t1", source="weibo", status="lost")
    assert await store.get_task("t1") is None


# -- dead letters, audit, counts ---------------------------------------------------------------


async def test_a_dead_letter_is_kept_once_and_whole(store: Store) -> None:
    await store.add_dead_letter(dead_letter(41))
    await store.add_dead_letter(dead_letter(41))
    assert (await store.counts())["dead_letters"] == 1
    await store.add_dead_letter(dead_letter(42))
    letters = await store.list_dead_letters()
    assert len(letters) == 2
    assert {dl.offset for dl in letters} == {41, 42}
    assert letters[0].original == b'{"text": "broken'
    assert len(await store.list_dead_letters(limit=1)) == 1


async def test_the_audit_log_keeps_every_action_newest_first(store: Store) -> None:
    await store.audit(actor="zhangwei", action="login", target="console")
    detail = {"decision": "confirmed", "amended": {"geo": {"district": "龙华区"}}}
    await store.audit(actor="zhangwei", action="lead.confirmed", target="c1", detail=detail)
    await store.audit(actor="zhangwei", action="lead.confirmed", target="c1", detail=detail)
    rows = await store.list_audit()
    assert [(r.action, r.detail) for r in rows] == [
        ("lead.confirmed", detail),
        ("lead.confirmed", detail),
        ("login", None),
    ]
    assert all(r.at.tzinfo is not None for r in rows)
    assert len(await store.list_audit(limit=1)) == 1


async def test_counts_cover_every_kind(store: Store) -> None:
    assert await store.counts() == {
        "posts": 0,
        "leads": 0,
        "clusters": 0,
        "verdicts": 0,
        "cases": 0,
        "dead_letters": 0,
        "outbox_pending": 0,
    }


# -- time ---------------------------------------------------------------------------------------


async def test_times_come_back_aware_in_utc_and_equal_to_what_went_in(store: Store) -> None:
    await store.upsert_post(post(created_at=T0))
    await store.set_source_state("weibo", last_success=T0)
    stored = await store.get_post("weibo:5001")
    state = await store.get_source_state("weibo")
    assert stored is not None and state is not None
    assert stored.created_at == T0
    assert state.last_success == T0
    assert state.last_success is not None and state.last_success.utcoffset() == timedelta(0)
    assert state.updated_at.tzinfo is not None


async def test_time_filters_compare_instants_not_wall_clocks(store: Store) -> None:
    # 09:30 in Shenzhen is 01:30 UTC: a filter at 02:00 UTC must exclude it.
    await store.upsert_lead(lead(1, found=T0))
    assert await store.recent_leads(since=datetime(2026, 11, 20, 2, 0, tzinfo=UTC)) == []
    assert len(await store.recent_leads(since=datetime(2026, 11, 20, 1, 0, tzinfo=UTC))) == 1
