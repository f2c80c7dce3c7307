"""Batch writes leave the database exactly as the one-record methods, record by record.

Each test writes the same records two ways into two fresh databases of one backend
(SQLite, PostgreSQL) and compares every row: duplicates inside a batch, a lead moving
to another cluster, a replayed lead whose cluster is new, verdict and case replays.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.fixtures.postgres import fresh_postgres_database
from xianban.records import Case, CaseEvent, DeadLetter, Geo, Lead, Post, Verdict
from xianban.store import Store
from xianban.store.tables import CaseEvents, Cases, Clusters, DeadLetters, Leads, Outbox, Posts

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Store]]:
    """Two empty databases on one backend: one written record by record, one in batches."""
    stores = []
    if request.param == "sqlite":
        urls = [f"sqlite+aiosqlite:///{tmp_path}/{n}.db" for n in ("one", "batch")]
        for url in urls:
            stores.append(await Store.open(url))
        try:
            yield stores
        finally:
            for s in stores:
                await s.close()
        return
    async with fresh_postgres_database() as one, fresh_postgres_database() as other:
        for url in (one, other):
            stores.append(await Store.open(url))
        try:
            yield stores
        finally:
            for s in stores:
                await s.close()


async def rows(store: Store, table: Any, order: Any) -> list[dict[str, Any]]:
    async with store._tx() as conn:
        result = await conn.execute(select(table).order_by(order))
        return [dict(r._mapping) for r in result]


def post(n: int, text: str = "路灯坏了") -> Post:
    return Post(platform="weibo", native_id=str(n), text=f"{text} {n}", created_at=T0)


def lead(n: int, cluster: str, *, minutes: int, score: float = 0.5, **extra: Any) -> Lead:
    return Lead(
        lead_id=f"l{n}",
        cluster_id=cluster,
        post_ids=[f"weibo:{n}"],
        platform="weibo",
        text="路灯坏了",
        category=extra.pop("category", "municipal_facilities"),
        urgent=extra.pop("urgent", False),
        score=score,
        geo=extra.pop("geo", Geo(district="龙华区")),
        found_at=T0 + timedelta(minutes=minutes),
        **extra,
    )


async def both_ways(
    stores: list[Store],
    one: Callable[[Store], Awaitable[None]],
    batch: Callable[[Store], Awaitable[None]],
) -> None:
    await one(stores[0])
    await batch(stores[1])


async def test_posts_and_leads_in_one_batch_equal_one_by_one(two_stores: list[Store]) -> None:
    history = [lead(1, "c1", minutes=0), lead(9, "c9", minutes=1)]  # stored before the batch
    posts = [post(1), post(2), post(2, "路灯又坏了"), post(3)]
    leads = [
        lead(1, "c1", minutes=10, score=0.9),  # replayed: not new, its cluster exists
        lead(2, "c1", minutes=11, urgent=True),
        lead(3, "c2", minutes=12, geo=Geo(district="南山区")),
        lead(2, "c1", minutes=13, score=0.7),  # the same lead again in the batch
        lead(9, "c3", minutes=14),  # an old lead into a new cluster: first not new
        lead(4, "c3", minutes=14, category="noise"),  # same found-at: the later one names it
        lead(5, "c2", minutes=5, geo=Geo(district="福田区")),  # older than the cluster
    ]

    async def one(store: Store) -> None:
        for x in history:
            await store.upsert_lead(x)
        for p in posts:
            await store.upsert_post(p)
        for x in leads:
            await store.upsert_lead(x)

    async def batch(store: Store) -> None:
        assert await store.upsert_leads(history) == {"l1", "l9"}
        assert await store.store_posts_and_leads(posts, leads) == {"l2", "l3", "l4", "l5"}

    await both_ways(two_stores, one, batch)
    for table, order in ((Posts, Posts.post_id), (Leads, Leads.lead_id)):
        assert await rows(two_stores[1], table, order) == await rows(two_stores[0], table, order)
    clusters = [await rows(s, Clusters, Clusters.cluster_id) for s in two_stores]
    assert clusters[1] == clusters[0]
    by_id = {c["cluster_id"]: c for c in clusters[1]}
    assert by_id["c1"]["leads"] == 2 and by_id["c1"]["urgent"] and by_id["c1"]["max_score"] == 0.9
    assert by_id["c3"]["leads"] == 2 and by_id["c3"]["category"] == "noise"
    assert by_id["c2"]["geo"]["district"] == "南山区"


async def test_verdicts_cases_outbox_and_dead_letters_equal_one_by_one(
    two_stores: list[Store],
) -> None:
    first = lead(1, "c1", minutes=0)
    verdicts = [
        Verdict(
            verdict_id=f"v{n}",
            cluster_id="c1",
            lead=first,
            decision=decision,
            by="rule:x",
            reason="r",
            decided_at=T0 + timedelta(minutes=n),
        )
        for n, decision in ((1, "needs_review"), (2, "confirmed"), (1, "rejected"))
    ]
    opened = Case(
        case_id="XB-1",
        cluster_id="c1",
        department="区城管局",
        category="municipal_facilities",
        priority="ordinary",
        title="t",
        description="d",
        post_ids=["weibo:1"],
        opened_at=T0,
        dispatch_due=T0 + timedelta(hours=2),
        history=[CaseEvent(at=T0, status="pending")],
    )
    filed = opened.model_copy(
        update={
            "status": "filed",
            "history": [*opened.history, CaseEvent(at=T0 + timedelta(minutes=1), status="filed")],
        }
    )
    letters = [
        DeadLetter.for_bytes(
            stage="s", source_topic="posts", original=raw, reason="r", error_type="E", offset=n
        )
        for n, raw in enumerate([b"x", None, b"x"])
    ]
    letters.append(letters[0])

    async def one(store: Store) -> None:
        for v in verdicts:
            await store.record_verdict(v)
        await store.save_case(opened)
        await store.outbox_put(key="XB-1", kind="file_case", payload={})
        await store.outbox_put(key="XB-1", kind="file_case", payload={})
        await store.save_case(filed)
        await store.outbox_done("XB-1", result={"external_id": "9"})
        for dl in letters:
            await store.add_dead_letter(dl)

    async def batch(store: Store) -> None:
        await store.store_leads_and_verdicts([], verdicts)
        await store.queue_filings([opened, opened], kind="file_case")
        await store.outbox_results(done=[("XB-1", {"external_id": "9"})], cases=[filed])
        await store.add_dead_letters(letters)

    await both_ways(two_stores, one, batch)
    for s in two_stores:
        latest = await s.latest_verdict("c1")
        assert latest is not None and latest.verdict_id == "v2"
        assert await s.verdicts_for(["c1", "none", "c1"]) == ({"c1": latest}, {"v1", "v2"})
    for table, order in (
        (Cases, Cases.case_id),
        (CaseEvents, CaseEvents.position),
        (DeadLetters, DeadLetters.letter_id),
    ):
        assert await rows(two_stores[1], table, order) == await rows(two_stores[0], table, order)
    outbox = [await rows(s, Outbox, Outbox.key) for s in two_stores]
    for row in outbox[0] + outbox[1]:
        del row["created_at"], row["updated_at"]
    assert outbox[1] == outbox[0] and outbox[0][0]["status"] == "done"
    assert len(await rows(two_stores[1], DeadLetters, DeadLetters.letter_id)) == 3


async def test_batch_reads_answer_what_the_one_record_reads_answer(store: Store) -> None:
    await store.upsert_leads([lead(1, "c1", minutes=0), lead(2, "c1", minutes=1)])
    await store.upsert_leads([lead(3, "c2", minutes=2)])
    got = await store.get_leads(["l1", "l3", "missing"])
    assert set(got) == {"l1", "l3"} and got["l3"] == await store.get_lead("l3")
    assert await store.cluster_members(["c1", "c2", "none"]) == {
        "c1": {"l1", "l2"},
        "c2": {"l3"},
        "none": set(),
    }
    stamps = dict(await store.lead_stamps(since=T0 + timedelta(minutes=1)))
    assert stamps == {"l2": T0 + timedelta(minutes=1), "l3": T0 + timedelta(minutes=2)}
    assert await store.cases_by_cluster(["c1"]) == {}
    await store.upsert_leads([lead(4, "c4", minutes=1, category="noise")])
    newest = await store.newest_leads(per_category=2)
    assert sorted(x.lead_id for x in newest) == ["l2", "l3", "l4"]
