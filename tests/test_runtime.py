"""The worker runtime on both buses: DLQ, retries, redelivery, graceful stop."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from xianban.bus import Bus, MemoryBus, Message
from xianban.errors import PermanentError, TransientError
from xianban.records import CrawlTask, DeadLetter, Post, Record
from xianban.runtime import READ_AHEAD, StageBroken, Worker, run_until_signalled
from xianban.settings import Settings
from xianban.stage import Stage

from .buses import open_bus


class EchoStage:
    """Turns a crawl task into a post; the query says how to misbehave."""

    name = "echo"
    input = CrawlTask

    def __init__(self, flaky_times: int = 0, *, buggy: bool = True) -> None:
        self.flaky_left = flaky_times
        self.buggy = buggy
        self.seen: list[str] = []
        self.handled = asyncio.Event()

    async def start(self) -> None:
        return None

    async def handle(self, record: CrawlTask) -> Sequence[Record]:
        query = record.query or ""
        if query == "boom":
            raise PermanentError("this task can never work")
        if query == "bug" and self.buggy:
            raise KeyError("missing")
        if query == "flaky" and self.flaky_left > 0:
            self.flaky_left -= 1
            raise TransientError("service briefly down")
        self.seen.append(record.task_id)
        self.handled.set()
        return [Post(platform="echo", native_id=record.task_id, text=query)]

    async def close(self) -> None:
        return None


@pytest.fixture(params=["memory", "kafka"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    async with open_bus(request.param) as b:
        yield b


SETTINGS = Settings(retry_attempts=3, retry_backoff_s=0.01, poll_timeout_s=0.2)


async def produce(bus: Bus, records: Sequence[Record | bytes]) -> None:
    for r in records:
        if isinstance(r, bytes):
            await bus.produce(CrawlTask.topic, r, key="garbage")
        else:
            await bus.produce(r.topic, r.to_bytes(), key=r.key())
    await bus.flush()


async def read_all(bus: Bus, topic: str, n: int, group: str = "reader") -> list[Message]:
    consumer = bus.consumer(group, [topic])
    await consumer.start()
    got: list[Message] = []
    try:
        for _ in range(100):
            got += await consumer.getmany(timeout_s=0.2, max_records=1000)
            if len(got) >= n:
                break
    finally:
        await consumer.stop()
    return got


def task(task_id: str, query: str) -> CrawlTask:
    return CrawlTask(task_id=task_id, source="s", query=query)


async def test_bad_records_go_to_dlq_and_the_stage_goes_on(bus: Bus) -> None:
    garbage = b'{"task_id": "x", "source": 5'
    await produce(
        bus,
        [task("t1", "路灯"), garbage, task("t2", "boom"), task("t3", "bug"), task("t4", "井盖")],
    )
    stage = EchoStage()
    stats = await Worker(stage, bus, SETTINGS).run(until_idle=True)
    assert sorted(stage.seen) == ["t1", "t4"]
    assert stats.dead == 3 and stats.produced == {"posts": 2, "dlq": 3}
    letters = [DeadLetter.from_bytes(m.value) for m in await read_all(bus, "dlq", 3)]
    by_type = {d.error_type: d for d in letters}
    assert set(by_type) == {"RecordError", "PermanentError", "KeyError"}
    assert by_type["RecordError"].original == garbage
    assert "invalid CrawlTask" in by_type["RecordError"].reason
    assert by_type["PermanentError"].reason == "this task can never work"
    assert all(d.stage == "echo" and d.source_topic == "crawl.tasks" for d in letters)


async def test_a_null_value_is_dead_lettered_and_the_records_behind_it_flow_on(
    bus: Bus,
) -> None:
    """A tombstone (any Kafka client can send one) used to kill the stage with TypeError
    in DeadLetter.for_bytes, on every restart, so the partition never moved again."""
    await bus.produce(CrawlTask.topic, None, key="tombstone")
    await bus.produce(CrawlTask.topic, b"", key="empty")
    await produce(bus, [task("t1", "路灯")])
    stage = EchoStage()
    stats = await Worker(stage, bus, SETTINGS).run(until_idle=True)
    assert stage.seen == ["t1"] and stats.dead == 2
    letters = {
        d.record_key: d
        for d in (DeadLetter.from_bytes(m.value) for m in await read_all(bus, "dlq", 2))
    }
    assert letters["tombstone"].null_value and "null value" in letters["tombstone"].reason
    assert letters["empty"].original == b"" and not letters["empty"].null_value


async def test_transient_errors_are_retried(bus: Bus) -> None:
    await produce(bus, [task("t1", "flaky")])
    stage = EchoStage(flaky_times=2)
    stats = await Worker(stage, bus, SETTINGS).run(until_idle=True)
    assert stage.seen == ["t1"] and stats.retries == 2 and stats.dead == 0


async def test_exhausted_retries_stop_the_worker_without_commit(bus: Bus) -> None:
    await produce(bus, [task("t1", "ok"), task("t2", "flaky")])
    with pytest.raises(TransientError):
        await Worker(EchoStage(flaky_times=99), bus, SETTINGS).run(until_idle=True)
    healthy = EchoStage()
    await Worker(healthy, bus, SETTINGS).run(until_idle=True)
    # the batch was not committed: both records come back to the next member
    assert sorted(healthy.seen) == ["t1", "t2"]


async def test_stop_finishes_the_batch_and_commits(bus: Bus) -> None:
    stage = EchoStage()
    worker = Worker(stage, bus, SETTINGS)
    running = asyncio.create_task(worker.run())
    await produce(bus, [task(f"t{i}", "x") for i in range(20)])
    for _ in range(200):
        if len(stage.seen) == 20:
            break
        await asyncio.sleep(0.05)
    worker.stop()
    await asyncio.wait_for(running, timeout=30)
    again = EchoStage()
    await Worker(again, bus, SETTINGS).run(until_idle=True)
    assert len(stage.seen) == 20 and again.seen == []


async def test_sigterm_drains_and_stops(bus: Bus) -> None:
    stage = EchoStage()
    await produce(bus, [task("t1", "x")])

    async def terminate_when_done() -> None:
        await stage.handled.wait()
        os.kill(os.getpid(), signal.SIGTERM)

    killer = asyncio.create_task(terminate_when_done())
    workers: list[Worker] = [Worker(stage, bus, SETTINGS)]
    await asyncio.wait_for(run_until_signalled(workers), timeout=30)
    await killer
    assert stage.seen == ["t1"]


async def test_a_dying_worker_fails_loudly(bus: Bus) -> None:
    await produce(bus, [task("t1", "flaky")])
    stage: Stage[CrawlTask] = EchoStage(flaky_times=99)
    with pytest.raises(TransientError):
        await asyncio.wait_for(run_until_signalled([Worker(stage, bus, SETTINGS)]), timeout=30)


async def test_a_stage_that_fails_every_record_stops_instead_of_emptying_the_topic(
    bus: Bus,
) -> None:
    await produce(bus, [task(f"t{i}", "bug") for i in range(10)] + [task("ok", "x")])
    settings = SETTINGS.model_copy(update={"max_consecutive_bugs": 5})
    with pytest.raises(StageBroken, match="5 records in a row"):
        await Worker(EchoStage(), bus, settings).run(until_idle=True)
    fixed = EchoStage(buggy=False)  # the fleet restarts it once the bug is fixed
    stats = await Worker(fixed, bus, settings).run(until_idle=True)
    assert sorted(fixed.seen) == sorted([f"t{i}" for i in range(10)] + ["ok"])
    assert stats.dead == 0  # the broken batch was never committed: nothing lost


class BatchEchoStage(EchoStage):
    """EchoStage taking batches: one call per poll; a "bug" task breaks the whole batch."""

    def __init__(self, *, transient_batches: int = 0, short: bool = False) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.transient_left = transient_batches
        self.short = short
        self.assignments: list[frozenset[tuple[str, int]]] = []

    async def assigned(self, partitions: frozenset[tuple[str, int]]) -> None:
        self.assignments.append(partitions)

    async def handle_batch(self, records: Sequence[CrawlTask]) -> list[Sequence[Record]]:
        if self.transient_left > 0:
            self.transient_left -= 1
            raise TransientError("store briefly away")
        if any(r.query == "bug" for r in records):
            raise KeyError("one record breaks the batch")
        self.batches.append(len(records))
        out = [await self.handle(r) for r in records]
        return out[:-1] if self.short else out


async def test_a_batch_stage_gets_each_poll_at_once(bus: Bus) -> None:
    await produce(bus, [task(f"t{i}", "路灯") for i in range(30)])
    stage = BatchEchoStage()
    stats = await Worker(stage, bus, SETTINGS).run(until_idle=True)
    assert sorted(stage.seen) == sorted(f"t{i}" for i in range(30))
    assert sum(stage.batches) == 30 and len(stage.batches) < 30
    assert stats.produced == {"posts": 30} and stats.committed == 30
    assert stage.assignments and stage.assignments[0]  # told its partitions before a batch


async def test_a_failing_batch_is_handled_again_one_by_one(bus: Bus) -> None:
    """Only the record that fails alone goes to the DLQ; its batch-mates flow on."""
    await produce(bus, [task("t1", "x"), task("t2", "bug"), task("t3", "boom"), task("t4", "y")])
    stage = BatchEchoStage()
    stats = await Worker(stage, bus, SETTINGS).run(until_idle=True)
    assert sorted(stage.seen) == ["t1", "t4"]
    letters = [DeadLetter.from_bytes(m.value) for m in await read_all(bus, "dlq", 2)]
    assert sorted(d.error_type for d in letters) == ["KeyError", "PermanentError"]
    assert stats.dead == 2 and stats.produced["posts"] == 2


async def test_a_transient_batch_failure_retries_the_batch(bus: Bus) -> None:
    await produce(bus, [task("t1", "x"), task("t2", "y")])
    stage = BatchEchoStage(transient_batches=2)
    stats = await Worker(stage, bus, SETTINGS).run(until_idle=True)
    assert sorted(stage.seen) == ["t1", "t2"] and stats.retries == 2 and stats.dead == 0


async def test_a_batch_answering_too_few_output_lists_stops_the_worker(bus: Bus) -> None:
    await produce(bus, [task("t1", "x"), task("t2", "y")])
    with pytest.raises(StageBroken, match="output lists"):
        await Worker(BatchEchoStage(short=True), bus, SETTINGS).run(until_idle=True)


class PreparingEchoStage(BatchEchoStage):
    """BatchEchoStage with early work: a log of prepare and handle_batch calls, by the
    first task id of each batch."""

    def __init__(self, *, ahead: bool) -> None:
        super().__init__()
        self.ahead = ahead
        self.log: list[tuple[str, str]] = []
        self.prepared: list[Sequence[CrawlTask]] = []
        self.on_handle: Callable[[], None] = lambda: None

    def prepare(self, records: Sequence[CrawlTask]) -> bool:
        self.log.append(("prepare", records[0].task_id))
        self.prepared.append(records)
        return self.ahead

    async def handle_batch(self, records: Sequence[CrawlTask]) -> list[Sequence[Record]]:
        assert any(records is p for p in self.prepared)  # the very list prepare saw
        self.log.append(("handle", records[0].task_id))
        self.on_handle()
        return await super().handle_batch(records)


async def test_a_stage_working_elsewhere_gets_the_next_polls_prepared_first(bus: Bus) -> None:
    """While a poll's work runs elsewhere (a child process), the worker reads and
    prepares the next polls (``READ_AHEAD``) before it handles the one in hand; all in
    order, each once."""
    await produce(bus, [task(f"t{i:02}", "x") for i in range(24)])
    stage = PreparingEchoStage(ahead=True)
    settings = SETTINGS.model_copy(update={"batch_size": 4})
    stats = await Worker(stage, bus, settings).run(until_idle=True)
    assert sorted(stage.seen) == [f"t{i:02}" for i in range(24)]
    assert stats.committed == 24 and stats.produced == {"posts": 24}
    handled = [first for what, first in stage.log if what == "handle"]
    for first, then in itertools.pairwise(handled):  # the next one prepared before
        at = stage.log.index(("handle", first))
        assert stage.log.index(("prepare", then)) < at
    # the first handled once READ_AHEAD more were prepared
    assert [what for what, _ in stage.log[: READ_AHEAD + 2]] == ["prepare"] * (READ_AHEAD + 1) + [
        "handle"
    ]


async def test_a_stage_doing_its_own_work_is_not_read_ahead(bus: Bus) -> None:
    await produce(bus, [task(f"t{i:02}", "x") for i in range(12)])
    stage = PreparingEchoStage(ahead=False)
    settings = SETTINGS.model_copy(update={"batch_size": 4})
    stats = await Worker(stage, bus, settings).run(until_idle=True)
    assert stats.committed == 12
    assert [what for what, _ in stage.log] == ["prepare", "handle"] * (len(stage.log) // 2)


async def test_stop_handles_the_polls_read_ahead_and_commits_them(bus: Bus) -> None:
    """Stopped while handling a poll, the worker also handles those it read ahead,
    commits them and reads no more: the rest is the next member's, none twice."""
    await produce(bus, [task(f"t{i:02}", "x") for i in range(40)])
    stage = PreparingEchoStage(ahead=True)
    worker = Worker(stage, bus, SETTINGS.model_copy(update={"batch_size": 4}))
    stage.on_handle = worker.stop
    stats = await asyncio.wait_for(worker.run(), timeout=30)
    read = 4 * (1 + READ_AHEAD)
    assert stage.seen == [f"t{i:02}" for i in range(read)] and stats.committed == read
    again = PreparingEchoStage(ahead=True)
    await Worker(again, bus, SETTINGS).run(until_idle=True)
    assert again.seen == [f"t{i:02}" for i in range(read, 40)]


class TakingStage:
    """Reads posts and keeps what it was handed."""

    name = "taker"
    input = Post

    def __init__(self) -> None:
        self.got: list[Post] = []

    async def start(self) -> None:
        return None

    async def handle(self, record: Post) -> Sequence[Record]:
        self.got.append(record)
        return []

    async def close(self) -> None:
        return None


class KeepingEchoStage(EchoStage):
    """EchoStage keeping what it made."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[Record] = []

    async def handle(self, record: CrawlTask) -> Sequence[Record]:
        out = await super().handle(record)
        self.made.extend(out)
        return out


async def test_the_next_stage_gets_the_record_the_stage_before_made(bus: Bus) -> None:
    """On the memory bus the very record (not decoded again from its bytes); on Kafka
    one decoded from them, equal; bytes that do not decode still go to the DLQ."""
    await produce(bus, [task("t1", "路灯")])
    echo = KeepingEchoStage()
    await Worker(echo, bus, SETTINGS).run(until_idle=True)
    await bus.produce(Post.topic, b'{"platform": 1}', key="bad")
    await bus.flush()
    taker = TakingStage()
    stats = await Worker(taker, bus, SETTINGS).run(until_idle=True)
    [post] = echo.made
    assert taker.got == [post] and stats.dead == 1
    assert (taker.got[0] is post) == isinstance(bus, MemoryBus)
