"""The whole loop: sim posts → leads → verdicts → cases, and what goes wrong.

The main loop test runs on both deployments: the embedded default (memory bus, SQLite)
and production's (Kafka on a real broker, PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from sim.server import SimServer
from sim.workorders import FaultSpec
from xianban.bus import LocalBroker
from xianban.embedded import embedded_system, run_once, run_pipeline
from xianban.records import CrawlTask, DeadLetter, Lead, Post, ScoredPost, Verdict
from xianban.settings import Settings

from .fixtures.kafka import fast_kafka_settings
from .fixtures.postgres import fresh_postgres_database
from .services import require_service


def settings_in(tmp_path: Path, **over: object) -> Settings:
    return Settings(data_dir=tmp_path, retry_backoff_s=0.01, poll_timeout_s=0.1, **over)  # type: ignore[arg-type]


@pytest.fixture(params=["memory+sqlite", "kafka+postgres"])
async def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    if request.param == "memory+sqlite":
        yield settings_in(tmp_path)
        return
    require_service("kafka", LocalBroker.available())
    async with AsyncExitStack() as stack:
        broker = await stack.enter_async_context(LocalBroker())
        url = await stack.enter_async_context(fresh_postgres_database())
        yield settings_in(
            tmp_path,
            bus="kafka",
            kafka=fast_kafka_settings(broker.bootstrap),
            database_url=url,
        )


async def test_run_once_files_cases_and_a_second_run_adds_none(deployment: Settings) -> None:
    first = await run_once(deployment)
    assert first["posts"] > first["leads"] >= first["cases"] > 0, first
    assert first["dlq"] == 0
    # A case is emitted again when it changes in the same run (re-routed after 退单, a
    # duplicate's posts attached), so the store holds at most what was emitted.
    assert 0 < first["store"]["cases"] <= first["cases"]
    second = await run_once(deployment)
    assert second["store"]["cases"] == first["store"]["cases"], second
    assert second["store"]["posts"] == first["store"]["posts"]


async def test_a_malformed_record_in_each_topic_goes_to_dlq(deployment: Settings) -> None:
    garbage = {
        CrawlTask.topic: b"{not json",
        Post.topic: b'{"platform": "weibo", "native_id": "1"}',
        ScoredPost.topic: b'{"post": {"platform": "weibo"}, "score": 2}',
        Lead.topic: b'{"lead_id": "l", "category": "aliens"}',
        Verdict.topic: b"\xff\xfe",
    }
    async with embedded_system(deployment) as system:
        for topic, raw in garbage.items():
            await system.bus.produce(topic, raw, key="bad")
        await system.bus.flush()
        summary = await run_pipeline(system)
        letters = await system.store.list_dead_letters(limit=100)
    assert summary["dlq"] == 5 and summary["cases"] > 0, summary
    by_topic = {d.source_topic: d for d in letters}
    assert set(by_topic) == set(garbage)
    for topic, raw in garbage.items():
        assert by_topic[topic].original == raw
        assert by_topic[topic].reason
    assert isinstance(by_topic[Post.topic], DeadLetter)
    assert "text: Field required" in by_topic[Post.topic].reason


async def test_filing_that_times_out_half_way_is_filed_once(tmp_path: Path) -> None:
    async with SimServer() as sim:
        sim.workorders.faults.append(FaultSpec(kind="timeout_after_accept", times=1, delay_s=3))
        settings = settings_in(
            tmp_path, sim_url=sim.url, workorder_url=sim.workorder_url, workorder_timeout_s=1.0
        )
        summary = await run_once(settings)
        filed = list(sim.workorders.orders.values())
        assert summary["store"]["cases"] == len(filed) > 0
        assert len({o.external_id for o in filed}) == len(filed)
        assert summary["store"]["outbox_pending"] == 0
