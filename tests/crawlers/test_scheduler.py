"""The store-aware scheduler: paused, resting and recently crawled sources wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawlers.scheduler import due_tasks, tasks_for_all_sources
from crawlers.sources import load_sources
from tests.crawlers.conftest import WIDE, Rig, task_for


async def test_due_tasks_skip_paused_resting_and_fresh_sources(rig: Rig) -> None:
    sources = load_sources(rig.settings.configs_dir).values()
    (task,) = await due_tasks(rig.store, sources, now=rig.now)
    assert task.source == "weibo-test" and task.query == WIDE and task.pages == 20

    await rig.store.set_source_state("weibo-test", paused=True)
    assert await due_tasks(rig.store, sources, now=rig.now) == []
    await rig.store.set_source_state("weibo-test", paused=False)

    await rig.crawl(await rig.stage(), task_for(rig))
    assert await due_tasks(rig.store, sources, now=rig.now) == [], "crawled within interval"
    assert len(await due_tasks(rig.store, sources, now=rig.now, ignore_interval=True)) == 1
    later = rig.now + timedelta(seconds=601)
    assert len(await due_tasks(rig.store, sources, now=later)) == 1

    await rig.fault("captcha", times=None)
    rig.now = later
    await rig.crawl(await rig.stage(), task_for(rig, suffix="-captcha"))
    assert await due_tasks(rig.store, sources, now=later + timedelta(seconds=60)) == []
    probe = await due_tasks(rig.store, sources, now=later + timedelta(seconds=601))
    assert len(probe) == 1, "the rest is over: one probe"


async def test_task_ids_are_stable_within_a_slot(rig: Rig) -> None:
    sources = load_sources(rig.settings.configs_dir).values()
    slot_start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    first = await due_tasks(rig.store, sources, now=slot_start)
    again = await due_tasks(rig.store, sources, now=slot_start + timedelta(seconds=599))
    next_slot = await due_tasks(rig.store, sources, now=slot_start + timedelta(seconds=600))
    assert [t.task_id for t in first] == [t.task_id for t in again]
    assert [t.task_id for t in first] != [t.task_id for t in next_slot]
    assert len(tasks_for_all_sources(sources)) == 1


async def test_a_paused_source_delivered_a_task_records_why(rig: Rig) -> None:
    await rig.store.set_source_state("weibo-test", paused=True)
    assert await rig.crawl(await rig.stage(), task_for(rig)) == []
    row = await rig.store.get_task(task_for(rig).task_id)
    assert row is not None and row.status == "failed" and row.reason == "source paused by ops"
    assert await rig.requests() == []
