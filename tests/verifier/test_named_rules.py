"""The named rules: out of jurisdiction, resolved by author, stale, duplicate of an open case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from verifier.rules import Context, Rules, StaleRule, load_config, rule_on, same_place
from verifier.stage import VerifierStage
from xianban.records import Geo, Lead, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

CFG = load_config(Path(__file__).resolve().parents[2] / "configs")
NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
PLACE = Geo(district="宝安区", street="西乡街道", road="宝安大道")


def lead(n: str = "a", **over: object) -> Lead:
    data: dict[str, object] = {
        "lead_id": f"l-{n}",
        "cluster_id": f"c-{n}",
        "post_ids": [f"weibo:{n}"],
        "platform": "weibo",
        "text": "宝安大道西乡段路面一个大坑，好几辆电动车摔了",
        "category": "road_traffic",
        "urgent": False,
        "geo": PLACE,
        "score": 0.8,
        "posted_at": NOW - timedelta(hours=2),
    }
    data.update(over)
    return Lead.model_validate(data)


def confirmed(subject: Lead, *, at: datetime = NOW - timedelta(hours=5)) -> Verdict:
    return Verdict(
        verdict_id=f"v-{subject.cluster_id}",
        cluster_id=subject.cluster_id,
        lead=subject,
        decision="confirmed",
        by="rule:clear_problem",
        reason="问题明确",
        decided_at=at,
    )


def test_another_city_is_out_of_jurisdiction() -> None:
    ruling = rule_on(lead(text="东莞长安镇这边路灯坏了一排", geo=Geo()), CFG, Context(now=NOW))
    assert (ruling.decision, ruling.rule) == ("rejected", "out_of_jurisdiction")
    assert "东莞" in ruling.reason
    # a Shenzhen district wins over a mention of elsewhere
    ours = rule_on(lead(text="从东莞回来，宝安大道这个坑还在"), CFG, Context(now=NOW))
    assert ours.rule != "out_of_jurisdiction"


def test_the_author_says_it_is_fixed() -> None:
    ruling = rule_on(lead(text="更新：已经修好了，谢谢"), CFG, Context(now=NOW))
    assert (ruling.decision, ruling.rule) == ("rejected", "resolved_by_author")
    assert "已经修好" in ruling.reason


def test_a_post_from_four_months_ago_is_stale() -> None:
    old = lead(posted_at=NOW - timedelta(days=120))
    ruling = rule_on(old, CFG, Context(now=NOW))
    assert (ruling.decision, ruling.rule) == ("rejected", "stale")
    assert "120 天前" in ruling.reason
    assert rule_on(lead(posted_at=NOW - timedelta(days=60)), CFG, Context(now=NOW)).rule != "stale"
    lenient = CFG.model_copy(
        update={"rules": Rules(stale=StaleRule(max_age_days=180, decision="needs_review"))}
    )
    assert rule_on(old, lenient, Context(now=NOW)).rule == "clear_problem"
    switched_off = CFG.model_copy(update={"rules": Rules(stale=StaleRule(enabled=False))})
    assert rule_on(old, switched_off, Context(now=NOW)).rule == "clear_problem"


def test_same_place_needs_the_street_and_agreeing_finer_places() -> None:
    assert same_place(PLACE, Geo(district="宝安区", street="西乡街道"))
    assert not same_place(PLACE, Geo(district="宝安区", street="西乡街道", road="107国道"))
    assert not same_place(Geo(district="宝安区"), Geo(district="宝安区"))
    assert not same_place(PLACE, Geo(district="宝安区", street="新安街道", road="宝安大道"))


def test_a_second_report_of_a_confirmed_problem_joins_its_case() -> None:
    first = confirmed(lead("a"))
    second = lead("b", text="宝安大道西乡这里有个坑，昨晚有人摔倒", platform="douyin")
    ruling = rule_on(second, CFG, Context(now=NOW, near=(first,)))
    assert (ruling.decision, ruling.rule, ruling.duplicate_of) == (
        "confirmed",
        "duplicate_open_case",
        "c-a",
    )
    assert "72 小时" in ruling.reason
    # another problem, another place, or outside the window: not a duplicate
    for other in (
        lead("c", category="city_appearance", text="宝安大道西乡段人行道垃圾堆了三天"),
        lead("d", geo=Geo(district="宝安区", street="新安街道"), text="新安这边路面也有坑"),
    ):
        assert rule_on(other, CFG, Context(now=NOW, near=(first,))).duplicate_of is None
    # the same text read as another category and with no street is still the same report
    copy = lead(
        "e",
        text="【转】宝安大道西乡段路面一个大坑,好几辆电动车摔了!",
        category="municipal_facilities",
        geo=Geo(district="宝安区"),
    )
    ruling = rule_on(copy, CFG, Context(now=NOW, near=(first,)))
    assert (ruling.rule, ruling.duplicate_of) == ("duplicate_open_case", "c-a")
    assert "内容相同" in ruling.reason
    stale_case = confirmed(lead("a"), at=NOW - timedelta(days=5))
    assert rule_on(second, CFG, Context(now=NOW, near=(stale_case,))).duplicate_of is None


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[VerifierStage]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/v.db")
    s = VerifierStage(StageContext(settings=Settings(), store=store))
    await s.start()
    yield s
    await s.close()
    await store.close()


async def test_the_stage_finds_the_open_case_and_names_it_on_the_verdict(
    stage: VerifierStage,
) -> None:
    (first,) = await stage.handle(lead("a", posted_at=None))
    assert isinstance(first, Verdict) and first.decision == "confirmed"
    (second,) = await stage.handle(lead("b", posted_at=None, platform="forum"))
    assert isinstance(second, Verdict)
    assert (second.by, second.duplicate_of) == ("rule:duplicate_open_case", "c-a")
    # a third on the same place joins the first's case too, not the second's
    (third,) = await stage.handle(lead("c", posted_at=None, platform="xhs"))
    assert isinstance(third, Verdict) and third.duplicate_of == "c-a"
