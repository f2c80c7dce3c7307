"""Shenzhen place names as locals write them, so the geo resolver meets realistic mentions.

Each district lists the 街道 and the neighbourhood names people actually use ("民治",
"西乡", "科技园"), its main roads and a few landmarks. Posts rarely name the district
itself; they say "龙华民治" or "宝安大道与创业路交叉口", and the resolver has to work
back to the district — which the corpus keeps as ground truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    name: str
    short: str
    areas: tuple[str, ...]
    roads: tuple[str, ...]
    pois: tuple[str, ...]


DISTRICTS: tuple[District, ...] = (
    District(
        "福田区",
        "福田",
        ("华强北", "车公庙", "岗厦", "景田", "梅林", "香蜜湖", "上沙", "下沙", "皇岗", "园岭"),
        ("深南大道", "彩田路", "新洲路", "皇岗路", "福华路", "益田路", "红荔路", "北环大道"),
        ("莲花山公园", "市民中心", "会展中心", "福田口岸", "购物公园", "华强北地铁站"),
    ),
    District(
        "罗湖区",
        "罗湖",
        ("东门", "水贝", "翠竹", "布心", "莲塘", "笋岗", "黄贝岭", "蔡屋围", "清水河"),
        ("人民南路", "建设路", "东门中路", "深南东路", "宝安南路", "爱国路", "布心路"),
        ("东门老街", "罗湖口岸", "国贸", "洪湖公园", "万象城", "罗湖火车站"),
    ),
    District(
        "南山区",
        "南山",
        ("科技园", "蛇口", "后海", "西丽", "大冲", "白石洲", "南头", "前海", "桃源", "粤海"),
        ("南海大道", "科苑路", "沙河西路", "滨海大道", "南山大道", "留仙大道", "学府路"),
        ("海岸城", "深圳湾公园", "欢乐海岸", "南头古城", "南山书城", "深大地铁站"),
    ),
    District(
        "盐田区",
        "盐田",
        ("大梅沙", "小梅沙", "沙头角", "海山", "盐田港"),
        ("沙盐路", "盐梅路", "深盐路", "北山道", "海山路", "东海道"),
        ("中英街", "海滨栈道", "大梅沙海滨公园", "盐田港码头"),
    ),
    District(
        "宝安区",
        "宝安",
        ("西乡", "固戍", "福永", "沙井", "松岗", "石岩", "新安", "翻身", "坪洲", "流塘"),
        ("宝安大道", "广深公路", "创业路", "建安一路", "新湖路", "前进路", "松白路"),
        ("宝安机场", "灵芝公园", "宝安中心", "西乡步行街", "沙井古墟", "石岩湖"),
    ),
    District(
        "龙岗区",
        "龙岗",
        ("布吉", "坂田", "大运", "横岗", "平湖", "南湾", "李朗", "双龙", "龙城", "丹竹头"),
        ("龙岗大道", "布吉路", "坂雪岗大道", "吉华路", "深惠路", "龙翔大道", "五和大道"),
        ("大芬油画村", "龙城广场", "大运中心", "坂田华为基地", "布吉街", "万科广场"),
    ),
    District(
        "龙华区",
        "龙华",
        ("民治", "红山", "清湖", "观澜", "大浪", "上塘", "油松", "龙胜", "白石龙", "观湖"),
        ("民治大道", "梅龙路", "龙华大道", "人民路", "东环一路", "布龙路", "龙观大道"),
        ("深圳北站", "龙华汽车站", "观澜湖", "红山6979", "壹方天地", "观澜古墟"),
    ),
    District(
        "坪山区",
        "坪山",
        ("坑梓", "马峦", "碧岭", "石井", "龙田", "六联", "沙湖"),
        ("坪山大道", "深汕路", "金牛路", "东纵路", "丹梓大道", "坪山环城路"),
        ("坪山高铁站", "坪山中心公园", "马峦山", "坪山体育中心"),
    ),
    District(
        "光明区",
        "光明",
        ("公明", "新湖", "凤凰", "玉塘", "马田", "楼村", "光明农场"),
        ("光明大道", "公常路", "光侨路", "东长路", "华夏路", "观光路"),
        ("虹桥公园", "光明小镇", "光明科学城", "公明广场"),
    ),
    District(
        "大鹏新区",
        "大鹏",
        ("南澳", "葵涌", "较场尾", "西涌", "东涌", "坝光", "王母"),
        ("葵鹏路", "鹏飞路", "南澳大道", "坝光路", "金岭路", "迎宾路"),
        ("大鹏所城", "杨梅坑", "较场尾民宿", "西涌沙滩", "东西涌穿越线"),
    ),
)

DISTRICT_NAMES: tuple[str, ...] = tuple(d.name for d in DISTRICTS)

ESTATE_SUFFIXES = ("花园", "苑", "新村", "小区", "公寓", "家园", "雅居", "城")
SPOTS = ("地铁站A口", "地铁站B口", "公交站", "天桥下", "路口", "人行道", "菜市场门口", "学校门口")

OTHER_CITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("广州", ("天河", "番禺", "白云区", "海珠", "体育西路", "岗顶")),
    ("东莞", ("长安", "虎门", "松山湖", "南城", "塘厦", "凤岗")),
    ("惠州", ("惠阳", "大亚湾", "淡水", "仲恺")),
    ("佛山", ("南海", "顺德", "禅城", "千灯湖")),
    ("香港", ("旺角", "铜锣湾", "深水埗")),
)


def place_phrase(rng: random.Random, district: District) -> str:
    """One way a local would point at a spot in this district."""
    area = rng.choice(district.areas)
    road, other = rng.sample(district.roads, 2)
    form = rng.randrange(8)
    if form == 0:
        return f"{district.short}{area}"
    if form == 1:
        return f"{road}与{other}交叉口"
    if form == 2:
        return f"{area}{rng.choice(SPOTS)}"
    if form == 3:
        return f"{area}{road}"
    if form == 4:
        return f"{rng.choice(district.pois)}附近"
    if form == 5:
        return f"{area}{rng.choice(ESTATE_SUFFIXES)}"
    if form == 6:
        return f"{district.name}{road}"
    return f"{road}{rng.randint(1, 999)}号"
