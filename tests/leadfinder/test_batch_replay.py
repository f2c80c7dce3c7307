"""One stream, two ways: post by post through the store, and in batches through the window.

The stream is what the crawler reads from the simulator (reposts and near-duplicate
copies across platforms included), with replays mixed in; both ways must give the same
leads in the same order, record for record, and leave the same rows in the store.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from leadfinder.stage import LeadfinderStage
from xianban.bus import MemoryBus
from xianban.embedded import embedded_system
from xianban.records import Lead, Post, Record, ScoredPost
from xianban.runtime import Worker
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store
from xianban.store.tables import Clusters, Leads, Posts
from xianban.wiring import load_stage, schedule

TIMES = {"found_at", "first_seen", "last_seen"}
"""Wall-clock times of the run itself: the only fields allowed to differ."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stream(tmp_path_factory: pytest.TempPathFactory) -> list[Post]:
    """Every post one crawl of the default sources gives, then replays of some of them."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("crawl"), poll_timeout_s=0.05)
    async with embedded_system(settings) as system:
        await schedule(system, once=True)
        crawler = load_stage("crawler")(system.ctx)
        await crawler.start()
        try:
            await Worker(crawler, system.bus, settings).run(until_idle=True)
        finally:
            await crawler.close()
        reader = system.bus.consumer("replay", [Post.topic])
        await reader.start()
        messages = await reader.getmany(timeout_s=1, max_records=100_000)
        await reader.stop()
    posts = [Post.from_bytes(m.value) for m in messages]
    assert len(posts) > 100
    reposts = [  # of every 20th post, a lead or not, and of a post never seen
        Post(
            platform="weibo",
            native_id=f"repost-{i}",
            text=f"转发 //@网友: {original.text}",
            repost_of=original.post_id if i % 7 else "weibo:never-crawled",
            created_at=original.created_at,
        )
        for i, original in enumerate(posts[::20])
    ]
    half = len(posts) // 2
    return posts[:half] + posts[:5] + reposts[:4] + posts[half:] + posts[::9] + reposts[4:]


async def open_stage(path: Path) -> tuple[LeadfinderStage, Store]:
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    stage = LeadfinderStage(StageContext(settings=Settings(data_dir=path.parent), store=store))
    await stage.start()
    return stage, store


@pytest.fixture
async def stages(tmp_path: Path) -> AsyncIterator[list[tuple[LeadfinderStage, Store]]]:
    opened = [await open_stage(tmp_path / f"{name}.db") for name in ("one", "batch", "worker")]
    try:
        yield opened
    finally:
        for stage, store in opened:
            await stage.close()
            await store.close()


def comparable(records: Sequence[Record]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", exclude=TIMES) for r in records]


async def table(store: Store, kind: Any, order: Any) -> list[dict[str, Any]]:
    async with store._tx() as conn:
        result = await conn.execute(select(kind).order_by(order))
        rows = [dict(r._mapping) for r in result]
    for row in rows:
        for name in TIMES:
            row.pop(name, None)
        if isinstance(row.get("data"), dict):
            row["data"] = {k: v for k, v in row["data"].items() if k not in TIMES}
    return rows


KINDS: dict[str, type[Record]] = {Lead.topic: Lead, ScoredPost.topic: ScoredPost}


async def through_a_worker(
    stage: LeadfinderStage, stream: Sequence[Post], settings: Settings, store: Store
) -> list[Record]:
    """What a worker running ``stage`` writes for ``stream`` read in order (one partition)."""
    bus = MemoryBus(partitions=1)
    for post in stream:
        await bus.produce(Post.topic, post.to_bytes(), key=post.key())
    await Worker(stage, bus, settings, store=store).run(until_idle=True)
    reader = bus.consumer("check", list(KINDS))
    await reader.start()
    return [
        KINDS[m.topic].from_bytes(m.value)
        for m in await reader.getmany(timeout_s=1, max_records=10**6)
    ]


def assert_same_per_topic(got: Sequence[Record], expected: Sequence[Record]) -> None:
    for model in KINDS.values():  # each topic in order (one partition each)
        mine = [r for r in got if isinstance(r, model)]
        assert comparable(mine) == comparable([r for r in expected if isinstance(r, model)])


async def test_batched_leads_equal_one_by_one_record_for_record(
    stream: list[Post], stages: list[tuple[LeadfinderStage, Store]]
) -> None:
    (one, one_store), (batched, batch_store), (worked, worker_store) = stages
    by_one: list[Record] = []
    for post in stream:
        by_one += await one.handle(post)

    by_batch: list[Record] = []
    sizes = itertools.cycle([1, 7, 50, 200, 3])
    position = 0
    while position < len(stream):
        chunk = stream[position : position + next(sizes)]
        position += len(chunk)
        for out in await batched.handle_batch(chunk):
            by_batch += out

    settings = Settings(batch_size=64, poll_timeout_s=0.05)
    by_worker = await through_a_worker(worked, stream, settings, worker_store)

    leads = [r for r in by_one if isinstance(r, Lead)]
    assert len(leads) > 50 and len({x.cluster_id for x in leads}) < len(leads)
    assert any(x.corroboration > 0 for x in leads)
    assert any(isinstance(r, ScoredPost) for r in by_one)  # handed to the weak-signal stage
    assert comparable(by_batch) == comparable(by_one)
    assert_same_per_topic(by_worker, by_one)
    for kind, order in (
        (Posts, Posts.post_id),
        (Leads, Leads.lead_id),
        (Clusters, Clusters.cluster_id),
    ):
        expected = await table(one_store, kind, order)
        assert await table(batch_store, kind, order) == expected, kind.__tablename__
        assert await table(worker_store, kind, order) == expected, kind.__tablename__


async def test_a_rebuilt_window_clusters_like_the_store(
    stream: list[Post], stages: list[tuple[LeadfinderStage, Store]]
) -> None:
    """A worker that takes over partitions (its window rebuilt from the store) joins the
    clusters its predecessor started, as a worker reading the store would."""
    (one, _), (first, _), _ = stages
    half = len(stream) // 2
    expected: list[Record] = []
    for post in stream:
        expected += await one.handle(post)
    got: list[Record] = []
    for out in await first.handle_batch(stream[:half]):
        got += out
    successor = LeadfinderStage(first.ctx)
    await successor.start()
    await successor.assigned(frozenset({(Post.topic, 0)}))
    for out in await successor.handle_batch(stream[half:]):
        got += out
    assert comparable(got) == comparable(expected)


async def test_scoring_in_a_child_gives_the_same_records(
    stream: list[Post], stages: list[tuple[LeadfinderStage, Store]], tmp_path: Path
) -> None:
    """The embedded deployment's leadfinder (``extract_in_child``: scoring in a child
    process, a poll ahead of the worker's batch) gives what the stage in one process
    gives, record for record and row for row; a post handled alone too."""
    (one, one_store), _, _ = stages
    by_one: list[Record] = []
    for post in stream:
        by_one += await one.handle(post)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'child.db'}")
    settings = Settings(data_dir=tmp_path, batch_size=64, poll_timeout_s=0.05)
    child = LeadfinderStage(
        StageContext(settings=settings.model_copy(update={"extract_in_child": True}), store=store)
    )
    await child.start()
    try:
        assert child.extractor is None and child.child is not None  # nothing loaded here
        assert_same_per_topic(await through_a_worker(child, stream, settings, store), by_one)
        for kind, order in (
            (Posts, Posts.post_id),
            (Leads, Leads.lead_id),
            (Clusters, Clusters.cluster_id),
        ):
            assert await table(store, kind, order) == await table(one_store, kind, order)
        again = await child.handle(stream[0])  # alone: scored in the child, not prepared
        assert comparable(again) == comparable(await one.handle(stream[0]))
    finally:
        await child.close()
        await store.close()
