"""Places beyond the first gazetteer: metro exits, villages, estates, malls, hospitals,
crossings, shapes the gazetteer lacks, other cities' names. Held-out style: sentences
written for these tests, none from an evaluation set. 33 of these cases failed on the
resolver before the metro/places additions and the shape reader; the others guard against
the shapes reading ordinary words ("我们小区", "路过") as places."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadfinder.extract import Extractor
from leadfinder.geo import GeoResolver
from xianban.records import PlaceHints, Post

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def resolver() -> GeoResolver:
    return GeoResolver.load(CONFIGS)


@pytest.mark.parametrize(
    ("text", "district", "street", "poi"),
    [
        ("老街地铁站A出口有个井盖松了，差点绊倒", "罗湖区", "东门街道", "老街站A出口"),
        ("坐地铁到白石洲站C口出来就是一大片垃圾", "南山区", "沙河街道", "白石洲站C口"),
        ("车公庙地铁站D出口的扶梯又停了", "福田区", "沙头街道", "车公庙站D出口"),
        ("固戍地铁站B口出来那条路全是坑", "宝安区", "航城街道", "固戍站B口"),
        ("六约北地铁站出口的电梯一直坏着", "龙岗区", "横岗街道", "六约北站"),
        ("坐11号线到碧头站，出站没有一盏路灯", "宝安区", "松岗街道", "碧头站"),
    ],
)
def test_metro_stations_and_exits(
    resolver: GeoResolver, text: str, district: str, street: str, poi: str
) -> None:
    match = resolver.resolve(text)
    assert (match.geo.district, match.geo.street, match.geo.poi) == (district, street, poi)
    assert match.in_shenzhen is True


@pytest.mark.parametrize(
    "text", ["这条老街晚上没有路灯", "买了灵芝送人", "华为手机屏幕碎了", "机场大巴晚点"]
)
def test_station_names_that_are_ordinary_words_need_the_station_form(
    resolver: GeoResolver, text: str
) -> None:
    assert resolver.resolve(text).geo.district is None


@pytest.mark.parametrize(
    ("text", "district", "street"),
    [
        # urban villages (城中村) and old villages
        ("福田上沙村消防通道被电动车堵死了", "福田区", "沙头街道"),
        ("沙尾村里面的电线乱拉，一下雨就冒火花", "福田区", "沙头街道"),
        ("西乡流塘村的握手楼电线乱拉", "宝安区", "西乡街道"),
        ("黄田村的下水道堵了三天", "宝安区", "航城街道"),
        # large estates
        ("民治锦绣江南小区的电梯又坏了", "龙华区", "民治街道"),
        ("四季花城门口的垃圾没人收", "龙岗区", "坂田街道"),
        ("星海名城的电梯困人了", "南山区", "南头街道"),
        # malls
        ("万象天地停车场收费太贵还排长队", "南山区", "粤海街道"),
        ("海雅缤纷城门口积水一大片", "宝安区", "新安街道"),
        ("罗湖万象城附近的天桥灯不亮", "罗湖区", "桂园街道"),
        # hospitals and universities, short forms
        ("北大深圳医院门口乱停车", "福田区", "莲花街道"),
        ("港大深圳医院门口排长队，黄牛倒号", "福田区", "沙头街道"),
        ("香港中文大学(深圳)附近的路灯坏了", "龙岗区", "龙城街道"),
        ("南科大门口的路坏了", "南山区", None),
    ],
)
def test_villages_estates_malls_hospitals(
    resolver: GeoResolver, text: str, district: str, street: str | None
) -> None:
    match = resolver.resolve(text)
    assert (match.geo.district, match.geo.street) == (district, street)
    assert match.in_shenzhen is True  # 香港中文大学(深圳) is no Hong Kong post


def test_road_is_filled_when_a_street_is_named(resolver: GeoResolver) -> None:
    match = resolver.resolve("龙岗区坂田五和大道和雪岗路的路口车祸，救护车堵在外面")
    assert (match.geo.district, match.geo.street, match.geo.road) == (
        "龙岗区",
        "坂田街道",
        "五和大道",
    )
    assert "路口:五和大道和雪岗路的路口" in match.evidence


@pytest.mark.parametrize(
    ("text", "road", "crossing"),
    [
        ("宝安大道与创业二路交叉口红绿灯坏了", "宝安大道", "宝安大道与创业二路交叉口"),
        ("创业二路口天天堵车", "创业二路", "创业二路口"),
        ("皇岗路口有车祸", "皇岗路", "皇岗路口"),
    ],
)
def test_crossings_and_road_mouths(
    resolver: GeoResolver, text: str, road: str, crossing: str
) -> None:
    match = resolver.resolve(text)
    assert match.geo.road == road
    assert f"路口:{crossing}" in match.evidence


def test_a_road_the_gazetteer_lacks_is_read_by_its_shape(resolver: GeoResolver) -> None:
    match = resolver.resolve("在兴华一路上被电动车撞了")
    assert match.geo.road == "兴华一路"
    assert (match.geo.district, match.in_shenzhen, match.precision) == (None, None, "none")


def test_a_street_name_then_a_number_names_the_street(resolver: GeoResolver) -> None:
    match = resolver.resolve("新安三路的路灯不亮")
    assert (match.geo.district, match.geo.street, match.geo.road) == (
        "宝安区",
        "新安街道",
        "新安三路",
    )


@pytest.mark.parametrize(
    ("text", "district", "street", "poi"),
    [
        ("宝安区翠湖花园小区的水管爆了", "宝安区", None, "翠湖花园"),
        ("福永凤凰村的垃圾没人管", "宝安区", "福永街道", "凤凰村"),
        ("坪山区人民医院门口乱收费", "坪山区", None, "坪山区人民医院"),
        ("沙井新二村这边的消防通道被堵", "宝安区", "沙井街道", "新二村"),
    ],
)
def test_a_shaped_poi_takes_its_place_from_the_places_named_with_it(
    resolver: GeoResolver, text: str, district: str, street: str | None, poi: str
) -> None:
    match = resolver.resolve(text)
    assert (match.geo.district, match.geo.street, match.geo.poi) == (district, street, poi)


def test_a_shape_alone_says_nothing_about_where(resolver: GeoResolver) -> None:
    alone = resolver.resolve("楼下幸福花园门口堆满垃圾")
    assert alone.geo.poi == "幸福花园"
    assert (alone.geo.district, alone.in_shenzhen, alone.precision) == (None, None, "none")
    hinted = resolver.resolve("楼下幸福花园门口堆满垃圾", PlaceHints(ip_location="广东深圳"))
    assert (hinted.geo.district, hinted.geo.poi) == (None, "幸福花园")  # an IP is no district
    assert (hinted.in_shenzhen, hinted.precision) == (True, "city")


@pytest.mark.parametrize(
    "text",
    [
        "我们小区门口的路灯坏了",
        "这条路太烂了",
        "路过马路的时候差点被撞",
        "今天走路去上班",
        "也欢迎大家分享自己小区的情况",
        "十字路口的红绿灯坏了",
        "公交站台的顶棚漏雨",
    ],
)
def test_ordinary_words_ending_like_places_are_no_places(resolver: GeoResolver, text: str) -> None:
    match = resolver.resolve(text)
    assert (match.geo.road, match.geo.poi, match.geo.district) == (None, None, None)


@pytest.mark.parametrize(
    ("text", "outside"),
    [("杭州万象城门口好多人", "杭州"), ("东莞长安的幸福花园漏水了", "东莞")],
)
def test_a_place_after_another_citys_name_is_that_citys(
    resolver: GeoResolver, text: str, outside: str
) -> None:
    match = resolver.resolve(text)
    assert (match.in_shenzhen, match.outside, match.geo.district) == (False, outside, None)


@pytest.mark.parametrize(
    ("text", "district", "street"),
    [
        ("光明的路灯一到晚上就不亮", "光明区", None),  # a weak district name, alone
        ("以前的西乡镇现在变化好大，但是路还是烂", "宝安区", "西乡街道"),  # the old town
        ("公明镇上的菜市场太脏", "光明区", "公明街道"),
        ("梅林的菜市场太脏了", "福田区", "梅林街道"),  # no ordinary word: bare it counts
        ("清水河那边的泥头车太多", "罗湖区", "清水河街道"),
        ("西乡固戍那边积水严重", "宝安区", "航城街道"),  # the village, over the old town name
        ("民治街道白石龙社区电梯困人", "龙华区", "民治街道"),  # the official form first
        ("南山区南山外国语学校门口早上堵车", "南山区", None),  # the school takes its 南山 back
    ],
)
def test_street_names_short_official_and_former(
    resolver: GeoResolver, text: str, district: str, street: str | None
) -> None:
    match = resolver.resolve(text)
    assert (match.geo.district, match.geo.street) == (district, street)


def test_the_extractor_fills_road_beside_the_street() -> None:
    extractor = Extractor.load(CONFIGS)
    post = Post(platform="weibo", native_id="1", text="龙华民治民治大道上井盖没了，晚上看不见")
    geo = extractor.extract(post).geo
    assert (geo.district, geo.street, geo.road) == ("龙华区", "民治街道", "民治大道")


def test_a_post_of_one_repeated_place_suffix_reads_a_bounded_number_of_shapes(
    resolver: GeoResolver,
) -> None:
    """Each shape is checked against those before it: "路" x 50,000 once took 43 s."""
    from leadfinder.geo import MAX_SHAPES

    text = "".join(f"第{i}号路口" for i in range(2000)) + "路" * 50_000
    hits = resolver._shapes(text, [], 0)
    assert len(hits) <= MAX_SHAPES
    assert resolver.resolve(text) is not None
