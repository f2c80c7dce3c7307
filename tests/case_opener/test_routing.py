"""The duties list: every category in every district goes to a named unit that acts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from case_opener.commands import route_command
from case_opener.duties import DutiesList
from xianban.records import CATEGORIES, Geo

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def duties() -> DutiesList:
    return DutiesList.load(CONFIGS)


def _first_street(duties: DutiesList, district: str) -> str:
    return sorted(duties.places.districts[district].streets)[0]


def test_the_table_covers_every_category_in_every_district(duties: DutiesList) -> None:
    districts = sorted(duties.places.districts)
    assert len(districts) == 10 and len(CATEGORIES) == 18
    units = duties.units()
    table: dict[tuple[str, str], str] = {}
    for category in CATEGORIES:
        for district in districts:
            street = _first_street(duties, district)
            route = duties.route(category, Geo(district=district, street=street))
            table[(category, district)] = route.unit
            assert route.unit in units, (category, district, route.unit)
            assert route.why and route.why[-1].startswith("承办单位：")
            short = duties.places.short(district)
            if route.level == "street":
                assert route.unit == f"{district}{street}办事处"
            elif route.level == "district":
                assert district in route.unit or f"{short}" in route.unit, route.unit
            else:
                assert route.level == "city" and route.unit.startswith("深圳"), route.unit
            assert "{" not in route.unit
    assert len(table) == 180
    # the same category in two districts never lands on one district's unit
    for category in CATEGORIES:
        district_units = {table[(category, d)] for d in districts}
        city_level = all(duties.route(category, Geo(district=d)).level == "city" for d in districts)
        assert len(district_units) == (1 if city_level else 10), category


NAMED = [
    # category, district, street, community, text → unit, level
    ("road_traffic", "宝安区", "西乡街道", None, "路面一个大坑", "宝安区西乡街道办事处", "street"),
    (
        "road_traffic",
        "宝安区",
        "西乡街道",
        None,
        "天天违停",
        "深圳市公安局交通警察局宝安大队",
        "district",
    ),
    ("education", "罗湖区", None, None, "学校乱收费", "罗湖区教育局", "district"),
    ("public_transport", "南山区", None, None, "公交班次太少", "深圳市交通运输局", "city"),
    ("public_transport", "南山区", None, None, "地铁扶梯停了", "深圳市地铁集团有限公司", "city"),
    ("water_power_gas", "龙岗区", None, None, "又停电了", "深圳供电局", "city"),
    ("water_power_gas", "龙岗区", None, None, "楼道燃气味", "深圳市燃气集团股份有限公司", "city"),
    ("municipal_facilities", "福田区", "华富街道", None, "井盖没了", "福田区水务局", "district"),
    (
        "property_management",
        "龙岗区",
        "龙岗街道",
        "五联社区",
        "楼梯台阶断了",
        "龙岗区龙岗街道五联社区工作站",
        "community",
    ),
    (
        "property_management",
        "宝安区",
        "石岩街道",
        None,
        "电梯困人",
        "深圳市市场监督管理局宝安监管局",
        "district",
    ),
    ("education", "大鹏新区", None, None, "幼儿园收费", "大鹏新区公共事业局", "district"),
    ("noise", "南山区", "粤海街道", None, "工地半夜打桩", "深圳市生态环境局南山管理局", "district"),
    ("public_security", "光明区", None, None, "小偷偷电动车", "深圳市公安局光明分局", "district"),
    # a matter names its unit whatever the category the text was filed under
    (
        "property_management",
        "龙岗区",
        None,
        None,
        "物业公司拖欠工资四个月",
        "龙岗区人力资源局",
        "district",
    ),
    ("health", "福田区", None, None, "吃完上吐下泻", "深圳市市场监督管理局福田监管局", "district"),
    # a power-supply fault is the power company's whatever it was filed under
    (
        "property_management",
        "福田区",
        None,
        None,
        "车库进水，旁边配电房怕漏电",
        "深圳供电局",
        "city",
    ),
    ("construction_safety", "罗湖区", None, None, "楼外墙的电线烧起来了", "深圳供电局", "city"),
    ("water_power_gas", "宝安区", None, None, "高压线被风刮断了", "深圳供电局", "city"),
    # ... but words that name no matter by themselves leave the category's own duty
    (
        "municipal_facilities",
        "南山区",
        None,
        None,
        "路灯杆漏电，小孩别靠近",
        "南山区城市管理和综合执法局",
        "district",
    ),
    (
        "fire_safety",
        "宝安区",
        "西乡街道",
        None,
        "消防通道天天有车违停",
        "宝安区西乡街道办事处",
        "street",
    ),
    # flooding and backflow are the water bureau's
    ("road_traffic", "福田区", None, None, "下水道倒灌，店门口全是水", "福田区水务局", "district"),
    # parking on the carriageway is traffic police's, also at a school gate
    (
        "education",
        "龙华区",
        None,
        None,
        "放学时家长车辆双排停车",
        "深圳市公安局交通警察局龙华大队",
        "district",
    ),
    # a rental dispute is the street office's (租赁管理), not market supervision's
    (
        "consumer_rights",
        "南山区",
        "粤海街道",
        None,
        "退租一个月了押金还不退",
        "南山区粤海街道办事处",
        "street",
    ),
    (
        "construction_safety",
        "南山区",
        "沙河街道",
        None,
        "天台又加盖了一层",
        "南山区沙河街道办事处",
        "street",
    ),
    # façade tiles are the construction bureau's (the label guide's construction_safety),
    # also in traditional characters, whatever the lead was filed under
    (
        "property_management",
        "福田区",
        None,
        None,
        "某大廈外牆的瓷磚這兩天一直掉",
        "福田区住房和建设局",
        "district",
    ),
    # a school's own buildings are the education bureau's, also where the tiles fall
    (
        "construction_safety",
        "龙岗区",
        None,
        None,
        "某小学教学楼外墙瓷砖多次脱落",
        "龙岗区教育局",
        "district",
    ),
    # and a lead already filed there stays: the first matter named is its own
    ("education", "龙岗区", None, None, "某小学教学楼外墙瓷砖多次脱落", "龙岗区教育局", "district"),
]


@pytest.mark.parametrize(
    ("category", "district", "street", "community", "text", "unit", "level"), NAMED
)
def test_named_units(
    duties: DutiesList,
    category: str,
    district: str | None,
    street: str | None,
    community: str | None,
    text: str,
    unit: str,
    level: str,
) -> None:
    geo = Geo(district=district, street=street, community=community)
    route = duties.route(category, geo, text)
    assert (route.unit, route.level) == (unit, level), route.why


def test_a_matter_names_the_unit_its_own_category_gives(duties: DutiesList) -> None:
    """A matter is a shortcut across categories, never a second opinion: its unit is the one
    its own category's duty gives for the same words (what the simulated city judges by),
    so a lead filed under another category lands where a rightly filed one would."""
    for district in sorted(duties.places.districts):
        geo = Geo(district=district, street=_first_street(duties, district))
        for matter in duties.duties.matters:
            for phrase in matter.phrases:
                own = duties.route(matter.category, geo, phrase, matters=False)
                other = next(c for c in CATEGORIES if c != matter.category)
                shortcut = duties.route(other, geo, phrase)
                assert shortcut.unit == own.unit, (matter.matter, phrase, own.why)
                assert shortcut.why[0].startswith("权责清单：事项“"), shortcut.why


def test_unknown_places_fall_back_a_level_at_a_time(duties: DutiesList) -> None:
    no_street = duties.route("city_appearance", Geo(district="宝安区"), "垃圾没人清理")
    assert no_street.unit == "宝安区政务服务和数据管理局"
    assert "未识别街道" in " ".join(no_street.why)
    nowhere = duties.route("city_appearance", Geo(), "垃圾没人清理")
    assert nowhere.unit == "深圳市政务服务和数据管理局"
    no_district = duties.route("education", Geo(), "学校乱收费")
    assert no_district.unit == "深圳市教育局"
    wrong_street = duties.route("city_appearance", Geo(district="罗湖区", street="西乡街道"))
    assert wrong_street.unit == "罗湖区政务服务和数据管理局"  # the street is not in 罗湖区
    community_unknown = duties.route(
        "property_management", Geo(district="龙岗区", street="布吉街道"), "楼道灯坏了"
    )
    assert community_unknown.unit == "龙岗区布吉街道办事处"


def test_a_returned_unit_is_skipped_for_the_next(duties: DutiesList) -> None:
    geo = Geo(district="宝安区", street="西乡街道")
    first = duties.route("road_traffic", geo, "天天违停")
    second = duties.route("road_traffic", geo, "天天违停", exclude=frozenset({first.unit}))
    assert second.unit == "宝安区西乡街道办事处"
    assert f"{first.unit} 已退单" in second.why[0]


def test_route_command_reads_leads_and_posts() -> None:
    lines = [
        {"id": "L1", "category": "education", "geo": {"district": "罗湖区"}, "text": "学校乱收费"},
        {"id": "P1", "text": "宝安区西乡街道固戍社区这边又停电了，已经三个小时没电"},
        {"id": "P2", "text": "今天天气不错"},
        {"id": "bad", "category": "aliens"},
    ]
    src = io.StringIO("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\nnot json\n")
    out = io.StringIO()
    ok, bad = route_command(src, out, CONFIGS)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [a["id"] for a in answers] == ["L1", "P1", "P2", "bad", None]
    assert (ok, bad) == (3, 2)
    assert answers[0]["unit"] == "罗湖区教育局" and answers[0]["unit_level"] == "district"
    assert answers[1]["unit"] == "深圳供电局" and answers[1]["street"] == "西乡街道"
    assert answers[1]["from"] == "extract" and answers[1]["why"]
    assert answers[2]["unit"] is None
    assert "error" in answers[3] and "error" in answers[4]
