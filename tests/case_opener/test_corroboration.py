"""One incident, one case: other reports attach to it (and reopen it when it was closed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from case_opener.outbox import deliver, with_status
from case_opener.stage import CaseOpenerStage, case_id_for
from sim.server import SimServer
from sim.workorders import FaultSpec
from tests.test_batch_replay import comparable, rows
from xianban.records import Case, Geo, Lead, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store
from xianban.store.tables import CaseEvents, Cases

DECIDED = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def verdict(cluster: str, post: str, *, duplicate_of: str | None = None) -> Verdict:
    lead = Lead(
        lead_id=f"l-{post}",
        cluster_id=cluster,
        post_ids=[post],
        platform="weibo",
        text="布吉苑工地围挡倒了，压住了人行道",
        category="construction_safety",
        urgent=True,
        geo=Geo(district="龙岗区", street="布吉街道", poi="布吉苑"),
        score=0.9,
    )
    return Verdict(
        verdict_id=f"v-{cluster}-{post}",
        cluster_id=cluster,
        lead=lead,
        decision="confirmed",
        by="rule:duplicate_open_case" if duplicate_of else "rule:urgent_hazard",
        reason="同一地点同类问题" if duplicate_of else "加急隐患",
        decided_at=DECIDED,
        duplicate_of=duplicate_of,
    )


@pytest.fixture
async def opener(tmp_path: Path) -> AsyncIterator[CaseOpenerStage]:
    async with SimServer(judge_routing=False) as sim:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/x.db")
        settings = Settings(workorder_url=sim.workorder_url, workorder_timeout_s=2.0)
        stage = CaseOpenerStage(StageContext(settings=settings, store=store))
        await stage.start()
        stage.sim = sim  # type: ignore[attr-defined]
        yield stage
        await stage.close()
        await store.close()


async def test_three_reports_of_one_incident_are_one_case(opener: CaseOpenerStage) -> None:
    (case,) = await opener.handle(verdict("c-a", "weibo:1"))
    assert isinstance(case, Case)
    (grown,) = await opener.handle(verdict("c-b", "douyin:2", duplicate_of="c-a"))
    assert isinstance(grown, Case) and grown.case_id == case.case_id
    assert grown.post_ids == ["weibo:1", "douyin:2"]
    assert grown.history[-1].note.startswith("新增佐证：1 条相关报告（线索 c-b")
    (grown,) = await opener.handle(verdict("c-c", "forum:3", duplicate_of="c-a"))
    assert isinstance(grown, Case) and len(grown.post_ids) == 3
    assert await opener.handle(verdict("c-c", "forum:3", duplicate_of="c-a")) == []  # replay
    assert (await opener.ctx.store.counts())["cases"] == 1
    assert len(opener.sim.workorders.orders) == 1  # type: ignore[attr-defined]


async def test_a_duplicate_arriving_first_opens_its_targets_case(opener: CaseOpenerStage) -> None:
    store = opener.ctx.store
    await store.record_verdict(verdict("c-a", "weibo:1"))  # recorded, not yet handled
    out = await opener.handle(verdict("c-b", "douyin:2", duplicate_of="c-a"))
    [case] = [c for c in out if isinstance(c, Case)]
    assert case.case_id == case_id_for("c-a") and case.post_ids == ["weibo:1", "douyin:2"]
    assert await opener.handle(verdict("c-a", "weibo:1")) == []  # its own verdict, later
    assert (await store.counts())["cases"] == 1


async def test_a_report_after_closure_reopens_the_case(opener: CaseOpenerStage) -> None:
    (case,) = await opener.handle(verdict("c-a", "weibo:1"))
    assert isinstance(case, Case)
    closed = with_status(case, "closed", "回访：满意，结案", at=DECIDED)
    await opener.ctx.store.save_case(closed)
    (again,) = await opener.handle(verdict("c-b", "weibo:9", duplicate_of="c-a"))
    assert isinstance(again, Case)
    assert (again.status, again.reopened) == ("dispatched", 1)
    assert "问题复发" in again.history[-1].note and "weibo:9" in again.post_ids
    assert again.handle_due is not None and again.reply and "再次反映" in again.reply


async def test_reports_before_their_targets_confirmation_batched_as_one_by_one(
    tmp_path: Path,
) -> None:
    """A poll holds reports joining cases whose confirmations come later in it, or in a
    later poll, or never (on another partition of the verdicts topic): a batch opens and
    joins those cases as handling the reports one by one does."""
    recorded = [
        verdict("c-a", "weibo:1"),
        verdict("c-z", "weibo:8"),
        verdict("c-b", "douyin:2", duplicate_of="c-a"),
        verdict("c-a", "weibo:7", duplicate_of="c-a"),  # a follow-up in c-a
        verdict("c-c", "forum:3", duplicate_of="c-a"),
        verdict("c-e", "forum:6", duplicate_of="c-z"),
        verdict("c-d", "forum:4", duplicate_of="c-y"),  # c-y was never confirmed
        verdict("c-x", "weibo:5"),
    ]
    by_id = {v.verdict_id: v for v in recorded}
    stream = [
        by_id[i]
        for i in (
            "v-c-b-douyin:2",
            "v-c-x-weibo:5",
            "v-c-e-forum:6",
            "v-c-a-weibo:7",
            "v-c-a-weibo:1",
            "v-c-c-forum:3",
            "v-c-d-forum:4",
            "v-c-z-weibo:8",
            "v-c-b-douyin:2",  # delivered again
        )
    ]
    outputs: list[list[Any]] = []
    async with SimServer(judge_routing=False) as sim:
        settings = Settings(workorder_url=sim.workorder_url, workorder_timeout_s=2.0)
        for way in ("one by one", "batched"):
            store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/{way}.db")
            for v in recorded:
                await store.record_verdict(v)
            stage = CaseOpenerStage(StageContext(settings=settings, store=store))
            await stage.start()
            try:
                out: list[Any] = []
                if way == "one by one":
                    for v in stream:
                        out += await stage.handle(v)
                else:
                    for chunk in (stream[:5], stream[5:]):
                        for produced in await stage.handle_batch(chunk):
                            out += produced
                events = await rows(store, CaseEvents, CaseEvents.case_id, CaseEvents.position)
                outputs.append([comparable(out), await rows(store, Cases, Cases.case_id), events])
            finally:
                await stage.close()
                await store.close()
    assert outputs[1] == outputs[0]
    produced = outputs[0][0]
    assert {c["cluster_id"] for c in produced} == {"c-a", "c-x", "c-z"}
    last = [c for c in produced if c["cluster_id"] == "c-a"][-1]
    assert last["post_ids"] == ["weibo:1", "weibo:7", "douyin:2", "forum:3"]
    assert len(outputs[0][1]) == 3  # three cases, none twice


async def test_a_report_before_its_target_while_filing_fails_keeps_its_posts(
    opener: CaseOpenerStage,
) -> None:
    """The work-order system refuses the round that files the case a report opened: the
    case stays pending with the report's posts, and the next delivery files it whole."""
    store = opener.ctx.store
    await store.record_verdict(verdict("c-a", "weibo:1"))
    opener.sim.workorders.faults.append(FaultSpec(kind="error_5xx", times=9))  # type: ignore[attr-defined]
    out = await opener.handle_batch(
        [verdict("c-b", "douyin:2", duplicate_of="c-a"), verdict("c-a", "weibo:1")]
    )
    [case] = out[0]
    assert isinstance(case, Case) and case.status == "pending"
    assert case.post_ids == ["weibo:1", "douyin:2"]
    assert (await store.get_case_by_cluster("c-a")) == case
    opener.sim.workorders.faults.clear()  # type: ignore[attr-defined]
    [filed] = await deliver(store, opener.client)  # type: ignore[arg-type]
    assert filed.status == "filed" and filed.post_ids == ["weibo:1", "douyin:2"]
    assert (await store.counts())["cases"] == 1
