"""重复诉求识别 through the real stage and a real store: one problem, one stable cluster id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadfinder.stage import LeadfinderStage
from xianban.records import Engagement, Lead, Post, ScoredPost
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
SPARKS = "龙华区民治街道白石龙社区门口的路灯底座一直在冒火花，小孩天天从旁边走过，有没有人管啊"


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[LeadfinderStage]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/lf.db")
    made = LeadfinderStage(StageContext(settings=Settings(data_dir=tmp_path), store=store))
    await made.start()
    try:
        yield made
    finally:
        await made.close()
        await store.close()


async def lead_of(stage: LeadfinderStage, post: Post) -> Lead:
    """Handle a post the way the worker does, then keep the lead as the next stages would."""
    out = await stage.handle(post)
    assert len(out) == 1 and isinstance(out[0], Lead)
    await stage.ctx.store.upsert_lead(out[0])
    return out[0]


def post(platform: str, native_id: str, text: str, minutes: int = 0, **extra: object) -> Post:
    return Post(
        platform=platform,
        native_id=native_id,
        text=text,
        created_at=T0 + timedelta(minutes=minutes),
        **extra,
    )


async def test_lead_carries_the_post(stage: LeadfinderStage) -> None:
    lead = await lead_of(stage, post("weibo", "1", SPARKS, engagement=Engagement(likes=3)))
    assert lead.post_ids == ["weibo:1"] and lead.platform == "weibo"
    assert lead.category == "municipal_facilities" and lead.urgent
    assert lead.geo.street == "民治街道" and lead.corroboration == 0
    assert lead.posted_at == T0
    assert await stage.ctx.store.has_post("weibo:1")


async def test_same_problem_on_two_platforms_shares_the_cluster(stage: LeadfinderStage) -> None:
    first = await lead_of(stage, post("weibo", "1", SPARKS))
    other = await lead_of(
        stage,
        post(
            "douyin",
            "9",
            "民治街道白石龙社区门口那个路灯底座一直冒火花！！小孩天天从旁边走过 有没有人管",
            40,
        ),
    )
    assert other.cluster_id == first.cluster_id
    assert other.lead_id != first.lead_id
    assert other.corroboration == 1


async def test_repost_joins_the_original_cluster(stage: LeadfinderStage) -> None:
    first = await lead_of(stage, post("weibo", "1", SPARKS))
    repost = await lead_of(
        stage, post("weibo", "2", f"太危险了，转发扩散 //@小王:{SPARKS}", 5, repost_of="weibo:1")
    )
    assert repost.cluster_id == first.cluster_id and repost.corroboration >= 1


async def test_different_problem_gets_its_own_cluster(stage: LeadfinderStage) -> None:
    first = await lead_of(stage, post("weibo", "1", SPARKS))
    noise = await lead_of(
        stage, post("weibo", "3", "民治街道白石龙社区工地半夜施工打桩，吵得睡不着，有没有人管", 10)
    )
    elsewhere = await lead_of(
        stage, post("weibo", "4", "南山区蛇口街道海上世界门口的路灯底座冒火花，有没有人管啊", 20)
    )
    assert len({first.cluster_id, noise.cluster_id, elsewhere.cluster_id}) == 3


async def test_same_problem_long_after_the_window_starts_a_new_cluster(
    stage: LeadfinderStage,
) -> None:
    first = await lead_of(stage, post("weibo", "1", SPARKS))
    later = await lead_of(stage, post("douyin", "5", SPARKS, 60 * 24 * 30))
    assert later.cluster_id != first.cluster_id


async def test_cluster_id_is_stable_across_replays_and_workers(
    stage: LeadfinderStage, tmp_path: Path
) -> None:
    """A record delivered twice, or handled by another stateless worker, gets the same ids."""
    first = await lead_of(stage, post("weibo", "1", SPARKS))
    again = await lead_of(stage, post("weibo", "1", SPARKS))
    assert (again.lead_id, again.cluster_id) == (first.lead_id, first.cluster_id)
    second = LeadfinderStage(stage.ctx)
    await second.start()
    copy = await lead_of(second, post("douyin", "9", SPARKS, 30))
    assert copy.cluster_id == first.cluster_id


async def test_not_a_lead_yields_no_lead_but_keeps_the_post(stage: LeadfinderStage) -> None:
    """A post placed to a street goes to the weak-signal stage with what was found in it
    (that stage runs no extractor of its own); one placed nowhere yields nothing."""
    praise = post("weibo", "7", "点赞！民治街道的路灯已经修好了，效率真高")
    (scored,) = await stage.handle(praise)
    assert isinstance(scored, ScoredPost) and scored.post == praise
    assert scored.geo.street == "民治街道" and scored.score < 0.5
    assert await stage.ctx.store.has_post("weibo:7")
    assert await stage.handle(post("weibo", "8", "今天天气真好，出去走走")) == []
    # the batch path hands over the same
    assert await stage.handle_batch([praise]) == [[scored]]
