"""Hostile records never stop a stage, on the memory bus and on Kafka.

The whole loop runs (every consumer stage as a worker, the simulators, SQLite) while
hypothesis pushes malformed and mutated records (broken JSON, wrong types, huge fields,
invalid UTF-8, a schema version from the future, empty bytes, null values) onto every
stage's topic between valid ones. Each bad record must land in ``dlq`` with a reason and
its original bytes, each valid one must have its effect, and no worker may die. The
number of examples is bounded per bus so each run stays well under a minute.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xianban.bus import Consumer, LocalBroker, Message
from xianban.embedded import embedded_system
from xianban.records import CrawlTask, DeadLetter, Lead, Post, Record, Verdict
from xianban.runtime import Worker
from xianban.settings import Settings
from xianban.wiring import STAGES, System, load_stage

from .fixtures.kafka import fast_kafka_settings
from .hostile import MODELS, hostile, valid
from .services import require_service

EXAMPLES = {"memory": 60, "kafka": 15}
"""Hypothesis examples per bus, each a list of ``MIN_ITEMS``-``MAX_ITEMS`` records."""
MIN_ITEMS = 20
MAX_ITEMS = 100
SETTLE_TIMEOUT_S = 60.0


@dataclass
class Loop:
    """The running loop: every consumer stage as a worker, and a reader on ``dlq``."""

    system: System
    workers: list[Worker]
    tasks: list[asyncio.Task[object]]
    reader: Consumer
    letters: dict[str, DeadLetter] = field(default_factory=dict)
    sent: Counter[str] = field(default_factory=Counter)
    serial: itertools.count[int] = field(default_factory=itertools.count)

    def alive(self) -> None:
        for task in self.tasks:
            if task.done():
                error = None if task.cancelled() else task.exception()
                raise AssertionError(f"{task.get_name()} stopped: {error!r}")

    async def send(self, items: Sequence[tuple[str, bytes | None, str]]) -> None:
        for topic, value, key in items:
            await self.system.bus.produce(topic, value, key=key)
            self.sent[topic] += 1
        await self.system.bus.flush()

    async def settle(self) -> None:
        """Until every worker has committed every record on its topic, the outputs of
        the stages before it included (they commit only after producing)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT_S
        while True:
            self.alive()
            expected = Counter(self.sent)
            for w in self.workers:
                expected.update(w.stats.produced)
            if all(w.stats.committed >= expected[w.stage.input.topic] for w in self.workers):
                return
            if loop.time() > deadline:
                state = {w.stage.name: (w.stats.committed, expected[w.stage.input.topic])}
                raise AssertionError(f"the loop did not settle: {state}")
            await asyncio.sleep(0.01)


async def start_loop(settings: Settings, stack: AsyncExitStack) -> Loop:
    system = await stack.enter_async_context(embedded_system(settings))
    workers = []
    for name in STAGES:
        stage = load_stage(name)(system.ctx)
        await stage.start()
        stack.push_async_callback(stage.close)
        workers.append(Worker(stage, system.bus, system.settings, store=system.store))
    tasks: list[asyncio.Task[object]] = [
        asyncio.create_task(w.run(), name=f"worker:{w.stage.name}") for w in workers
    ]

    async def stop() -> None:
        for w in workers:
            w.stop()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [
            r
            for r in results
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
        ]
        assert not errors, errors

    stack.push_async_callback(stop)
    reader = system.bus.consumer("fuzz-dlq-reader", [DeadLetter.topic])
    return Loop(system=system, workers=workers, tasks=tasks, reader=reader)


@asynccontextmanager
async def running_loop(bus: str, tmp_path: Path) -> AsyncIterator[Loop]:
    base = Settings(data_dir=tmp_path, poll_timeout_s=0.05, retry_backoff_s=0.01, partitions=2)
    async with AsyncExitStack() as stack:
        if bus == "kafka":
            require_service("kafka", LocalBroker.available())
            broker = await stack.enter_async_context(LocalBroker())
            base = base.model_copy(
                update={"bus": "kafka", "kafka": fast_kafka_settings(broker.bootstrap)}
            )
        running = await start_loop(base, stack)
        await running.reader.start()
        stack.push_async_callback(running.reader.stop)
        yield running


@pytest.fixture
async def memory_loop(tmp_path: Path) -> AsyncIterator[Loop]:
    async with running_loop("memory", tmp_path) as running:
        yield running


@pytest.fixture
async def kafka_loop(tmp_path: Path) -> AsyncIterator[Loop]:
    async with running_loop("kafka", tmp_path) as running:
        yield running


@pytest.fixture(params=["memory", "kafka"])
async def loop(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Loop]:
    async with running_loop(request.param, tmp_path) as running:
        yield running


async def read_letters(loop: Loop, keys: set[str]) -> dict[str, DeadLetter]:
    reader = loop.reader
    deadline = asyncio.get_running_loop().time() + SETTLE_TIMEOUT_S
    while not keys <= loop.letters.keys():
        assert asyncio.get_running_loop().time() < deadline, keys - loop.letters.keys()
        messages: list[Message] = await reader.getmany(timeout_s=0.1, max_records=1000)
        for m in messages:
            letter = DeadLetter.from_bytes(m.value)
            assert letter.record_key is not None
            loop.letters[letter.record_key] = letter
    return {k: loop.letters[k] for k in keys}


async def check_effect(loop: Loop, record: Record) -> None:
    """The stage that read this valid record did what it does with one."""
    store = loop.system.store
    if isinstance(record, CrawlTask):
        task = await store.get_task(record.task_id)
        assert task is not None and task.status == "done", task
    elif isinstance(record, Post):
        assert await store.has_post(record.post_id)
    elif isinstance(record, Lead):
        assert await store.latest_verdict(record.cluster_id) is not None
    elif isinstance(record, Verdict):
        assert await store.get_case_by_cluster(record.cluster_id) is not None


TOPICS = sorted(MODELS)


@st.composite
def item(draw: st.DrawFn) -> tuple[str, bytes | str | None]:
    """A topic and a hostile record for it, or "good" (one in five): a valid neighbour."""
    topic = draw(st.sampled_from(TOPICS))
    if draw(st.integers(0, 4)) == 4:
        return topic, "good"
    return topic, draw(hostile(topic))


ITEM = item()


HYPOTHESIS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
ITEMS = st.lists(ITEM, min_size=MIN_ITEMS, max_size=MAX_ITEMS)


# A failing example holds records of up to ~800 kB: hypothesis's warning about printing
# it must not turn the report of a real failure into a warning-as-error.
LARGE_REPR = pytest.mark.filterwarnings("ignore:Generating overly large repr")


@LARGE_REPR
@given(items=ITEMS)
@settings(HYPOTHESIS, max_examples=EXAMPLES["memory"])
async def test_hostile_records_never_stop_a_stage_on_the_memory_bus(
    memory_loop: Loop, items: list[tuple[str, bytes | str | None]]
) -> None:
    await push_and_check(memory_loop, items)


@LARGE_REPR
@given(items=ITEMS)
@settings(HYPOTHESIS, max_examples=EXAMPLES["kafka"])
async def test_hostile_records_never_stop_a_stage_on_kafka(
    kafka_loop: Loop, items: list[tuple[str, bytes | str | None]]
) -> None:
    await push_and_check(kafka_loop, items)


async def push_and_check(loop: Loop, items: list[tuple[str, bytes | str | None]]) -> None:
    """Send the items (valid records where an item says "good"), wait for the loop to
    settle, then: every bad one is in ``dlq`` whole, every good one had its effect."""
    run = uuid.uuid4().hex[:8]
    sending: list[tuple[str, bytes | None, str]] = []
    bad: dict[str, tuple[str, bytes | None]] = {}
    good: list[Record] = []
    crawls = 0
    for topic, what in items:
        n = f"{run}-{next(loop.serial)}"
        if what == "good":
            if topic == CrawlTask.topic:
                crawls += 1
                if crawls > 2:  # each crawl fetches from the simulator: a few are enough
                    continue
            record = valid(topic, n)
            good.append(record)
            sending.append((topic, record.to_bytes(), record.key()))
        else:
            assert not isinstance(what, str)
            key = f"bad-{n}"
            bad[key] = (topic, what)
            sending.append((topic, what, key))
    await loop.send(sending)
    await loop.settle()
    letters = await read_letters(loop, set(bad))
    for key, (topic, value) in bad.items():
        letter = letters[key]
        assert letter.source_topic == topic and letter.reason, letter
        assert letter.error_type == "RecordError", letter
        if value is None:
            assert letter.null_value and letter.original == b"", letter
        elif letter.truncated:
            assert value.startswith(letter.original) and letter.original_size == len(value)
        else:
            assert letter.original == value and not letter.null_value
    assert not {r.key() for r in good} & loop.letters.keys()
    for record in good:
        await check_effect(loop, record)
    loop.alive()


async def test_a_record_too_big_for_a_dead_letter_is_cut_on_the_bus_and_kept_whole(
    loop: Loop,
) -> None:
    huge = b'{"platform": "fuzz", "native_id": "big", "text": "' + b"x" * 880_000 + b'"'
    await loop.send([(Post.topic, huge, "bad-huge"), (Post.topic, None, "bad-tombstone")])
    await loop.settle()
    letters = await read_letters(loop, {"bad-huge", "bad-tombstone"})
    cut = letters["bad-huge"]
    assert cut.truncated and cut.original_size == len(huge)
    assert huge.startswith(cut.original)
    assert len(cut.to_bytes()) <= loop.system.settings.dlq_max_bytes
    tombstone = letters["bad-tombstone"]
    assert tombstone.null_value and tombstone.original_size is None
    assert "null value" in tombstone.reason
    kept = {d.record_key: d for d in await loop.system.store.list_dead_letters(limit=10)}
    assert kept["bad-huge"].original == huge and not kept["bad-huge"].truncated
    assert kept["bad-tombstone"].null_value
    loop.alive()
