"""督办 to closure with a controlled clock: dispatch, handling and closure escalations at the
right moments (working days, Asia/Shanghai), 办结审核, 回访 stored, reopen on recurrence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from case_opener.calendar import WorkingCalendar
from case_opener.stage import CaseOpenerStage
from case_opener.supervision import Supervisor, closure_approved
from sim.server import SimServer
from sim.workorders import WorkOrder
from xianban.errors import PermanentError
from xianban.records import Case, Geo, Lead, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shenzhen


def confirmed(cluster: str, *, urgent: bool = False) -> Verdict:
    lead = Lead(
        lead_id=f"l-{cluster}",
        cluster_id=cluster,
        post_ids=[f"weibo:{cluster}"],
        platform="weibo",
        text="西乡街道宝安大道人行道地砖松动翘起，老人容易绊倒",
        category="municipal_facilities",
        urgent=urgent,
        geo=Geo(district="宝安区", street="西乡街道", road="宝安大道"),
        score=0.9,
    )
    return Verdict(
        verdict_id=f"v-{cluster}",
        cluster_id=cluster,
        lead=lead,
        decision="confirmed",
        by="rule:clear_problem",
        reason="问题明确",
        decided_at=MONDAY,
    )


class Loop:
    def __init__(self, opener: CaseOpenerStage, supervisor: Supervisor, sim: SimServer) -> None:
        self.opener, self.supervisor, self.sim = opener, supervisor, sim

    async def file(self, cluster: str, *, urgent: bool = False) -> tuple[Case, WorkOrder]:
        (case,) = await self.opener.handle(confirmed(cluster, urgent=urgent))
        assert isinstance(case, Case) and case.external_id
        return case, self.sim.workorders.orders[case.external_id]

    async def sweep(self, at: datetime) -> dict[str, Case]:
        return {c.cluster_id: c for c in await self.supervisor.sweep(now=at)}


@asynccontextmanager
async def running_loop(db: Path) -> AsyncIterator[Loop]:
    """A case opener and a supervisor on one SQLite store, filing with a small simulator."""
    async with SimServer(corpus_size=50, judge_routing=False) as sim:
        store = await Store.open(f"sqlite+aiosqlite:///{db}")
        ctx = StageContext(
            settings=Settings(workorder_url=sim.workorder_url, workorder_timeout_s=2.0),
            store=store,
        )
        opener, supervisor = CaseOpenerStage(ctx), Supervisor(ctx)
        await opener.start()
        await supervisor.start()
        yield Loop(opener, supervisor, sim)
        await opener.close()
        await supervisor.close()
        await store.close()


@pytest.fixture
async def loop(tmp_path: Path) -> AsyncIterator[Loop]:
    async with running_loop(tmp_path / "c.db") as running:
        yield running


def test_the_working_calendar_skips_weekends_holidays_and_counts_makeup_days() -> None:
    cal = WorkingCalendar(
        holidays=[date(2026, 10, 1), date(2026, 10, 2)], workdays=[date(2026, 10, 10)]
    )
    friday = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # Friday 15:00 CST
    assert cal.add_working_days(friday, 1) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    saturday = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)  # counts from Monday 09:00
    assert cal.add_working_days(saturday, 1) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    before_holiday = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    assert cal.add_working_days(before_holiday, 1) == datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
    assert cal.is_working_day(date(2026, 10, 10))  # a Saturday worked instead (调休)
    assert cal.working_days_between(friday, friday + timedelta(days=3, hours=1)) == 1


async def test_handling_escalates_notice_warning_district_at_the_right_moments(
    loop: Loop,
) -> None:
    _, order = await loop.file("h1")
    loop.sim.workorders.advance(order)  # the unit took it
    dispatched = (await loop.sweep(MONDAY))["h1"]
    assert dispatched.status == "dispatched"
    # 5 working days from Monday 10:00: the next Monday 10:00 (the weekend does not count)
    assert dispatched.handle_due == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert dispatched.reply and "办理时限至 11月30日 10:00" in dispatched.reply
    due = dispatched.handle_due

    assert await loop.sweep(due - timedelta(minutes=1)) == {}
    notice = (await loop.sweep(due + timedelta(minutes=1)))["h1"]
    assert notice.escalation_level == 1 and notice.history[-1].note.startswith("督办（提醒）")
    assert await loop.sweep(due + timedelta(hours=20)) == {}  # not yet a working day late
    warning = (await loop.sweep(due + timedelta(days=1, minutes=1)))["h1"]
    assert warning.escalation_level == 2 and "督办（警示）" in warning.history[-1].note
    assert "1 个工作日" in warning.history[-1].note
    district = (await loop.sweep(due + timedelta(days=2, minutes=1)))["h1"]
    assert district.escalation_level == 3 and "督办（区级督办）" in district.history[-1].note
    assert await loop.sweep(due + timedelta(days=9)) == {}  # the top level is the last
    assert len(order.escalations) == 3  # each level was posted to the work-order system


async def test_dispatch_is_chased_before_handling_starts(loop: Loop) -> None:
    case, _ = await loop.file("d1", urgent=True)
    assert case.dispatch_due == MONDAY + timedelta(minutes=30)
    assert await loop.sweep(MONDAY + timedelta(minutes=29)) == {}
    late = (await loop.sweep(MONDAY + timedelta(minutes=31)))["d1"]
    assert late.escalations == 1 and late.history[-1].note.startswith("督办：超过派单时限")
    assert late.handle_due is None and late.escalation_level == 0


async def test_closure_needs_a_reply_and_then_follow_up_closes_it(loop: Loop) -> None:
    _, order = await loop.file("c1")
    loop.sim.workorders.advance(order, 3)  # dispatched, in progress, resolved
    resolved = (await loop.sweep(MONDAY + timedelta(hours=3)))["c1"]
    assert resolved.status == "resolved"
    assert resolved.reply and "我们将复核处置结果并回访" in resolved.reply
    # an ordinary case with its reply passes 办结审核 by rule, at once
    assert closure_approved(resolved)
    assert resolved.close_due == datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # 2 working days
    assert resolved.satisfaction is None  # 回访 not done yet

    loop.sim.workorders.advance(order)  # the 12345 centre closes it after its 回访
    closed = (await loop.sweep(MONDAY + timedelta(hours=4)))["c1"]
    assert (closed.status, closed.satisfaction) == ("closed", "satisfied")
    assert closed.reply and "通过审核" in closed.reply
    stored = await loop.supervisor.ctx.store.get_case(closed.case_id)
    assert stored is not None and stored.satisfaction == "satisfied"


async def test_an_overdue_follow_up_is_escalated(loop: Loop) -> None:
    _, order = await loop.file("c2")
    loop.sim.workorders.advance(order, 3)
    resolved = (await loop.sweep(MONDAY))["c2"]
    assert resolved.close_due is not None
    late = (await loop.sweep(resolved.close_due + timedelta(minutes=1)))["c2"]
    assert late.escalation_level == 1 and "超过办结审核与回访时限" in late.history[-1].note


async def test_an_urgent_case_waits_for_a_persons_check_and_dissatisfaction_reopens(
    loop: Loop,
) -> None:
    _, order = await loop.file("u1", urgent=True)
    loop.sim.workorders.advance(order, 3)
    resolved = (await loop.sweep(MONDAY + timedelta(minutes=20)))["u1"]
    assert resolved.status == "resolved" and not closure_approved(resolved)
    with pytest.raises(PermanentError, match="复核情况"):
        await loop.supervisor.approve_closure(resolved, by="analyst:li", check="")
    approved = await loop.supervisor.approve_closure(
        resolved,
        by="analyst:li",
        check="街道执法队现场复核：地砖已重铺",
        now=MONDAY + timedelta(hours=1),
    )
    assert closure_approved(approved)
    reopened = await loop.supervisor.follow_up(
        approved,
        "dissatisfied",
        by="analyst:li",
        note="居民说只补了一块",
        now=MONDAY + timedelta(hours=2),
    )
    assert (reopened.status, reopened.reopened, reopened.satisfaction) == (
        "dispatched",
        1,
        "dissatisfied",
    )
    assert reopened.handle_due is not None and "回访不满意" in reopened.history[-1].note
    assert order.status == "dispatched" and order.reopens  # the unit has it back


async def test_a_recurrence_post_after_closure_reopens_the_case(loop: Loop) -> None:
    store = loop.supervisor.ctx.store
    _, order = await loop.file("r1")
    loop.sim.workorders.advance(order, 4)
    closed = (await loop.sweep(MONDAY + timedelta(hours=1)))["r1"]
    assert closed.status == "closed"
    # a week later the same cluster gets a new post: the problem is back
    again = confirmed("r1").lead.model_copy(
        update={
            "lead_id": "l-r1-again",
            "post_ids": ["douyin:r1-again"],
            "found_at": MONDAY + timedelta(days=7),
        }
    )
    await store.upsert_lead(again)
    reopened = (await loop.sweep(MONDAY + timedelta(days=7, hours=1)))["r1"]
    assert (reopened.status, reopened.reopened) == ("dispatched", 1)
    assert "douyin:r1-again" in reopened.post_ids
    assert "问题复发" in reopened.history[-1].note
    assert order.status == "dispatched"
