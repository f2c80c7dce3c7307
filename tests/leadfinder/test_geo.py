"""The geo resolver against the shipped gazetteer, the way the leadfinder loads it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from leadfinder.geo import GeoResolver
from xianban.records import Geo, PlaceHints

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SHENZHEN = yaml.safe_load((CONFIGS / "gazetteer" / "shenzhen.yaml").read_text(encoding="utf-8"))


def _street_cases() -> list[tuple[str, str, str]]:
    """(sentence, district, street): every street in its full form and its short form."""
    cases = []
    ambiguous = set(SHENZHEN["ambiguous_short"])
    for district, info in SHENZHEN["districts"].items():
        for short in info["streets"]:
            street = f"{short}街道"
            plain = short not in ambiguous and short != info["short"]
            short_form = short if plain else f"{district}{short}"
            for form in (street, short_form):
                cases.append((f"{form}这边有个井盖没了，晚上走路很危险！", district, street))
    return cases


STREET_CASES = _street_cases()


@pytest.fixture(scope="module")
def resolver() -> GeoResolver:
    return GeoResolver.load(CONFIGS)


def test_every_street_is_tested_in_two_forms() -> None:
    assert len(STREET_CASES) == 148


@pytest.mark.parametrize(("text", "district", "street"), STREET_CASES)
def test_each_street_resolves(resolver: GeoResolver, text: str, district: str, street: str) -> None:
    match = resolver.resolve(text)
    assert (match.geo.district, match.geo.street) == (district, street)
    assert match.in_shenzhen is True
    assert match.precision == "street"


@pytest.mark.parametrize(
    ("text", "district", "street"),
    [
        ("龙岗布吉这里的路灯又坏了", "龙岗区", "布吉街道"),
        ("宝安西乡的垃圾没人清", "宝安区", "西乡街道"),
        ("南山科技园地铁口积水", "南山区", "粤海街道"),
        ("民治街道白石龙社区电梯困人", "龙华区", "民治街道"),
        ("宝安新安这边井盖松了", "宝安区", "新安街道"),
        ("光明区凤凰那边施工到半夜", "光明区", "凤凰街道"),
    ],
)
def test_short_and_full_forms(resolver: GeoResolver, text: str, district: str, street: str) -> None:
    match = resolver.resolve(text)
    assert (match.geo.district, match.geo.street) == (district, street)


@pytest.mark.parametrize(
    ("text", "district", "street"),
    [
        ("龙华区的路灯坏了", "龙华区", None),
        ("龙华街道的路灯坏了", "龙华区", "龙华街道"),
        ("南山这边堵死了", "南山区", None),
        ("南山街道这边堵死了", "南山区", "南山街道"),
        ("福田区福田街道", "福田区", "福田街道"),
        ("大鹏新区葵涌", "大鹏新区", "葵涌街道"),
    ],
)
def test_street_named_like_its_district(
    resolver: GeoResolver, text: str, district: str, street: str | None
) -> None:
    match = resolver.resolve(text)
    assert (match.geo.district, match.geo.street) == (district, street)


@pytest.mark.parametrize(
    "text",
    [
        "前途一片光明",
        "凤凰传奇的演唱会太好听了",
        "新安装的空调很安静",
        "招商银行的信用卡又乱扣费",
        "祝奶奶福如东海寿比南山",
        "这事情变成都没人管了",
        "东西安排好了再说",
    ],
)
def test_ordinary_words_are_not_places(resolver: GeoResolver, text: str) -> None:
    match = resolver.resolve(text)
    assert match.in_shenzhen is None
    assert match.precision == "none"


def test_ambiguous_short_street_needs_context(resolver: GeoResolver) -> None:
    assert resolver.resolve("小区东门被锁了，进不去").in_shenzhen is None
    assert resolver.resolve("东门这边太吵了").geo.street == "东门街道"
    assert resolver.resolve("光明这边停电了").geo.district == "光明区"
    match = resolver.resolve("罗湖东门步行街太吵了")
    assert (match.geo.district, match.geo.street, match.geo.poi) == (
        "罗湖区",
        "东门街道",
        "东门步行街",
    )


@pytest.mark.parametrize(
    ("text", "district", "street", "precision"),
    [
        ("深圳北站出租车乱停", "龙华区", "民治街道", "poi"),
        ("华为基地门口没有红绿灯", "龙岗区", "坂田街道", "poi"),
        ("民治大道上的井盖没了", "龙华区", "民治街道", "road"),
        ("宝安大道塌了个坑", "宝安区", None, "road"),
    ],
)
def test_road_or_poi_places_the_post(
    resolver: GeoResolver, text: str, district: str, street: str | None, precision: str
) -> None:
    match = resolver.resolve(text)
    assert (match.geo.district, match.geo.street, match.precision) == (district, street, precision)


@pytest.mark.parametrize(
    ("text", "outside"),
    [
        ("广州天河这边路灯坏了", "广州"),
        ("东莞长安的工厂排污", "东莞"),
        ("北京朝阳区又堵车了", "北京"),
        ("上海浦东新区地铁挤爆", "上海"),
        ("番禺区的垃圾站好臭", "广州番禺区"),
    ],
)
def test_outside_shenzhen(resolver: GeoResolver, text: str, outside: str) -> None:
    match = resolver.resolve(text)
    assert match.in_shenzhen is False
    assert match.outside == outside
    assert match.geo.district is None


def test_shenzhen_place_wins_over_a_mention_of_another_city(resolver: GeoResolver) -> None:
    match = resolver.resolve("从东莞回来，宝安西乡这边的路全是坑")
    assert match.in_shenzhen is True
    assert match.geo.street == "西乡街道"


@pytest.mark.parametrize(
    ("text", "road", "crossing", "known"),
    [
        ("龙观大道与人民路交叉口红绿灯不亮", "龙观大道", "龙观大道与人民路交叉口", True),
        ("沙河西路和白石路路口有个大坑", "沙河西路", "沙河西路和白石路路口", True),
        # Two roads the gazetteer does not know: read by their shape, but nothing in the text
        # says they are in Shenzhen (a Shenzhen IP属地 would say city, never a district).
        ("幸福路跟和平路交汇处积水", "幸福路", "幸福路跟和平路交汇处", None),
    ],
)
def test_crossings(
    resolver: GeoResolver, text: str, road: str, crossing: str, known: bool | None
) -> None:
    match = resolver.resolve(text)
    assert match.geo.road == road
    assert f"路口:{crossing}" in match.evidence
    assert match.in_shenzhen is known


def test_no_place_at_all(resolver: GeoResolver) -> None:
    match = resolver.resolve("今天好热啊")
    assert (match.precision, match.in_shenzhen, match.outside, match.evidence) == (
        "none",
        None,
        None,
        (),
    )


def test_ip_location_in_shenzhen_gives_city(resolver: GeoResolver) -> None:
    match = resolver.resolve("楼下路灯坏了", PlaceHints(ip_location="IP属地：广东深圳"))
    assert (match.precision, match.in_shenzhen) == ("city", True)


def test_province_only_ip_location_says_nothing(resolver: GeoResolver) -> None:
    match = resolver.resolve("楼下路灯坏了", PlaceHints(ip_location="广东"))
    assert match.in_shenzhen is None


def test_text_place_beats_hints(resolver: GeoResolver) -> None:
    match = resolver.resolve("宝安西乡路灯坏了", PlaceHints(ip_location="北京"))
    assert match.geo.district == "宝安区"


def test_poi_tag_places_a_post_without_place_words(resolver: GeoResolver) -> None:
    match = resolver.resolve("门口的井盖没了", PlaceHints(poi="深圳北站"))
    assert (match.geo.district, match.geo.poi) == ("龙华区", "深圳北站")


def test_other_city_field_is_not_ours(resolver: GeoResolver) -> None:
    match = resolver.resolve("门口的井盖没了", PlaceHints(city="广州"))
    assert match.in_shenzhen is False


def test_patterns_cover_every_street_and_kind(resolver: GeoResolver) -> None:
    patterns = dict(resolver.patterns())
    streets = {
        form for form, kind in patterns.items() if kind == "street" and form.endswith("街道")
    }
    assert len(streets) == 74
    assert patterns["龙观大道"] == "road"
    assert patterns["深圳北站"] == "poi"
    assert "天河区" not in patterns


def test_community_names_its_street(resolver: GeoResolver) -> None:
    match = resolver.resolve("民治街道白石龙社区电梯困人")
    assert match.geo == Geo(district="龙华区", street="民治街道", community="白石龙社区")
    assert match.precision == "community"


def test_community_alone_places_the_post(resolver: GeoResolver) -> None:
    match = resolver.resolve("白石龙社区的垃圾站好几天没人清")
    assert (match.geo.district, match.geo.street) == ("龙华区", "民治街道")


def test_shared_community_name_keeps_the_coarser_level(resolver: GeoResolver) -> None:
    match = resolver.resolve("凤凰社区门口积水")
    assert match.geo == Geo(community="凤凰社区")
    assert match.in_shenzhen is True


def test_district_disambiguates_a_shared_community(resolver: GeoResolver) -> None:
    match = resolver.resolve("光明区凤凰社区门口积水")
    assert match.geo == Geo(district="光明区", street="凤凰街道", community="凤凰社区")
    two_in_one_district = resolver.resolve("龙岗区凤凰社区门口积水")
    assert (two_in_one_district.geo.district, two_in_one_district.geo.street) == ("龙岗区", None)


def test_shenzhen_poi_named_like_another_city(resolver: GeoResolver) -> None:
    match = resolver.resolve("中山公园门口的路灯坏了")
    assert (match.in_shenzhen, match.geo.district, match.geo.poi) == (True, "南山区", "中山公园")
    assert resolver.resolve("中山的路灯坏了").in_shenzhen is False


@pytest.mark.parametrize(
    ("text", "district"), [("光明新区的路", "光明区"), ("坪山新区这边", "坪山区")]
)
def test_former_district_names(resolver: GeoResolver, text: str, district: str) -> None:
    assert resolver.resolve(text).geo.district == district
