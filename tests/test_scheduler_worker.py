"""``xianban worker scheduler``: due sources onto crawl.tasks, one active scheduler at a time.

The lease is the store's (SQLite and PostgreSQL); the schedulers run on the memory bus and
on Kafka, two at once as two machines would, one holding the lease and one standing by.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.scheduler import LEASE, Scheduler
from crawlers.sources import load_sources
from xianban.bus import Bus, make_bus
from xianban.records import CrawlTask
from xianban.settings import Settings
from xianban.store import Store

from .buses import open_bus

T0 = datetime(2026, 7, 1, 9, 0, 7, tzinfo=UTC)


async def test_the_lease_has_one_holder_at_a_time(store: Store) -> None:
    assert await store.acquire_lease("job", "a", ttl_s=60, now=T0)
    assert not await store.acquire_lease("job", "b", ttl_s=60, now=T0 + timedelta(seconds=30))
    assert await store.acquire_lease("job", "a", ttl_s=60, now=T0 + timedelta(seconds=50))
    assert await store.lease_holder("job", now=T0 + timedelta(seconds=100)) == "a"
    later = T0 + timedelta(seconds=111)  # a stopped renewing 61 s ago: b takes over
    assert await store.acquire_lease("job", "b", ttl_s=60, now=later)
    assert not await store.acquire_lease("job", "a", ttl_s=60, now=later)
    await store.release_lease("job", "a")  # not a's to give up
    assert await store.lease_holder("job", now=later) == "b"
    await store.release_lease("job", "b")
    assert await store.lease_holder("job", now=later) is None
    assert await store.acquire_lease("job", "a", ttl_s=60, now=later)


async def contenders(results: list[bool], store: Store, n: int, now: datetime) -> None:
    async def one(i: int) -> None:
        results.append(await store.acquire_lease("race", f"h{i}", ttl_s=60, now=now))

    await asyncio.gather(*(one(i) for i in range(n)))


async def test_contenders_at_the_same_moment_get_one_lease(store: Store) -> None:
    results: list[bool] = []
    await contenders(results, store, 6, T0)
    assert results.count(True) == 1


@pytest.fixture(params=["memory", "kafka"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    async with open_bus(request.param) as opened:
        yield opened


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    try:
        yield opened
    finally:
        await opened.close()


@asynccontextmanager
async def open_bus_on(settings: Settings) -> AsyncIterator[Bus]:
    bus = make_bus(settings)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


async def sent_tasks(bus: Bus, n: int) -> list[CrawlTask]:
    reader = bus.consumer("check", [CrawlTask.topic])
    await reader.start()
    got: list[CrawlTask] = []
    try:
        for _ in range(100):
            got += [
                CrawlTask.from_bytes(m.value)
                for m in await reader.getmany(timeout_s=0.2, max_records=10_000)
            ]
            if len(got) >= n:
                break
        got += [
            CrawlTask.from_bytes(m.value)
            for m in await reader.getmany(timeout_s=0.5, max_records=10_000)
        ]
    finally:
        await reader.stop()
    return got


async def test_two_schedulers_send_each_due_task_once_and_hand_over(
    bus: Bus, sqlite_store: Store
) -> None:
    sources = list(load_sources(Settings().configs_dir).values())
    clock = {"now": T0}
    made = [
        Scheduler(sqlite_store, bus, sources, holder=h, lease_s=90, clock=lambda: clock["now"])
        for h in ("a", "b")
    ]
    a, b = made
    first = await a.tick()
    assert first and await b.tick() is None  # b stands by
    expected = {t.task_id for t in first}
    assert len(expected) == len(first) == sum(len(s.queries) for s in sources if s.enabled)
    clock["now"] += timedelta(seconds=30)
    assert await a.tick() == [] and await b.tick() is None  # nothing twice in one slot

    clock["now"] += timedelta(seconds=91)  # a died: its lease runs out, b takes over
    assert await b.tick() is not None and b.holding
    assert await a.tick() is None and not a.holding
    longest = max(s.interval_s for s in sources)
    clock["now"] += timedelta(seconds=longest)  # every source due again, in a new slot
    second = await b.tick()
    assert second and not {t.task_id for t in second} & expected

    tasks = await sent_tasks(bus, len(first) + len(second))
    per_id = Counter(t.task_id for t in tasks)
    assert all(per_id[t] == 1 for t in expected)
    assert {t.task_id for t in second} <= per_id.keys()


async def test_started_twice_one_schedules_and_a_clean_stop_frees_the_lease(
    bus: Bus, sqlite_store: Store
) -> None:
    sources = list(load_sources(Settings().configs_dir).values())
    stop = asyncio.Event()
    pair = [Scheduler(sqlite_store, bus, sources, holder=h, lease_s=5) for h in ("x", "y")]
    running = [asyncio.create_task(s.run(every_s=0.05, stop=stop)) for s in pair]
    await asyncio.sleep(1.0)
    assert sum(s.holding for s in pair) == 1
    stop.set()
    await asyncio.wait_for(asyncio.gather(*running), timeout=30)
    assert await sqlite_store.lease_holder(LEASE) is None
    tasks = await sent_tasks(bus, 1)
    per_id = Counter(t.task_id for t in tasks)
    assert per_id and max(per_id.values()) == 1


async def test_worker_scheduler_once_on_kafka_sends_the_due_tasks(tmp_path: Path) -> None:
    """`xianban worker scheduler --once`, the cron form, against a broker of its own."""
    from xianban.bus import LocalBroker
    from xianban.workers import run_worker

    from .fixtures.kafka import fast_kafka_settings
    from .services import require_service

    require_service("kafka", LocalBroker.available())
    async with LocalBroker() as broker:
        settings = Settings(
            data_dir=tmp_path, bus="kafka", kafka=fast_kafka_settings(broker.bootstrap)
        )
        await run_worker(settings, "scheduler", once=True)
        await run_worker(settings, "scheduler", once=True)  # a second cron run: nothing new
        async with open_bus_on(settings) as bus:
            tasks = await sent_tasks(bus, 1)
        store = await Store.open(settings.db_url)
        try:
            assert await store.lease_holder(LEASE) is None
        finally:
            await store.close()
    per_id = Counter(t.task_id for t in tasks)
    sources = load_sources(settings.configs_dir).values()
    assert len(per_id) == sum(len(s.queries) for s in sources if s.enabled)
    assert max(per_id.values()) == 1
