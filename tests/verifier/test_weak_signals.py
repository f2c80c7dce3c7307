"""Weak signals: three sub-threshold posts on one place and problem become one lead; the
same three spread over places or months do not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from verifier.rules import rule_on
from verifier.stage import VerifierStage
from verifier.weak_signals import WeakSignalStage
from xianban.records import Author, Geo, Lead, Post, ScoredPost, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

T0 = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
XIXIANG = Geo(district="宝安区", street="西乡街道")


PLACES = {
    "西乡": XIXIANG,
    "新安": Geo(district="宝安区", street="新安街道"),
    "福永": Geo(district="宝安区", street="福永街道"),
}


def post(n: int, text: str, *, at: datetime, author: str | None = None) -> ScoredPost:
    """A post as the leadfinder hands it over: placed by its text, scored 0.3 (unlikely to
    be a lead on its own)."""
    geo = next((g for name, g in PLACES.items() if name in text), Geo())
    crawled = Post(
        platform="weibo",
        native_id=str(5000 + n),
        author=Author(id=author or f"u{n}"),
        text=text,
        created_at=at,
    )
    return ScoredPost(post=crawled, score=0.3, geo=geo)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/w.db")
    yield opened
    await opened.close()


@pytest.fixture
async def stage(store: Store) -> AsyncIterator[WeakSignalStage]:
    s = WeakSignalStage(StageContext(settings=Settings(), store=store))
    await s.start()
    yield s
    await s.close()


async def test_three_weak_posts_on_one_place_and_problem_become_one_lead(
    stage: WeakSignalStage, store: Store
) -> None:
    texts = [
        "西乡河边这两天好像有股异味",
        "路过西乡那段河，闻到臭味，是不是有人偷排",
        "西乡河边一股刺鼻的异味，晚上散步都绕着走",
    ]
    outputs = []
    for n, text in enumerate(texts):
        outputs.append(await stage.handle(post(n, text, at=T0 + timedelta(days=n))))
    assert outputs[0] == [] and outputs[1] == []
    (found,) = outputs[2]
    assert isinstance(found, Lead)
    assert found.category == "ecology_environment"
    assert found.geo == XIXIANG and found.cluster_id.startswith("weak-")
    assert found.post_ids == ["weibo:5000", "weibo:5001", "weibo:5002"]
    assert found.reasons[0].startswith("弱信号汇聚：3 条各自低于线索阈值的帖子（3 位作者），7 天内")
    assert "宝安区西乡街道" in found.reasons[0] and found.score > 0.6

    # the verifier sends it to an analyst, with the rule and its window as the reason
    verifier = VerifierStage(StageContext(settings=Settings(), store=store))
    await verifier.start()
    (verdict,) = await verifier.handle(found)
    assert isinstance(verdict, Verdict)
    assert (verdict.decision, verdict.by) == ("needs_review", "rule:weak_signal")
    assert "7 天内同一地点" in verdict.reason

    # a fourth joins the same cluster
    (more,) = await stage.handle(post(9, "西乡河边确实有异味", at=T0 + timedelta(days=3)))
    assert isinstance(more, Lead) and more.cluster_id == found.cluster_id
    assert len(more.post_ids) == 4
    assert await stage.handle(post(9, "西乡河边确实有异味", at=T0 + timedelta(days=3))) != []


SPREAD = {
    "places": [
        ("西乡河边这两天好像有股异味", 0, "u1"),
        ("新安那段河闻到臭味", 1, "u2"),
        ("福永河边一股刺鼻的异味", 2, "u3"),
    ],
    "months": [
        ("西乡河边这两天好像有股异味", 0, "u1"),
        ("西乡那段河闻到臭味", 35, "u2"),
        ("西乡河边一股刺鼻的异味", 70, "u3"),
    ],
    "one_author": [
        ("西乡河边好像有股异味", 0, "same"),
        ("西乡那段河闻到臭味", 1, "same"),
        ("西乡河边一股刺鼻的异味", 2, "same"),
    ],
}


@pytest.mark.parametrize("how", list(SPREAD))
async def test_the_same_three_spread_over_places_or_months_do_not(
    stage: WeakSignalStage, how: str
) -> None:
    for n, (text, days, author) in enumerate(SPREAD[how]):
        at = T0 + timedelta(days=days)
        assert await stage.handle(post(n, text, at=at, author=author)) == []


async def test_posts_without_a_kind_or_a_street_are_no_signal(stage: WeakSignalStage) -> None:
    for n, text in enumerate(["西乡今天天气真好", "河边好像有股异味", "西乡的猫好可爱"]):
        assert await stage.handle(post(20 + n, text, at=T0)) == []


def test_a_weak_signal_lead_is_not_rejected_as_weak() -> None:
    from verifier.rules import load_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs")
    lead = Lead(
        lead_id="w",
        cluster_id="weak-1",
        post_ids=["a", "b", "c"],
        platform="weibo",
        text="…",
        category="ecology_environment",
        urgent=False,
        geo=XIXIANG,
        score=0.45,
        reasons=["弱信号汇聚：3 条"],
        features={"weak_signals": 3.0},
    )
    assert rule_on(lead, cfg).rule == "weak_signal"
