"""复查 after closure, with a controlled clock: a closed case passes once the reopen window
(30 days) goes by with no new report of its problem, fails when the problem comes back
(the case is reopened), and passes again after its next closure; the briefing's funnel
counts the passes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from reports.briefing import build_briefing
from reports.period import SHENZHEN, period_for
from tests.case_opener.test_closure import MONDAY, Loop, confirmed, running_loop
from xianban.settings import ROOT

WINDOW = timedelta(days=30)  # configs/sla.yaml reopen_window_days


@pytest.fixture
async def supervised(tmp_path: Path) -> AsyncIterator[Loop]:
    async with running_loop(tmp_path / "r.db") as running:
        yield running


async def test_a_quiet_window_after_closure_passes_the_recheck(supervised: Loop) -> None:
    loop, store = supervised, supervised.supervisor.ctx.store
    _, order = await loop.file("q1")
    loop.sim.workorders.advance(order, 4)
    closed = (await loop.sweep(MONDAY + timedelta(hours=1)))["q1"]
    assert (closed.status, closed.recheck) == ("closed", None)
    assert await loop.sweep(MONDAY + timedelta(hours=1) + WINDOW - timedelta(minutes=1)) == {}

    passed = (await loop.sweep(MONDAY + timedelta(hours=2) + WINDOW))["q1"]
    assert (passed.status, passed.recheck) == ("closed", "passed")
    assert passed.history[-1].note == "复查通过：结案后 30 天内未再收到同一问题的报告"
    assert await loop.sweep(MONDAY + WINDOW + timedelta(days=5)) == {}  # once

    now = MONDAY + WINDOW + timedelta(days=6)
    week = period_for("weekly", first=MONDAY.astimezone(SHENZHEN).date(), now=now)
    b = await build_briefing(store, week, now=now, configs_dir=ROOT / "configs")
    assert (b.step("closed").count, b.step("rechecked").count) == (1, 1)
    assert b.step("rechecked").note == "结案后复查期内未再收到同一问题的报告"


async def test_a_problem_back_within_the_window_fails_it_until_the_next_closure(
    supervised: Loop,
) -> None:
    loop, store = supervised, supervised.supervisor.ctx.store
    _, order = await loop.file("b1")
    loop.sim.workorders.advance(order, 4)
    assert (await loop.sweep(MONDAY + timedelta(hours=1)))["b1"].status == "closed"
    again = confirmed("b1").lead.model_copy(
        update={
            "lead_id": "l-b1-again",
            "post_ids": ["douyin:b1-again"],
            "found_at": MONDAY + timedelta(days=10),
        }
    )
    await store.upsert_lead(again)
    reopened = (await loop.sweep(MONDAY + timedelta(days=10, hours=1)))["b1"]
    assert (reopened.status, reopened.recheck) == ("dispatched", "failed")
    assert "复查未通过" in reopened.history[-1].note

    now = MONDAY + timedelta(days=10, hours=2)
    week = period_for("weekly", first=MONDAY.astimezone(SHENZHEN).date(), now=now)
    b = await build_briefing(store, week, now=now, configs_dir=ROOT / "configs")
    assert b.step("rechecked").count == 0  # a result exists: failed, not missing

    loop.sim.workorders.advance(order, 3)  # handled again; the 12345 centre closes it
    closed_again = (await loop.sweep(MONDAY + timedelta(days=12)))["b1"]
    assert (closed_again.status, closed_again.recheck) == ("closed", "failed")
    # The window runs from this closure, not the first one.
    assert await loop.sweep(MONDAY + timedelta(days=12) + WINDOW - timedelta(hours=1)) == {}
    passed = (await loop.sweep(MONDAY + timedelta(days=12, hours=1) + WINDOW))["b1"]
    assert passed.recheck == "passed"
