"""Rule evidence for the learned model: each kind of language fires on wordings it was not
written from, and stays quiet on the look-alikes (resolved vs recurring, risk vs harm done,
politeness vs praise, a food stall named after a city).

Every sentence here was written for these tests, in the ways people post; none comes from the
calibration set, the training corpus or the simulator's pool.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from leadfinder.evidence import (
    FEATURE_LABELS,
    FEATURES,
    Evidence,
    EvidenceFinder,
    expand,
    find_evidence,
)
from leadfinder.extract import Extractor
from leadfinder.normalise import normalise
from xianban.errors import ConfigError
from xianban.records import Post
from xianban.settings import ROOT

CONFIGS = ROOT / "configs"


def ev(text: str) -> Evidence:
    return find_evidence(normalise(text))


def fired(text: str) -> set[str]:
    return {name for name, value in ev(text).features().items() if value}


def check(text: str, feature: str, expected: bool) -> None:
    got = fired(text)
    assert (feature in got) is expected, f"{text!r}: {feature} {'missing' if expected else 'fired'}"


# -- hazard object x failure state -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("小区门口那根电线耷拉下来，离地不到一米", True),
        ("人行道上的井盖松动了，车一压就哐当响", True),
        ("松动的护栏一靠就晃", True),  # the state before the object
        ("楼上空调外机的支架都锈穿了", True),  # words in between
        ("工地围挡被风吹得歪了", True),
        ("燃气管道那边有漏气的声音", True),
        ("后山边坡已经开裂，雨一直下", True),
        ("電梯門夾人，小朋友的手被夾住", True),  # traditional characters
        ("条村啲沙井盖冇咗成个月", True),  # Cantonese
        ("山体滑坡把路堵了一半", True),  # a named danger counts by itself
        ("楼道里好多人飞线充电", True),
        ("电线杆上贴满了小广告", False),  # an object, nothing wrong with it
        ("井盖上画的图案很好看。不过昨天我手机掉了", False),  # another clause
        ("电线旁边新开了一家奶茶店生意很好店员说机器坏了", False),  # too far apart
        ("护栏旁边那家店不断推出新品", False),  # 不断 is no 断
        ("楼梯间的灯坏了好几天", False),  # a stairwell is a place, the light is what broke
    ],
)
def test_hazard_and_failure_pair_in_a_window_of_the_same_clause(text: str, expected: bool) -> None:
    check(text, "ev.hazard_x_failure", expected)


def test_hazard_groups_are_features_of_their_own() -> None:
    got = fired("小区门口那棵榕树的树枝断了，悬在半空")
    assert {"ev.hazard", "ev.hazard.tree", "ev.hazard_x_failure"} <= got
    assert "ev.hazard.electric" not in got
    reasons = ev("小区门口那棵榕树的树枝断了，悬在半空").reasons()
    assert any(r.startswith("险情:") and "树枝+断了" in r for r in reasons)


# -- harm already done, and only risked ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "我妈在小区台阶上摔了一跤，膝盖都破了",
        "孩子在游乐场被铁皮划伤了手",
        "邻居家的狗把快递员咬伤了",
        "电梯突然停了，我们一家三口被困在里面",
        "阿婆行路跌倒，已经送院",
        "昨晚有人骑车掉进坑里，骨折住院了",
        "吃完那家的外卖全家上吐下泻",
    ],
)
def test_harm_done_fires(text: str) -> None:
    check(text, "ev.harm_done", True)


@pytest.mark.parametrize(
    "text",
    [
        "地砖翘起来了，差点把我绊倒",
        "下雨天台阶太滑，很容易摔跤",
        "万一砸到人怎么办",
        "还好没人受伤",
        "这件事被困扰了好久",  # 被困扰 is nobody trapped
        "手机屏幕摔碎了，心疼",  # a thing broken, not a person hurt
    ],
)
def test_risk_negation_and_look_alikes_are_not_harm_done(text: str) -> None:
    check(text, "ev.harm_done", False)


def test_harm_only_risked_is_described_danger() -> None:
    found = ev("地砖翘起来了，差点把我绊倒")
    assert {"ev.harm_risk", "ev.danger"} <= set(fired("地砖翘起来了，差点把我绊倒"))
    assert "险些伤人:差点把我绊倒" in found.reasons()


def test_harm_reason_names_the_words() -> None:
    assert "伤害已发生:摔了" in ev("我妈在小区台阶上摔了一跤").reasons()


# -- the vulnerable, and next to a hazard ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("每天很多小朋友从这里经过", True),
        ("楼下住着几个行动不便的老人家", True),
        ("旁边就是一所小学", True),
        ("啲细路仔成日喺度玩", True),
        ("商场里的娃娃机又坏了", False),
        ("小区停车位不够用", False),
    ],
)
def test_vulnerable(text: str, expected: bool) -> None:
    check(text, "ev.vulnerable", expected)


def test_hazard_next_to_the_vulnerable() -> None:
    got = fired("井盖没了，旁边就是幼儿园")
    assert {"ev.hazard_x_vulnerable", "ev.failure_x_vulnerable"} <= got
    assert "ev.hazard_x_vulnerable" not in fired("幼儿园门口新开了文具店")


def test_harm_with_a_hazard() -> None:
    got = fired("小区里那条大狗没拴绳，把一个小孩咬伤了")
    assert {"ev.harm_x_hazard", "ev.hazard.animal", "ev.hazard_x_vulnerable"} <= got


# -- danger described, not named -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一脚踩下去整个人陷进去半截", True),
        ("那块玻璃随时可能掉下来", True),
        ("积水齐腰深，车都熄火了", True),
        ("每次路过都提心吊胆", True),
        ("这么大的坑晚上根本看不见", True),
        ("全新静音空调，安全无隐患", False),
        ("今天天气真好，去公园散步", False),
    ],
)
def test_danger_described(text: str, expected: bool) -> None:
    check(text, "ev.danger", expected)


# -- persistence -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("这个问题三天两头出现", True),
        ("已经一个多月了还是这样", True),
        ("路灯不亮两个星期了", True),
        ("每逢下雨这里就水浸", True),
        ("这是第三次投诉了", True),
        ("成日都系咁", True),
        ("好久不见，周末一起吃饭", False),
        ("这家店的面又好吃又便宜", False),
    ],
)
def test_persistence(text: str, expected: bool) -> None:
    check(text, "ev.persistence", expected)


# -- a call for action, and a question that is a complaint ---------------------------------


@pytest.mark.parametrize(
    ("text", "feature"),
    [
        ("希望相关部门尽快派人来看看", "ev.call_for_action"),
        ("建议在这个路口增设红绿灯", "ev.call_for_action"),
        ("恳请领导重视", "ev.call_for_action"),
        ("麻烦物业处理一下", "ev.call_for_action"),
        ("这个坑到底有没有人管?", "ev.complaint_question"),
        ("为什么每次下雨都这样", "ev.complaint_question"),
        ("路灯坏了谁来管", "ev.complaint_question"),
        ("有冇人理下啊", "ev.complaint_question"),
        ("尊敬的领导：您好！我是宝安的一名业主", "ev.petition"),
    ],
)
def test_asking_for_action(text: str, feature: str) -> None:
    check(text, feature, True)


def test_no_ask_in_chatter() -> None:
    got = fired("今天去吃了潮汕牛肉火锅，味道不错")
    assert not {"ev.call_for_action", "ev.complaint_question", "ev.petition"} & got


# -- resolution, scoped to its clause --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "小区门口的坑已经修好了，谢谢街道",
        "之前一直漏水，现在终于修好了",  # the past is in another clause
        "个沙井盖终于整好咗",
    ],
)
def test_resolved(text: str) -> None:
    got = fired(text)
    assert "ev.resolved" in got and "ev.unresolved" not in got


@pytest.mark.parametrize(
    "text",
    [
        "上次修好了又坏了",
        "说是已经处理，其实根本没人来",
        "修好了，结果没两天又漏水",
        "到现在还没修好",
        "反映了一个月，一直没有解决",
        "电梯修复了没几天又停了",
    ],
)
def test_recurring_or_negated_is_not_resolved(text: str) -> None:
    got = fired(text)
    assert "ev.resolved" not in got and "ev.unresolved" in got


def test_unresolved_reason_says_why() -> None:
    reasons = ev("上次修好了，今天又坏了").reasons()
    assert any(r.startswith("未解决/复发:") and "上次…修好了" in r for r in reasons)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("效率真高，点赞！", True),
        ("感谢城管的辛苦付出", True),
        ("希望尽快处理，谢谢", False),  # politeness after a request
        ("对这个结果很不满意", False),
    ],
)
def test_praise(text: str, expected: bool) -> None:
    check(text, "ev.praise", expected)


# -- ads and listings by shape ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "features"),
    [
        ("两房一厅3500元/月，拎包入住", {"ev.ad_price", "ev.ad_listing"}),
        ("有意者请联系139 1234 5678", {"ev.ad_phone"}),
        ("首付30万起，认筹火热进行中", {"ev.ad_listing", "ev.ad_price"}),
        ("加v了解详情，私信包邮", {"ev.ad_contact", "ev.ad_promo"}),
        ("89㎡南北通透，业主急售", {"ev.ad_listing"}),
        ("¥199到店体验，限时优惠", {"ev.ad_price", "ev.ad_promo"}),
    ],
)
def test_ad_shapes(text: str, features: set[str]) -> None:
    got = ev(text).features()
    assert features <= {k for k, v in got.items() if v}
    assert got["ev.ad_shapes"] >= len(features)


@pytest.mark.parametrize(
    "text",
    [
        "打了12345投诉，说三个工作日内回复",
        "物业费每年都涨，业主很不满",
        "等了40分钟公交都没来",
    ],
)
def test_complaints_with_numbers_are_no_ads(text: str) -> None:
    assert "ev.ad_shapes" not in ev(text).features()


# -- official replies and notices -------------------------------------------------------------


def test_official_reply_and_notice() -> None:
    reply = "您好，您反映的问题已收悉。经核查，已转交相关单位处理"
    assert "ev.official_reply" in fired(reply)
    notice = "温馨提示：因管道检修，本小区明日停水，预计恢复供水时间为18:00"
    assert "ev.notice" in fired(notice)
    assert "ev.official_reply" not in fired("我反映了好几次都没人理")
    assert "官方回复:您反映的、经核查、已转交" in ev(reply).reasons()


# -- other cities -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("东莞塘厦这边也停电了", True),
        ("在香港旺角吃了碗云吞面", True),
        ("惠阳淡水镇的路烂了好久", True),
        ("上海宾馆地铁站出口的扶梯坏了", False),  # a Futian landmark
        ("楼下新开了家兰州拉面", False),
    ],
)
def test_other_city(text: str, expected: bool) -> None:
    check(text, "ev.other_city", expected)


# -- names, reasons, config ---------------------------------------------------------------


def test_features_have_stable_names_whatever_the_post() -> None:
    finder = EvidenceFinder.default()
    names = finder.feature_names()
    assert set(FEATURES) <= set(names)
    assert "ev.hazard.electric" in names and "ev.hazard.manhole" in names
    for text in ("", "今天天气不错", "井盖不见了，小孩差点掉进去，有没有人管"):
        found = find_evidence(normalise(text))
        assert list(found.dense()) == names
        assert set(found.features()) <= set(names)  # sparse: only what fired
        assert all(v > 0 for v in found.features().values())
    assert find_evidence("").features() == {} and find_evidence("").reasons() == []


def test_every_feature_has_a_label() -> None:
    assert set(FEATURE_LABELS) == set(FEATURES)


@pytest.mark.parametrize(
    ("text", "features"),
    [
        ("條村啲沙井蓋冇咗成個月，細路仔跌咗落去", {"ev.hazard_x_failure", "ev.harm_done"}),
        ("屋苑外牆有塊玻璃鬆咗，隨時跌落嚟", {"ev.hazard_x_failure", "ev.danger"}),
        ("樓下嘅樹冧咗，壓住架車，好彩冇人受傷", {"ev.hazard_x_failure", "ev.harm_risk"}),
    ],
)
def test_cantonese_in_traditional_characters(text: str, features: set[str]) -> None:
    assert features <= fired(text)
    assert "ev.harm_done" not in fired("樓下嘅樹冧咗，壓住架車，好彩冇人受傷")


def test_alternatives_expand() -> None:
    assert expand("{一|两}{天|周}了") == ["一天了", "一周了", "两天了", "两周了"]
    assert expand("差点") == ["差点"]


def _configs(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copy(CONFIGS / "evidence.yaml", tmp_path / "evidence.yaml")
    path = tmp_path / "evidence.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  electric: [", "  Electric!: [", "lower-case"),
        ("failure: [断, ", "failure: [断, 断, ", "listed twice"),
        ("  tree: [树, ", "  tree: [电线, 树, ", "in both electric and tree"),
        ('    - "¥\\\\s?\\\\d"', '    - "¥(\\\\d"', "price"),
        ("praise: [", "praises: [", "praise"),
    ],
)
def test_broken_lexicon_is_a_config_error(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EvidenceFinder.load(_configs(tmp_path, old, new))


def test_missing_lexicon_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"evidence\.yaml: missing"):
        EvidenceFinder.load(tmp_path)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    configs = _configs(tmp_path, "vulnerable: [", "vulnerable: [熊孩子, ")
    assert EvidenceFinder.load(configs) is EvidenceFinder.load(configs)
    assert "ev.vulnerable" in {
        k for k, v in EvidenceFinder.load(configs).find("熊孩子").features().items() if v
    }


# -- in the extractor --------------------------------------------------------------------------


class NoEvidence(EvidenceFinder):
    def find(self, text: str) -> Evidence:
        return Evidence({}, set(), self.zero, self.memo)


POSTS = [
    "龙华民治这边路灯一直冒火花，小孩天天路过",
    "福田梅林这栋楼一直有燃气味，物业不管",
    "龙华民治这边垃圾堆了一个星期没人清理，臭气熏天，有没有人管",
    "点赞！龙华民治那个冒火花的路灯已经修好了，效率真高",
    "【出租】南山科技园精装两房，拎包入住，押一付一，3800元/月",
    "上次修好了又坏了，宝安西乡的井盖又不见了",
    "南山蛇口小区门口的狗咬伤了一个小孩，已经送医了",
    "广州天河区这边路面塌陷了一个大坑，有没有人管",
    "今天天气不错，去深圳湾公园散步",
]


@pytest.fixture(scope="module")
def rules() -> Extractor:
    return Extractor.load(CONFIGS, model=False)


def test_evidence_changes_no_decision_of_the_rules(rules: Extractor) -> None:
    plain = Extractor.load(CONFIGS, model=False)
    plain.evidence = NoEvidence(rules.evidence.config)
    for i, text in enumerate(POSTS):
        post = Post(platform="weibo", native_id=str(i), text=text)
        with_ev, without = rules.extract(post), plain.extract(post)
        for field in ("is_lead", "score", "category", "urgent", "urgency_triggers", "geo"):
            assert getattr(with_ev, field) == getattr(without, field), (text, field)
        rule_features = {k: v for k, v in with_ev.features.items() if not k.startswith("ev.")}
        assert rule_features == {k: v for k, v in without.features.items() if k in rule_features}
        assert with_ev.reasons[: len(without.reasons)] == without.reasons
    dog = rules.extract(Post(platform="weibo", native_id="dog", text=POSTS[6]))
    assert dog.features["ev.harm_done"] == 1.0


def test_extraction_carries_evidence_features_and_reasons(rules: Extractor) -> None:
    post = Post(
        platform="weibo", native_id="1", text="南山蛇口小区门口的狗咬伤了一个小孩，已经送医了"
    )
    found = rules.extract(post)
    assert found.features["ev.harm_done"] == 1.0 and found.features["ev.harm_x_hazard"] == 1.0
    assert "ev.resolved" not in found.features
    assert "伤害已发生:咬伤、送医" in found.reasons


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("龙华民治地铁站出口电线垂到头顶，随时可能碰到人", {"ev.hazard_x_failure", "ev.danger"}),
        ("南山蛇口小区门口的狗咬伤了一个小孩，已经送医了", {"ev.harm_done", "ev.harm_x_hazard"}),
        ("光明公明边坡上的石头往下掉，下面就是学生放学的路", {"ev.failure_x_vulnerable"}),
        (
            "福田华强北人行道上一块地砖松动，一脚踩下去整块翘起来，差点把我绊倒",
            {"ev.harm_risk", "ev.danger_x_hazard"},
        ),
        ("罗湖东门步行街的广告牌一直在晃，风一大就哐哐响", {"ev.hazard_x_failure"}),
    ],
)
def test_the_rules_alone_miss_dangers_the_evidence_finds(
    rules: Extractor, text: str, evidence: set[str]
) -> None:
    """The gap the model is for: today's rule verdict says not urgent (often not even a lead)
    on a danger described in ordinary words; the evidence names it."""
    found = rules.extract(Post(platform="weibo", native_id="1", text=text))
    assert not found.urgent
    assert evidence <= {k for k, v in found.features.items() if v}
