"""The verifier and the case opener replay one stream two ways: one by one and in batches.

The stream is the simulator's crawl through the leadfinder (clusters, corroboration and
follow-ups on the way), with replays mixed in. Each way runs on a database of its own
against one simulated work-order system (whose idempotency keys make the second way's
filings the same work orders); both must give the same verdicts and cases, record for
record, and leave the same rows.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from case_opener.stage import CaseOpenerStage
from sim.server import SimServer
from verifier.stage import VerifierStage
from xianban.embedded import embedded_system
from xianban.records import Lead, Record, Verdict
from xianban.runtime import Worker
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store
from xianban.store.tables import CaseEvents, Cases, Clusters, Leads, Verdicts
from xianban.wiring import load_stage, schedule

TIMES = {"found_at", "decided_at", "opened_at", "dispatch_due", "at", "first_seen", "last_seen"}
SEQ = {"seq", "updated_at"}
"""Wall-clock times of each run, and row numbers: the only fields allowed to differ."""


def without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIMES | SEQ}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def comparable(records: Sequence[Record]) -> list[Any]:
    return [without_times(r.model_dump(mode="json")) for r in records]


async def rows(store: Store, table: Any, *order: Any) -> list[Any]:
    async with store._tx() as conn:
        found = await conn.execute(select(table).order_by(*order))
        return [without_times(dict(r._mapping)) for r in found]


def replayed(items: list[Any]) -> list[Any]:
    """The items, with some delivered again inside a batch, then all of them again."""
    half = len(items) // 2
    return items[:half] + items[:3] + items[half:] + items[::7] + items


def in_chunks(items: list[Any]) -> list[list[Any]]:
    sizes = itertools.cycle([1, 9, 60, 200, 4])
    out, position = [], 0
    while position < len(items):
        out.append(items[position : position + next(sizes)])
        position += len(out[-1])
    return out


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def leads(tmp_path_factory: pytest.TempPathFactory) -> list[Lead]:
    """What the leadfinder makes of one crawl of the default sources."""
    folder = tmp_path_factory.mktemp("crawl")
    settings = Settings(data_dir=folder, poll_timeout_s=0.05)
    async with embedded_system(settings) as system:
        await schedule(system, once=True)
        for name in ("crawler", "leadfinder"):
            stage = load_stage(name)(system.ctx)
            await stage.start()
            try:
                await Worker(stage, system.bus, settings, store=system.store).run(until_idle=True)
            finally:
                await stage.close()
        reader = system.bus.consumer("replay", [Lead.topic])
        await reader.start()
        messages = await reader.getmany(timeout_s=1, max_records=100_000)
        await reader.stop()
    found = [Lead.from_bytes(m.value) for m in messages]
    assert len(found) > 50 and len({x.cluster_id for x in found}) < len(found)
    return found


@pytest.fixture
async def two_ways(tmp_path: Path) -> AsyncIterator[list[StageContext]]:
    async with SimServer() as sim:
        settings = Settings(
            data_dir=tmp_path, sim_url=sim.url, workorder_url=sim.workorder_url, batch_size=64
        )
        stores = [await Store.open(f"sqlite+aiosqlite:///{tmp_path}/{n}.db") for n in "ab"]
        try:
            yield [StageContext(settings=settings, store=s) for s in stores]
        finally:
            for s in stores:
                await s.close()


async def one_by_one(stage: Any, records: Sequence[Record]) -> list[Record]:
    out: list[Record] = []
    for record in records:
        out += await stage.handle(record)
    return out


async def batched(stage: Any, records: list[Record]) -> list[Record]:
    out: list[Record] = []
    for chunk in in_chunks(records):
        for produced in await stage.handle_batch(chunk):
            out += produced
    return out


async def test_verifier_and_case_opener_batches_equal_one_by_one(
    leads: list[Lead], two_ways: list[StageContext]
) -> None:
    verdicts: list[list[Record]] = []
    for ctx, run in zip(two_ways, (one_by_one, batched), strict=True):
        verifier = VerifierStage(ctx)
        await verifier.start()
        verdicts.append(await run(verifier, replayed(list(leads))))
    assert comparable(verdicts[1]) == comparable(verdicts[0])
    decided = [v for v in verdicts[0] if isinstance(v, Verdict)]
    assert {v.decision for v in decided} >= {"confirmed", "needs_review"}

    cases: list[list[Record]] = []
    for ctx, run, made in zip(two_ways, (one_by_one, batched), verdicts, strict=True):
        opener = CaseOpenerStage(ctx)
        await opener.start()
        try:
            cases.append(await run(opener, replayed(list(made))))
        finally:
            await opener.close()
    assert len(cases[0]) > 10
    assert comparable(cases[1]) == comparable(cases[0])

    a, b = (ctx.store for ctx in two_ways)
    for table, order in (
        (Leads, (Leads.lead_id,)),
        (Clusters, (Clusters.cluster_id,)),
        (Verdicts, (Verdicts.seq,)),
        (Cases, (Cases.case_id,)),
        (CaseEvents, (CaseEvents.case_id, CaseEvents.position)),
    ):
        assert await rows(b, table, *order) == await rows(a, table, *order), table.__tablename__
