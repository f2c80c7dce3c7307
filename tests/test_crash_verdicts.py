"""Crash injection over a stream of verdicts: the case opener killed between any two of its
steps (store writes, the filing call, produce, flush), filings that time out before or
after the work-order system committed, at ≥ 200 randomised points → every confirmed
problem has exactly one case and one work order, none lost, none doubled, and every other
report of it attached to that case.

Runs on memory + SQLite; on Kafka + PostgreSQL (a real broker, a fresh database) with fewer
trials, because every restart of a Kafka consumer waits for its group to form.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from case_opener.stage import CaseOpenerStage
from case_opener.supervision import Supervisor
from sim.server import SimServer
from sim.workorders import FaultSpec
from tests.buses import open_bus
from tests.fixtures.postgres import fresh_postgres_database
from xianban.bus import Bus
from xianban.records import Geo, Lead, Verdict
from xianban.runtime import Worker
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

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


class CrashPoint:
    """Counts steps; at the chosen one the process dies, before or after the step."""

    def __init__(self, at: int | None) -> None:
        self.at, self.calls, self.where = at, 0, ""

    def step(self, name: str, phase: str) -> None:
        self.calls += 1
        if self.calls == self.at:
            self.where = f"{phase} {name}"
            WHERE[self.where] += 1
            raise Killed(self.where)

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


async def run_trial(
    trial: str,
    rng: random.Random,
    sim: SimServer,
    bus: Bus,
    store: Store,
    *,
    crashes_wanted: int,
) -> int:
    """Feed one stream through a case opener that keeps getting killed; crashes made."""
    settings = Settings(
        workorder_url=sim.workorder_url,
        workorder_timeout_s=0.3,
        poll_timeout_s=0.05,
        batch_size=rng.choice([1, 5, 50]),
        partitions=3,
    )
    verdicts, expected = stream(trial, rng)
    for v in verdicts:  # as the verifier does: recorded, then produced
        await store.record_verdict(v)
        await bus.produce(v.topic, v.to_bytes(), key=v.key())
    await bus.flush()

    crashes = rounds = 0
    while rounds < crashes_wanted * 4 + 1:
        rounds += 1
        last = crashes >= crashes_wanted
        crash = CrashPoint(None if last else rng.randint(1, 12))
        if not last and rng.random() < 0.3:  # the work-order system misbehaves too
            kind = rng.choice(["timeout_after_accept", "error_5xx"])
            sim.workorders.faults.append(FaultSpec(kind=kind, times=1, delay_s=0.5))
        proxy: Any = CrashingStore(store, crash)
        stage = CaseOpenerStage(StageContext(settings=settings, store=proxy))
        await stage.start()
        assert stage.client is not None  # killed before or after the filing call, too
        stage.client.file = crash.around("file", stage.client.file)  # type: ignore[method-assign]
        try:
            worker = Worker(stage, CrashingBus(bus, crash), settings, store=proxy)
            await worker.run(until_idle=True)
        except Killed:
            crashes += 1
            continue
        finally:
            await stage.close()
        if last:
            break
    sim.workorders.faults.clear()
    supervisor = Supervisor(StageContext(settings=settings, store=store))
    await supervisor.start()
    try:
        for _ in range(5):  # what is still in the outbox is delivered by supervision
            await supervisor.sweep()
            if (await store.counts())["outbox_pending"] == 0:
                break
    finally:
        await supervisor.close()

    cases = [c for c in await store.list_cases(limit=10_000) if c.cluster_id.startswith(trial)]
    by_cluster = {c.cluster_id: c for c in cases}
    assert len(by_cluster) == len(cases), "a problem got two cases"
    assert set(by_cluster) == set(expected), "a case was lost or one too many opened"
    for cluster, posts in expected.items():
        assert set(by_cluster[cluster].post_ids) == posts, f"{cluster}: a report was lost"
        assert by_cluster[cluster].status == "filed", by_cluster[cluster].history
    orders = [o for o in sim.workorders.orders.values() if o.external_id.startswith("XB-")]
    mine = [o for o in orders if o.external_id in {c.case_id for c in cases}]
    assert len(mine) == len(expected), "a work order was filed twice or never"
    assert len({o.external_id for o in mine}) == len(mine)
    assert {c.external_id for c in cases} == {o.service_request_id for o in mine}
    return crashes


@asynccontextmanager
async def memory_sqlite(tmp_path: Path, trial: int) -> AsyncIterator[tuple[Bus, Store]]:
    async with open_bus("memory") as bus:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/crash-{trial}.db")
        try:
            yield bus, store
        finally:
            await store.close()


@asynccontextmanager
async def kafka_postgres(tmp_path: Path, trial: int) -> AsyncIterator[tuple[Bus, Store]]:
    async with open_bus("kafka") as bus, fresh_postgres_database() as url:
        store = await Store.open(url)
        try:
            yield bus, store
        finally:
            await store.close()


@pytest.mark.parametrize(
    ("deployment", "trials", "crashes_per_trial"),
    [("memory+sqlite", 20, 11), ("kafka+postgres", 2, 4)],
)
async def test_crashes_anywhere_lose_and_double_nothing(
    tmp_path: Path, deployment: str, trials: int, crashes_per_trial: int
) -> None:
    rng = random.Random(20261201)
    WHERE.clear()
    made = 0
    opened = memory_sqlite if deployment == "memory+sqlite" else kafka_postgres
    async with SimServer(corpus_size=50, judge_routing=False) as sim:
        for trial in range(trials):
            async with opened(tmp_path, trial) as (bus, store):
                made += await run_trial(
                    f"t{trial}", rng, sim, bus, store, crashes_wanted=crashes_per_trial
                )
    print(f"{deployment}: {made} crashes at", dict(WHERE.most_common()))
    if deployment == "memory+sqlite":
        assert made >= 200, made
    else:
        assert made >= trials * crashes_per_trial
