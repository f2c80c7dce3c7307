"""Crash injection over a stream of verdicts: the case opener killed between any two of its
steps (store writes, the filing call, produce, flush), filings that time out before or
after the work-order system committed, at ≥ 200 randomised points on each deployment →
every confirmed problem has exactly one case and one work order, none lost, none doubled,
and every other report of it attached to that case.

What a crash is here. The stage dies at a counted step, before or after it: every store
call is its own transaction, so what the store keeps is what a killed process would have
committed; nothing after the crash point is committed to the bus (the runtime commits a
poll only after its outputs are acknowledged); the work-order system (``sim.workorders``)
keeps what it accepted, including filings whose answer the stage never read. Most crashes
happen in-process (``Killed``, a BaseException nothing in the runtime catches): the
consumer is then stopped without committing, which on Kafka sends LeaveGroup where aiokafka
sends one (not for a member of generation 0), and the trial's producer lives on, so
records sent but not yet acknowledged before the crash may still arrive, as a kill can
leave them too. A few points on Kafka are genuine kill -9s: the incarnation runs in a
process of its own that SIGKILLs itself at the crash point, so no LeaveGroup, no flush, no
close; its group member is evicted when its session times out and the database drops its
connection.

Each trial has its own stream, fresh topics and a fresh consumer group (``PrefixedBus``)
and a work-order system of its own; ``LANES`` trials run at once, each lane on a database
of its own (on Kafka, one shared broker). A Kafka restart costs mostly waiting for the
group to form: tansu answers a JoinGroup after about max(1 s, session timeout / 2), and
the first one after a member vanished after up to 1.8 session timeouts (measured: 5 s and
18 s at the default 10 s session, 1 s at 1 s), so the consumers here use a 1 s session and
the lanes overlap the waits.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from case_opener.stage import CaseOpenerStage
from case_opener.supervision import Supervisor
from sim.workorders import FaultSpec, WorkOrderSystem, create_workorder_app
from tests.fixtures.postgres import fresh_postgres_database
from xianban.asgi_server import EmbeddedServer
from xianban.bus import Bus, LocalBroker, make_bus
from xianban.bus.base import Consumer
from xianban.records import Geo, Lead, Verdict
from xianban.runtime import Worker
from xianban.settings import ROOT, KafkaSettings, Settings
from xianban.stage import StageContext
from xianban.store import Store

TRIALS = 20
CRASHES_PER_TRIAL = 11
LANES = 8
"""Trials at once, each lane with its own database: enough to overlap the group joins,
few enough for two shared cores and PostgreSQL's connection limit."""
SIGKILLS = {0: 2, 5: 2, 10: 2, 15: 2}
"""On Kafka, trial → how many of its first crashes are a genuine kill -9."""

STORE_STEPS = frozenset(
    {
        # one record at a time
        "save_case",
        "outbox_put",
        "outbox_done",
        "outbox_failed",
        "outbox_pending",
        "get_case_by_cluster",
        "get_case",
        "latest_verdict",
        # the batched paths
        "cases_by_cluster",
        "get_cases",
        "save_cases",
        "queue_filings",
        "outbox_results",
    }
)


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the runtime catches it."""


WHERE: Counter[str] = Counter()
"""Where the crashes fell, over the whole test (printed with -s)."""


def killed(where: str) -> NoReturn:
    raise Killed(where)


class CrashPoint:
    """Counts steps; at the chosen one the process dies (``die``), before or after it."""

    def __init__(self, at: int | None, *, die: Callable[[str], NoReturn] = killed) -> None:
        self.at, self.calls, self.die = at, 0, die

    def step(self, name: str, phase: str) -> None:
        self.calls += 1
        if self.calls == self.at:
            where = f"{phase} {name}"
            if self.die is killed:
                WHERE[where] += 1
            self.die(where)

    def around(self, name: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.step(name, "before")
            result = await call(*args, **kwargs)
            self.step(name, "after")
            return result

        return wrapped


class CrashingStore:
    def __init__(self, store: Store, crash: CrashPoint) -> None:
        self._store, self._crash = store, crash

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        return self._crash.around(name, value) if name in STORE_STEPS else value


class CrashingBus:
    def __init__(self, bus: Bus, crash: CrashPoint) -> None:
        self._bus, self._crash = bus, crash
        self.produce = crash.around("produce", bus.produce)
        self.flush = crash.around("flush", bus.flush)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)


def confirmed(trial: str, n: int, *, duplicate_of: str | None = None, post: int = 0) -> Verdict:
    cluster = f"{trial}-c{n}"
    lead = Lead(
        lead_id=f"{cluster}-l{post}",
        cluster_id=cluster,
        post_ids=[f"weibo:{trial}-{n}-{post}"],
        platform="weibo",
        text=f"南山科技园第{n}个井盖丢了",
        category="municipal_facilities",
        urgent=n % 3 == 0,
        geo=Geo(district="南山区", street="粤海街道"),
        score=0.95,
    )
    return Verdict(
        verdict_id=f"{cluster}-v{post}",
        cluster_id=cluster,
        lead=lead,
        decision="confirmed",
        by="rule:duplicate_open_case" if duplicate_of else "rule:urgent_hazard",
        reason="佐证" if duplicate_of else "加急",
        duplicate_of=duplicate_of,
    )


def stream(trial: str, rng: random.Random) -> tuple[list[Verdict], dict[str, set[str]]]:
    """Verdicts in a shuffled order, and the posts each expected case must carry."""
    problems = 12
    verdicts = [confirmed(trial, n) for n in range(problems)]
    expected = {v.cluster_id: set(v.lead.post_ids) for v in verdicts}
    for k in range(6):  # follow-up reports in the same cluster
        n = rng.randrange(problems)
        v = confirmed(trial, n, duplicate_of=f"{trial}-c{n}", post=k + 1)
        verdicts.append(v)
        expected[f"{trial}-c{n}"] |= set(v.lead.post_ids)
    for k in range(6):  # other clusters found to be one more report of a problem
        n = rng.randrange(problems)
        other = confirmed(trial, 100 + k, duplicate_of=f"{trial}-c{n}", post=9)
        verdicts.append(other)
        expected[f"{trial}-c{n}"] |= set(other.lead.post_ids)
    review = confirmed(trial, 200).model_copy(update={"decision": "needs_review"})
    verdicts.append(review)
    rng.shuffle(verdicts)
    return verdicts, expected


def trial_settings(workorder_url: str, rng: random.Random) -> Settings:
    return Settings(
        workorder_url=workorder_url,
        workorder_timeout_s=0.3,
        poll_timeout_s=0.05,
        batch_size=rng.choice([1, 5, 50]),
        partitions=3,
    )


def fast_kafka(bootstrap: str) -> KafkaSettings:
    """A 1 s session (heartbeats every 0.1 s): a restarted case opener gets its partitions
    after about a second on tansu, a dead member is evicted as fast. Requests keep the
    default 15 s timeout: with the suite on two xdist workers and the cores shared, a lag
    probe across eight lanes took over 5 s to be answered."""
    return KafkaSettings(
        bootstrap=bootstrap,
        session_timeout_ms=1_000,
        heartbeat_interval_ms=100,
        request_timeout_ms=15_000,
    )


class PrefixedBus:
    """One trial's topics and consumer groups on a broker other trials share: every name
    gets the trial's prefix, so each trial starts on empty topics and a fresh group."""

    def __init__(self, bus: Bus, prefix: str) -> None:
        self._bus, self._prefix = bus, prefix

    async def start(self) -> None:
        await self._bus.start()

    async def close(self) -> None:
        await self._bus.close()

    async def ensure_topics(self, topics: Sequence[str], *, partitions: int) -> None:
        await self._bus.ensure_topics([self._prefix + t for t in topics], partitions=partitions)

    async def produce(
        self, topic: str, value: bytes | None, *, key: str | bytes | None, record: object = None
    ) -> None:
        await self._bus.produce(self._prefix + topic, value, key=key, record=record)

    async def flush(self) -> None:
        await self._bus.flush()

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str = "") -> Consumer:
        named = [self._prefix + t for t in topics]
        return self._bus.consumer(self._prefix + group, named, client_id=client_id)


async def incarnation(crash: CrashPoint, settings: Settings, bus: Bus, store: Store) -> None:
    """One life of the case opener: started, run until the stream is drained or it dies."""
    proxy: Any = CrashingStore(store, crash)
    stage = CaseOpenerStage(StageContext(settings=settings, store=proxy))
    await stage.start()
    assert stage.client is not None  # killed before or after the filing call, too
    stage.client.file = crash.around("file", stage.client.file)  # type: ignore[method-assign]
    try:
        await Worker(stage, CrashingBus(bus, crash), settings, store=proxy).run(until_idle=True)
    finally:
        await stage.close()


@dataclass
class Lane:
    """A bus and a database that trials use one after another; on Kafka, ``kafka`` says
    how to reach the broker from a process of its own."""

    bus: Bus
    store: Store
    store_url: str
    kafka: KafkaSettings | None = None


@dataclass
class Deployment:
    """What one trial runs against: its lane's bus under fresh names, the lane's store
    and a work-order system of its own."""

    bus: Bus
    store: Store
    store_url: str
    workorders: WorkOrderSystem
    workorder_url: str
    kafka: KafkaSettings | None
    prefix: str


async def sigkilled_incarnation(d: Deployment, settings: Settings, at: int) -> str | None:
    """An incarnation in a child process that SIGKILLs itself at step ``at``; where it died,
    or None when it drained the stream first."""
    assert d.kafka is not None
    spec = {
        "kafka": d.kafka.model_dump(),
        "prefix": d.prefix,
        "store_url": d.store_url,
        "settings": settings.model_dump(
            include={
                "workorder_url",
                "workorder_timeout_s",
                "poll_timeout_s",
                "batch_size",
                "partitions",
            }
        ),
        "at": at,
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.test_crash_verdicts",
        json.dumps(spec),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await child.communicate()
    except BaseException:  # another lane failed: no child outlives its test
        if child.returncode is None:
            child.kill()
        await child.wait()
        raise
    marks = [line for line in out.decode(errors="replace").splitlines() if line.startswith(MARK)]
    if child.returncode == -signal.SIGKILL and marks:
        where = marks[-1].removeprefix(MARK)
        WHERE[f"SIGKILL {where}"] += 1
        return where
    assert child.returncode == 0, out.decode(errors="replace")[-3000:]
    return None


MARK = "crash point: "


async def run_child(spec: dict[str, Any]) -> None:
    """The child side of ``sigkilled_incarnation``."""

    def sigkill(where: str) -> NoReturn:
        print(MARK + where, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

    settings = Settings(**spec["settings"])
    kafka = KafkaSettings(**spec["kafka"])
    bus = PrefixedBus(make_bus(Settings(bus="kafka", kafka=kafka, partitions=3)), spec["prefix"])
    await bus.start()
    store = await Store.open(spec["store_url"])
    try:
        await incarnation(CrashPoint(spec["at"], die=sigkill), settings, bus, store)
    finally:
        await store.close()
        await bus.close()


async def run_trial(
    trial: str, rng: random.Random, d: Deployment, *, crashes_wanted: int, sigkills: int = 0
) -> int:
    """Feed one stream through a case opener that keeps getting killed; crashes made."""
    settings = trial_settings(d.workorder_url, rng)
    store, bus = d.store, d.bus
    verdicts, expected = stream(trial, rng)
    for v in verdicts:  # as the verifier does: recorded, then produced
        await store.record_verdict(v)
        await bus.produce(v.topic, v.to_bytes(), key=v.key())
    await bus.flush()

    crashes = rounds = 0
    while rounds < crashes_wanted * 4 + 1:
        rounds += 1
        last = crashes >= crashes_wanted
        at = None if last else rng.randint(1, 12)
        if not last and rng.random() < 0.3:  # the work-order system misbehaves too
            kind = rng.choice(["timeout_after_accept", "timeout_before_accept", "error_5xx"])
            d.workorders.faults.append(FaultSpec(kind=kind, times=1, delay_s=0.5))
        if at is not None and crashes < sigkills:
            if await sigkilled_incarnation(d, settings, at) is not None:
                crashes += 1
            continue
        try:
            await incarnation(CrashPoint(at), settings, bus, store)
        except Killed:
            crashes += 1
            continue
        if last:
            break
    d.workorders.faults.clear()
    supervisor = Supervisor(StageContext(settings=settings, store=store))
    await supervisor.start()
    try:
        for _ in range(5):  # what is still in the outbox is delivered by supervision
            await supervisor.sweep()
            if (await store.counts())["outbox_pending"] == 0:
                break
    finally:
        await supervisor.close()

    cases = [
        c for c in await store.list_cases(limit=10_000) if c.cluster_id.startswith(f"{trial}-")
    ]
    by_cluster = {c.cluster_id: c for c in cases}
    assert len(by_cluster) == len(cases), "a problem got two cases"
    assert set(by_cluster) == set(expected), "a case was lost or one too many opened"
    for cluster, posts in expected.items():
        assert set(by_cluster[cluster].post_ids) == posts, f"{cluster}: a report was lost"
        assert by_cluster[cluster].status == "filed", by_cluster[cluster].history
    orders = list(d.workorders.orders.values())
    assert len(orders) == len(expected), "a work order was filed twice or never"
    assert len({o.external_id for o in orders}) == len(orders)
    assert {o.external_id for o in orders} == {c.case_id for c in cases}
    assert {c.external_id for c in cases} == {o.service_request_id for o in orders}
    return crashes


@asynccontextmanager
async def workorder_system() -> AsyncIterator[tuple[WorkOrderSystem, str]]:
    """The simulated work-order system alone, one per trial, so its faults are the trial's."""
    system = WorkOrderSystem()
    server = EmbeddedServer(create_workorder_app(system), lifespan="off")
    await server.start()
    try:
        yield system, server.url
    finally:
        await server.stop()


@asynccontextmanager
async def memory_sqlite(tmp_path: Path, lane: int) -> AsyncIterator[Lane]:
    bus = make_bus(Settings(bus="memory", partitions=3))
    await bus.start()
    url = f"sqlite+aiosqlite:///{tmp_path}/crash-{lane}.db"
    store = await Store.open(url)
    try:
        yield Lane(bus, store, url)
    finally:
        await store.close()
        await bus.close()


@asynccontextmanager
async def kafka_postgres(kafka: KafkaSettings) -> AsyncIterator[Lane]:
    bus = make_bus(Settings(bus="kafka", kafka=kafka, partitions=3))
    await bus.start()
    try:
        async with fresh_postgres_database() as url:
            store = await Store.open(url)
            try:
                yield Lane(bus, store, url, kafka)
            finally:
                await store.close()
    finally:
        await bus.close()


@asynccontextmanager
async def deployment(lane: Lane, trial: str) -> AsyncIterator[Deployment]:
    """Fresh topics and a fresh consumer group for the trial (the broker is the session's)."""
    prefix = f"crash{uuid.uuid4().hex[:8]}-{trial}-"
    async with workorder_system() as (system, url):
        bus = PrefixedBus(lane.bus, prefix)
        yield Deployment(bus, lane.store, lane.store_url, system, url, lane.kafka, prefix)


@pytest.fixture(params=["memory+sqlite", "kafka+postgres"])
def kafka(request: pytest.FixtureRequest) -> KafkaSettings | None:
    """None for memory + SQLite; on Kafka, the session's broker with a 1 s session."""
    if request.param == "memory+sqlite":
        return None
    broker: LocalBroker = request.getfixturevalue("kafka_broker")
    return fast_kafka(broker.bootstrap)


async def test_crashes_anywhere_lose_and_double_nothing(
    tmp_path: Path, kafka: KafkaSettings | None
) -> None:
    WHERE.clear()
    waiting = list(range(TRIALS))

    async def lane(n: int) -> int:
        """Trials one after another on one bus and one database, until none is left."""
        made = 0
        async with memory_sqlite(tmp_path, n) if kafka is None else kafka_postgres(kafka) as on:
            while waiting:
                trial = waiting.pop(0)
                async with deployment(on, f"t{trial}") as d:
                    made += await run_trial(
                        f"t{trial}",
                        random.Random(f"20261201-{trial}"),
                        d,
                        crashes_wanted=CRASHES_PER_TRIAL,
                        sigkills=SIGKILLS.get(trial, 0) if kafka else 0,
                    )
        return made

    async with asyncio.TaskGroup() as group:
        lanes = [group.create_task(lane(n)) for n in range(LANES)]
    made = sum(t.result() for t in lanes)
    print(
        f"{'kafka+postgres' if kafka else 'memory+sqlite'}: {made} crashes at",
        dict(WHERE.most_common()),
    )
    assert made >= 200, made
    if kafka is not None:  # the genuine kill -9s happened, not only the in-process kills
        assert sum(n for where, n in WHERE.items() if where.startswith("SIGKILL")) >= 4


if __name__ == "__main__":  # an incarnation to be SIGKILLed (sigkilled_incarnation)
    asyncio.run(run_child(json.loads(sys.argv[1])))
