"""``xianban bench e2e``: the moves the same-moves ceiling replays are the run's own, and
the same-work ceiling does the stages' own work on every record they consumed."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

from tests.fixtures.postgres import fresh_postgres_database
from tests.services import require_service
from xianban.bench_e2e import (
    Moves,
    asyncpg_dsn,
    kafka_postgres,
    make_posts,
    same_moves,
    same_work,
    simulator,
)
from xianban.bus import LocalBroker
from xianban.bus.kafka import group_lag
from xianban.records import Case, Lead, Post, ScoredPost, Verdict
from xianban.settings import KafkaSettings, Settings


async def test_a_small_run_counts_its_moves_from_its_topics_and_tables() -> None:
    require_service("Kafka (tansu)", LocalBroker.available())
    async with fresh_postgres_database():  # a skip without PostgreSQL, not an error
        pass
    posts = make_posts(30)
    result, moves = await kafka_postgres(Settings(), posts, [], 0.0, workers=1)
    counted = moves.counts()
    store = result["store"]
    sent = 30 + 20  # the burst and the warm-up (copies of its first 20 posts)
    assert counted["posts"] == sent == store["posts"]
    assert {Post.from_bytes(v).post_id for _, v in moves.records[Post.topic]} >= {
        p.post_id for p in posts
    }
    for table in ("posts", "leads", "clusters", "verdicts", "cases"):
        assert len(moves.rows[table]) == store[table], table
    # each stage's group read its whole input; nothing in the run reads the rest
    assert counted["consumed"] == {
        Post.topic: sent,
        Lead.topic: counted["produced"][Lead.topic],
        Verdict.topic: counted["produced"][Verdict.topic],
    }
    assert (
        counted["produced"][Case.topic] >= store["cases"] > 0
    )  # a case goes out again as it moves
    assert ScoredPost.topic not in counted["consumed"]

    # the same-work ceiling: every consumed post scored, as many leads clustered as the
    # run stored (give or take a copy below the lead threshold: the replay's one window
    # sees every lead, the run's two workers each their own and the store's), every
    # consumed lead decided, and as many cases built and filed as the run opened
    async with LocalBroker() as broker, fresh_postgres_database() as url, simulator() as sim:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            out = await same_work(Settings(), broker.bootstrap, conn, moves, f"{sim}/workorders")
        finally:
            await conn.close()
    work = out["same_work"]["work"]
    assert work["scored"] == counted["consumed"][Post.topic] == sent
    assert store["leads"] > 0
    assert abs(work["clustered"] - store["leads"]) <= 2
    assert work["ruled"] + work["followed_up"] == counted["consumed"][Lead.topic]
    assert work["ruled"] >= len(
        {Lead.from_bytes(v).cluster_id for _, v in moves.records[Lead.topic]}
    )
    assert work["cases_built"] == work["filed"] == store["cases"]
    assert out["same_work"]["produced"] == counted["produced"]
    assert out["same_work_posts_per_s"] > 0


async def test_the_same_moves_ceiling_replays_every_record_and_row() -> None:
    """Against a hand-made run: what the ceiling leaves on the broker and in the database
    is what the moves say (a topic read twice is read by two groups)."""
    require_service("Kafka (tansu)", LocalBroker.available())
    records: dict[str, list[tuple[bytes | None, bytes]]] = {
        Post.topic: [(b"k%d" % i, b"post %d" % i) for i in range(7)],
        Lead.topic: [(None, b"lead")] * 3,
    }
    moves = Moves(records, {Post.topic: 14, Lead.topic: 0}, {"posts": ['{"a": 1}'] * 5})
    async with LocalBroker() as broker, fresh_postgres_database() as url:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            out = await same_moves(Settings(batch_size=2), broker.bootstrap, conn, moves)
            assert await conn.fetchval("SELECT count(*) FROM same_posts") == 5
        finally:
            await conn.close()
        assert out["same_moves"] == {
            "posts": 7,
            "produced": {Post.topic: 7, Lead.topic: 3},
            "consumed": {Post.topic: 14},
            "rows": {"posts": 5},
        }
        assert out["same_moves_posts_per_s"] > 0
        kafka = KafkaSettings(bootstrap=broker.bootstrap)
        for group in (f"same-{Post.topic}-0", f"same-{Post.topic}-7"):
            lag = await group_lag(kafka, group, [f"same-{Post.topic}"])
            assert lag and sum(lag.values()) == 0, group
