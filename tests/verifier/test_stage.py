"""The verifier stage decides a cluster once, re-emits on replay, confirms on corroboration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from verifier.stage import VerifierStage
from xianban.records import Geo, Lead, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store


def lead(lead_id: str, *, score: float, corroboration: int = 0) -> Lead:
    return Lead(
        lead_id=lead_id,
        cluster_id="c1",
        post_ids=[f"weibo:{lead_id}"],
        platform="weibo",
        text="福田香蜜湖路口红绿灯坏了三天",
        category="road_traffic",
        urgent=False,
        geo=Geo(district="福田区"),
        score=score,
        corroboration=corroboration,
    )


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[VerifierStage]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/v.db")
    s = VerifierStage(StageContext(settings=Settings(), store=store))
    await s.start()
    yield s
    await s.close()
    await store.close()


async def test_review_then_corroboration_confirms_once(stage: VerifierStage) -> None:
    (first,) = await stage.handle(lead("a", score=0.6))
    assert isinstance(first, Verdict) and first.decision == "needs_review"
    queue = await stage.ctx.store.review_queue()
    assert [v.cluster_id for v in queue] == ["c1"]
    (second,) = await stage.handle(lead("b", score=0.6, corroboration=1))
    assert isinstance(second, Verdict) and second.decision == "confirmed"
    assert second.by == "rule:corroborated"
    assert await stage.ctx.store.review_queue() == []
    # a third report is not a second confirmation: it joins the cluster's case
    (third,) = await stage.handle(lead("c", score=0.9, corroboration=2))
    assert isinstance(third, Verdict) and third.decision == "confirmed"
    assert (third.duplicate_of, third.by) == ("c1", "rule:duplicate_open_case")
    assert await stage.handle(lead("c", score=0.9, corroboration=2)) == [third]


async def test_a_replayed_lead_re_emits_its_verdict(stage: VerifierStage) -> None:
    (first,) = await stage.handle(lead("a", score=0.9))
    (again,) = await stage.handle(lead("a", score=0.9))
    assert again == first
    assert (await stage.ctx.store.counts())["verdicts"] == 1


async def test_rules_leave_a_cluster_an_analyst_has_taken(stage: VerifierStage) -> None:
    (first,) = await stage.handle(lead("a", score=0.6))
    assert isinstance(first, Verdict)
    corrected = first.model_copy(
        update={"verdict_id": "v-analyst", "by": "analyst:li", "reason": "改为南山区"}
    )
    await stage.ctx.store.record_verdict(corrected)
    assert await stage.handle(lead("b", score=0.9, corroboration=1)) == []
