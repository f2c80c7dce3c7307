"""One test per fault kind: the crawler waits, backs off, marks the source, recovers — and
across the fault and a restart, every listed post is produced exactly once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.crawlers.conftest import Rig, native_ids, open_rig, task_for, visible
from xianban.records import Post


async def source_state(rig: Rig) -> str:
    state = await rig.store.get_source_state("weibo-test")
    assert state is not None
    return state.state


async def recovers_losslessly(rig: Rig, before: list[Post]) -> None:
    """After the fault clears and the rest is over, a restarted crawler finishes the job."""
    await rig.clear_faults()
    rig.now += timedelta(hours=12)
    after = await rig.crawl(await rig.stage(), task_for(rig, suffix="-recover"))
    produced = native_ids(before) + native_ids(after)
    assert sorted(produced) == sorted(visible(rig)), "nothing lost, nothing twice"
    assert await source_state(rig) == "ok"


async def test_rate_limit_waits_retry_after_then_succeeds(rig: Rig) -> None:
    await rig.fault("rate_limit", times=2, retry_after=7)
    posts = await rig.crawl(await rig.stage(), task_for(rig))
    assert native_ids(posts) == sorted(visible(rig))
    assert len([w for w in rig.waits if w >= 7]) == 2
    statuses = [r["status"] for r in await rig.requests()]
    assert statuses[:3] == [429, 429, 200]
    assert await source_state(rig) == "ok"


async def test_persistent_rate_limit_marks_the_source_and_opens_the_circuit(rig: Rig) -> None:
    await rig.fault("rate_limit", times=None, retry_after=1)
    stage = await rig.stage()
    for n in range(3):
        assert await rig.crawl(stage, task_for(rig, suffix=f"-{n}")) == []
    row = await rig.store.get_task(task_for(rig, suffix="-2").task_id)
    assert row is not None and row.status == "failed" and row.reason
    assert row.reason.startswith("rate_limited")
    state = await rig.store.get_source_state("weibo-test")
    assert state is not None and state.state == "rate_limited"
    assert state.error_counts == {"rate_limited": 3}
    sent = len(await rig.requests())
    assert sent == 3 * 3, "each task: the request and its 2 retries"
    assert await rig.crawl(stage, task_for(rig, suffix="-open")) == []
    assert len(await rig.requests()) == sent, "an open circuit sends nothing"
    skipped = await rig.store.get_task(task_for(rig, suffix="-open").task_id)
    assert skipped is not None and skipped.status == "failed"
    assert skipped.reason and "resting until" in skipped.reason
    await recovers_losslessly(rig, [])


async def test_a_retry_after_beyond_the_ceiling_backs_the_source_off(tmp_path: Path) -> None:
    async with open_rig(tmp_path, politeness={"rate_per_s": 0, "retry_after_max_s": 60}) as rig:
        await rig.fault("rate_limit", times=1, retry_after=3600)
        assert await rig.crawl(await rig.stage(), task_for(rig)) == []
        assert rig.waits == [], "an hour's Retry-After is not slept inside a task"
        assert await source_state(rig) == "rate_limited"
        await recovers_losslessly(rig, [])


@pytest.mark.parametrize("fault", ["server_error", "truncated"])
async def test_transient_faults_are_retried_with_backoff(rig: Rig, fault: str) -> None:
    await rig.fault(fault, times=2)
    posts = await rig.crawl(await rig.stage(), task_for(rig))
    assert native_ids(posts) == sorted(visible(rig))
    assert len(rig.waits) == 2 and rig.waits[1] > rig.waits[0] * 0.5
    assert await source_state(rig) == "ok"


async def test_a_slow_answer_times_out_and_is_retried(tmp_path: Path) -> None:
    async with open_rig(tmp_path, politeness={"rate_per_s": 0, "timeout_s": 0.2}) as rig:
        await rig.fault("slow", times=1, delay_s=1.0)
        posts = await rig.crawl(await rig.stage(), task_for(rig))
        assert native_ids(posts) == sorted(visible(rig))
        assert len(rig.waits) == 1
        state = await rig.store.get_source_state("weibo-test")
        assert state is not None and state.state == "ok"


@pytest.mark.parametrize(
    ("fault", "health"),
    [
        ("captcha", "captcha"),
        ("login_expired", "login_required"),
        ("ban", "banned"),
        ("layout_changed", "layout_changed"),
    ],
)
async def test_a_refusal_is_never_retried_hot(rig: Rig, fault: str, health: str) -> None:
    """Captcha/"操作太频繁", login walls, bans: one request, the source marked and rested."""
    first = await rig.crawl(await rig.stage(), task_for(rig, suffix="-before"))
    await rig.advance(2 * 86_400)
    await rig.fault(fault, times=None)
    before = len(await rig.requests())
    stage = await rig.stage()
    assert await rig.crawl(stage, task_for(rig, suffix="-hit")) == []
    assert len(await rig.requests()) == before + 1, "no retry of a refusal"
    assert rig.waits == []
    assert await source_state(rig) == health
    row = await rig.store.get_task(task_for(rig, suffix="-hit").task_id)
    assert row is not None and row.status == "failed" and row.reason
    assert row.reason.startswith(health)
    for n in range(3):
        await rig.crawl(stage, task_for(rig, suffix=f"-again{n}"))
    assert len(await rig.requests()) == before + 1, "the rested source is left alone"
    await recovers_losslessly(rig, first)


async def test_a_failed_probe_doubles_the_rest(rig: Rig) -> None:
    await rig.crawl(await rig.stage(), task_for(rig, suffix="-before"))
    await rig.fault("captcha", times=None)
    stage = await rig.stage()
    await rig.crawl(stage, task_for(rig, suffix="-hit"))
    rig.now += timedelta(seconds=601)
    await rig.crawl(stage, task_for(rig, suffix="-probe"))
    probe = await rig.store.get_task(task_for(rig, suffix="-probe").task_id)
    assert probe is not None and probe.reason and probe.reason.startswith("captcha")
    rig.now += timedelta(seconds=601)
    await rig.crawl(stage, task_for(rig, suffix="-resting"))
    resting = await rig.store.get_task(task_for(rig, suffix="-resting").task_id)
    assert resting is not None and resting.reason and "resting until" in resting.reason


async def test_silent_block_is_told_from_nothing_new(rig: Rig) -> None:
    first = await rig.crawl(await rig.stage(), task_for(rig, suffix="-before"))
    quiet = await rig.crawl(await rig.stage(), task_for(rig, suffix="-quiet"))
    assert quiet == [] and await source_state(rig) == "ok", "nothing new is not a block"
    await rig.advance(2 * 86_400)
    await rig.fault("silent_block", times=None)
    assert await rig.crawl(await rig.stage(), task_for(rig, suffix="-blocked")) == []
    assert await source_state(rig) == "silent_block"
    await recovers_losslessly(rig, first)


async def test_a_fault_mid_crawl_keeps_what_was_read_and_resumes(rig: Rig) -> None:
    assert len(visible(rig)) > 20, "the query needs three pages"
    spec = {"platform": "weibo", "fault": "ban", "match": "&page=3"}
    (await rig.admin.post("/_admin/faults", json=spec)).raise_for_status()
    before = await rig.crawl(await rig.stage(), task_for(rig, suffix="-1"))
    assert len(before) == 20, "the two pages read before the ban are produced"
    assert await source_state(rig) == "banned"
    await recovers_losslessly(rig, before)
