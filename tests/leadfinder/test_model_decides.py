"""The model decides posts written apart from its corpus: held-out style, one per kind.

Written for this test (not taken from the training corpus, the simulator's pool or the
calibration set). The kinds in ``RULES_MISSED`` were wrong under the rules alone
(``model=False``), the leadfinder before the model: dangers described without a named
trigger, harm already done, children next to a hazard, a solved problem told in a live
one's words, Cantonese, a repost chain, a formal letter, an official notice.
"""

from __future__ import annotations

import pytest

from leadfinder.extract import Extractor
from xianban.records import Post
from xianban.settings import ROOT

# The kinds the leadfinder got wrong before the model, with the rules alone.
RULES_MISSED = {
    "cantonese_urgent",
    "danger_described",
    "formal_letter",
    "harm_done",
    "official_notice",
    "repost_live",
    "resolved",
    "vulnerable",
}
CASES = [
    (
        "danger_described",
        "松岗这边天桥的台阶有一块石板是空的，一脚踩下去整块往下沉，晚上黑灯瞎火的",
        True,
        True,
    ),
    (
        "danger_described",
        "坂田五和那边一根电线从电线杆上耷拉下来，离地也就一米多，下雨天还滋滋响",
        True,
        True,
    ),
    (
        "danger_described",
        "西乡大道下穿隧道里的水已经没过车轮了，还有车在往里开",
        True,
        True,
    ),
    (
        "harm_done",
        "布吉街道那段人行道的砖翘起来了，我妈早上买菜绊了一跤膝盖全是血",
        True,
        True,
    ),
    (
        "harm_done",
        "龙岗中心城小区里那条大黄狗今天又追着人咬，隔壁小朋友腿上被咬了两个口子，打了狂犬疫苗",
        True,
        True,
    ),
    (
        "vulnerable",
        "石岩小学门口的施工坑连个挡板都没有，放学时间一堆小朋友就在坑边上走",
        True,
        True,
    ),
    ("persistence", "观澜这条路上的路灯一个多月没亮过了，天天摸黑走回家", True, False),
    ("question", "宝安西乡那个公厕堵了一个礼拜了，到底有没有人管？", True, False),
    ("cantonese", "罗湖东门呢度啲排水渠成日塞住，落雨就浸晒成条街，臭到死", True, False),
    ("praise", "谢谢南山区城管，上周反映的那个坏掉的路灯今天已经修好了，效率点赞", False, False),
    (
        "resolved",
        "之前龙华民治大道那个大坑终于填平了，开车不用再绕了",
        False,
        False,
    ),
    ("ad", "福田新盘认筹中，首付15万起，静音小区无噪音，加微信看房", False, False),
    ("listing", "宝安西乡精装单间出租，月租1800，押一付一，安全门禁，电话138开头", False, False),
    (
        "official_reply",
        "您好，您反映的龙岗区坂田街道路面破损问题已转交相关部门处理，感谢您的监督",
        False,
        False,
    ),
    ("other_city", "东莞塘厦这边的井盖又被偷了，晚上骑车差点掉进去", False, False),
    ("private", "今天在家煮饭把手烫了一个大泡，疼死了", False, False),
    (
        "cantonese_urgent",
        "深圳湾公园嗰边有棵大树冧咗一半，挨住条单车径，啲细路仲喺下面玩",
        True,
        True,
    ),
    (
        "repost_live",
        "//@深圳身边事: 扩散！龙华大浪那段路边斜坡在往下掉泥，下面就是一排铺面",
        True,
        True,
    ),
    (
        "12345_unanswered",
        "打了三次12345了，南湾街道那个垃圾站天天往外流黑水，臭得窗都不敢开，还是没人来",
        True,
        False,
    ),
    ("thread_title", "关于福田区莲花街道景田北路段夜间施工扰民的问题", True, False),
    (
        "formal_letter",
        "尊敬的领导：您好！我是宝安区沙井街道某小区业主，小区门口道路长期被货车占道停放，居民出行极为不便，恳请相关部门予以整治。",
        True,
        False,
    ),
    (
        "suggestion",
        "建议在南山区西丽街道留仙大道与沙河西路路口增设行人过街信号灯，现在过马路全靠跑",
        True,
        False,
    ),
    ("weather_chat", "今天深圳好热啊，出门五分钟衣服全湿透了，晚上去吃个冰", False, False),
    ("recommendation", "求推荐南山科技园附近好吃的湘菜馆，要辣一点的", False, False),
    ("job_ad", "龙岗坂田电子厂招普工，包吃住，月薪六千，无需经验，工作环境安全干净", False, False),
    ("game_plot", "昨晚打游戏，地图上那座桥塌了，整个队伍掉下去全灭，笑死", False, False),
    (
        "official_notice",
        "停水通知：因管网维护，福田区华富街道部分区域将于周六9时至18时停水，请居民提前储水",
        False,
        False,
    ),
    ("news_elsewhere", "广州天河区一工地塔吊倒塌，所幸无人员伤亡，当地已成立调查组", False, False),
]


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.load(ROOT / "configs")


@pytest.mark.parametrize(("kind", "text", "is_lead", "urgent"), CASES, ids=[c[0] for c in CASES])
def test_the_model_reads_the_kind(
    extractor: Extractor, kind: str, text: str, is_lead: bool, urgent: bool
) -> None:
    found = extractor.extract(Post(platform="weibo", native_id=kind, text=text))
    assert (found.is_lead, found.urgent) == (is_lead, urgent), found.reasons


def test_the_rules_alone_missed_the_marked_kinds() -> None:
    rules = Extractor.load(ROOT / "configs", model=False)
    for kind, text, is_lead, urgent in CASES:
        if kind in RULES_MISSED:
            found = rules.extract(Post(platform="weibo", native_id=kind, text=text))
            assert (found.is_lead, found.urgent) != (is_lead, urgent), kind


def test_a_lead_says_why_in_words(extractor: Extractor) -> None:
    found = extractor.extract(
        Post(
            platform="weibo",
            native_id="w",
            text="民治大道那个井盖又不见了，昨晚一个大爷骑车栽进去，送医院了",
        )
    )
    assert found.is_lead and found.urgent
    assert any(r.startswith("模型:线索概率") and "依据" in r for r in found.reasons)
    assert any(r.startswith("模型:紧急概率") for r in found.reasons)
    assert not any("ev." in r for r in found.reasons)
