"""Extraction behaviour: urgency with its trigger, each not-a-lead class, normalisation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leadfinder.extract import Extraction, Extractor
from leadfinder.normalise import _T2S, normalise, normalise_many
from leadfinder.t2s_triggers import TRIGGERS
from scripts.build_t2s_gate import t2s_keys, triggers
from xianban.errors import ConfigError
from xianban.records import Engagement, Post
from xianban.settings import ROOT

CONFIGS = ROOT / "configs"


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load(CONFIGS)


def run(extractor: Extractor, text: str, **fields: object) -> Extraction:
    return extractor.extract(Post(platform="weibo", native_id="1", text=text, **fields))


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("龙华民治这边路灯一直冒火花，小孩天天路过", "冒火花"),
        ("宝安西乡人行道上电线裸露，下雨天很危险", "电线裸露"),
        ("福田梅林这栋楼一直有燃气味，物业不管", "燃气味"),
        ("南山蛇口这边井盖不见了，晚上看不见", "井盖不见"),
        ("龙岗布吉路口红绿灯不亮了，车乱成一团", "红绿灯不亮"),
        ("罗湖东门这个小区电梯困人，老人被困电梯半小时", "被困电梯"),
        ("坪山这边城中村消防通道被堵死了，全是电动车", "消防通道被堵"),
        ("光明公明停水两天了，家里老人没水吃药", "老人没水"),
        ("大鹏葵涌这边暴雨水浸街，积水到膝盖", "水浸"),
    ],
)
def test_danger_is_urgent_and_shows_its_trigger(
    extractor: Extractor, text: str, trigger: str
) -> None:
    found = run(extractor, text)
    assert found.is_lead and found.urgent
    assert trigger in found.urgency_triggers
    assert f"加急:{trigger}" in found.reasons


def test_ordinary_problem_is_a_lead_but_not_urgent(extractor: Extractor) -> None:
    found = run(extractor, "龙华民治这边垃圾堆了一个星期没人清理，臭气熏天，有没有人管")
    assert found.is_lead and not found.urgent
    assert found.category == "city_appearance"
    assert found.geo.district == "龙华区" and found.geo.street == "民治街道"
    assert "投诉意图:有没有人管" in found.reasons


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("点赞！龙华民治那个冒火花的路灯已经修好了，效率真高", "排除:已解决/表扬"),
        ("福田专业管道疏通，下水道堵塞30分钟上门，加微信咨询，限时优惠", "排除:广告"),
        ("深圳网站优化，关键词排名快速上首页，seo包年", "排除:垃圾推广"),
        ("【出租】南山科技园精装两房，拎包入住，押一付一", "排除:租售信息"),
        ("求推荐宝安西乡好吃的火锅店，周末打卡", "排除:推荐/闲聊"),
        ("新华社消息：全国多地开展燃气安全专项整治", "排除:新闻转述"),
        ("大家觉得深圳地铁要不要24小时运营？怎么看", "排除:观点讨论"),
    ],
)
def test_each_not_a_lead_class_is_excluded_with_its_reason(
    extractor: Extractor, text: str, reason: str
) -> None:
    found = run(extractor, text)
    assert not found.is_lead and not found.urgent
    assert reason in found.reasons


def test_another_citys_problem_is_not_ours(extractor: Extractor) -> None:
    found = run(extractor, "广州天河区这边路面塌陷了一个大坑，有没有人管")
    assert not found.is_lead
    assert any(r.startswith("非深圳:") for r in found.reasons)
    road = run(extractor, "天河路这边井盖没了，晚上看不见，太危险")
    assert not road.is_lead and not road.urgent
    assert any(r.startswith("非深圳:") for r in road.reasons)


def test_a_problem_word_alone_is_no_lead(extractor: Extractor) -> None:
    assert not run(extractor, "小时候最喜欢在路灯下玩跳房子").is_lead
    assert not run(extractor, "看了一部讲城市噪音的片子，挺有意思").is_lead


def test_taxi_is_no_rental_listing(extractor: Extractor) -> None:
    found = run(extractor, "深圳北站出租车拒载，排了半小时队，太过分了")
    assert found.is_lead and found.category == "public_transport"


def test_traditional_fullwidth_and_emoji_read_like_plain_text(extractor: Extractor) -> None:
    plain = run(extractor, "民治街道的路灯冒火花，电线裸露，有没有人管")
    fancy = run(extractor, "#深圳# 民治街道的路燈冒火花🔥🔥，電線裸露，有沒有人管！！@深圳城管")
    assert fancy.is_lead and fancy.category == plain.category
    assert fancy.urgency_triggers == plain.urgency_triggers
    assert fancy.geo == plain.geo
    assert normalise("ＡＢＣ１２３") == "abc123"


def test_engagement_and_media_raise_the_rule_score_and_reach_the_model() -> None:
    rules = Extractor.load(CONFIGS, model=False)  # the rules' score is the model's evidence
    text = "龙岗布吉这边人行道地砖翘起来了，老人摔了好几个"
    quiet = run(rules, text)
    loud = run(rules, text, engagement=Engagement(likes=300), media=["a.jpg"])
    assert loud.score > quiet.score
    assert "互动量高" in loud.reasons and "附图片/视频" in loud.reasons
    assert loud.features["engagement"] == 1 and loud.features["media"] == 1


def test_repost_is_marked_as_corroboration(extractor: Extractor) -> None:
    found = run(extractor, "扩散 //@深圳吐槽君: 南山粤海这边电梯困人半小时没人来救")
    assert found.is_lead and "转发:作为佐证" in found.reasons


def test_broken_taxonomy_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "taxonomy.yaml").write_text("road_traffic: {label: x, phrases: {}}\n")
    (tmp_path / "leadfinder.yaml").write_text((CONFIGS / "leadfinder.yaml").read_text())
    shutil.copytree(CONFIGS / "gazetteer", tmp_path / "gazetteer")
    with pytest.raises(ConfigError, match="18 categories"):
        Extractor.load(tmp_path)


def test_a_road_or_crossing_is_placed_through_the_gazetteer(extractor: Extractor) -> None:
    road = run(extractor, "龙观大道这边井盖没了，晚上看不见，太危险")
    assert road.is_lead and road.urgent
    assert road.geo.district == "龙华区" and road.geo.road == "龙观大道"
    crossing = run(extractor, "红荔路与彩田路交叉口红绿灯不亮了")
    assert crossing.is_lead and crossing.geo.district == "福田区"
    placed = next(r for r in crossing.reasons if r.startswith("地名库:"))
    assert "路口:红荔路与彩田路交叉口" in placed
    # Whether a dark signal alone is urgent is the model's call (the guide lists no traffic
    # light among its dangers, and the second readers split on it); the rules name the hazard.
    assert "险情:红绿灯+不亮" in crossing.reasons


def test_extractions_are_built_as_model_construct_builds_them(extractor: Extractor) -> None:
    made = run(extractor, "龙观大道这边井盖没了，晚上看不见，太危险")
    values = {name: getattr(made, name) for name in Extraction.model_fields}
    constructed = Extraction.model_construct(**values)
    assert made == constructed and list(vars(made)) == list(vars(constructed))
    assert made.model_fields_set == constructed.model_fields_set
    assert made.__pydantic_extra__ is None and made.__pydantic_private__ is None
    assert made.model_dump() == constructed.model_dump() and repr(made) == repr(constructed)
    with pytest.raises(ValueError, match="frozen"):
        made.score = 0.0  # type: ignore[misc]


def test_the_t2s_gate_holds_a_character_of_every_rewrite_opencc_makes() -> None:
    assert frozenset(triggers()) == TRIGGERS  # rebuild: python scripts/build_t2s_gate.py
    rewritten = [key for key in t2s_keys() if _T2S.convert(key) != key]
    assert len(rewritten) > 5000
    assert all(not TRIGGERS.isdisjoint(key) for key in rewritten)
    for text in ("打坏了", "沈迷游戏", "反覆", "這個門口", "门口的井盖又坏了"):
        assert normalise(text) == _T2S.convert(text)  # 坏 alone stays, 打坏 becomes 打坯


def test_a_batch_is_normalised_as_each_of_its_texts_alone() -> None:
    texts = ["", "這個門口", "门口", "打坏了", "🙂 #深圳# @物业 ，", "\ud800孤", "反覆", "𠮶嗰"]
    assert normalise_many(texts) == [normalise(t) for t in texts]
    assert normalise_many([]) == []
