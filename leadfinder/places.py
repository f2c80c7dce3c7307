"""Where a post is, from Shenzhen's district and street names and the landmarks locals use.

A stand-in for the geo engineer's gazetteer resolver (leadfinder/geo.py): same idea and the
same answer shape (geo, precision, in_shenzhen, evidence), so the extractor switches by
changing one import when that lands. Street names that are also ordinary words or district
names only count in their full form ("光明街道"), right after their district ("宝安新安") or
before a word that makes them a place ("梅林这边").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from xianban.records import Geo

Precision = Literal["none", "city", "district", "street", "community", "road", "poi"]

STREETS: dict[str, tuple[str, ...]] = {
    "福田区": ("园岭", "南园", "福田", "沙头", "香蜜湖", "梅林", "莲花", "华富", "福保", "华强北"),
    "罗湖区": ("桂园", "黄贝", "东门", "翠竹", "南湖", "笋岗", "东湖", "莲塘", "东晓", "清水河"),
    "南山区": ("南头", "南山", "沙河", "蛇口", "招商", "粤海", "桃源", "西丽"),
    "盐田区": ("梅沙", "盐田", "沙头角", "海山"),
    "宝安区": ("新安", "西乡", "航城", "福永", "福海", "沙井", "新桥", "松岗", "燕罗", "石岩"),
    "龙岗区": (
        "布吉",
        "坂田",
        "南湾",
        "横岗",
        "龙城",
        "龙岗",
        "坪地",
        "平湖",
        "吉华",
        "宝龙",
        "园山",
    ),
    "龙华区": ("观湖", "民治", "龙华", "大浪", "福城", "观澜"),
    "坪山区": ("坪山", "马峦", "碧岭", "石井", "坑梓", "龙田"),
    "光明区": ("光明", "公明", "新湖", "凤凰", "玉塘", "马田"),
    "大鹏新区": ("葵涌", "大鹏", "南澳"),
}
# Short forms that are ordinary words or other places' names: full form or district first.
AMBIGUOUS_SHORT = frozenset(
    {"福田", "南山", "盐田", "龙岗", "龙华", "坪山", "光明", "大鹏", "凤凰", "新安", "招商", "莲花",
     "桃源", "海山", "石井", "宝龙", "东湖", "南湖", "沙河", "沙头"}
)  # fmt: skip
# Words that make an ambiguous short name a place: "梅林这边", "石井附近".
NEARBY = ("这边", "那边", "这里", "那里", "附近", "一带", "片区", "一村", "二村", "社区")
# Landmarks, stations and villages locals name instead of the street: (district, street).
POIS: dict[str, tuple[str, str | None]] = {
    "科技园": ("南山区", "粤海街道"),
    "深圳湾": ("南山区", None),
    "后海": ("南山区", "粤海街道"),
    "大学城": ("南山区", "西丽街道"),
    "世界之窗": ("南山区", "沙河街道"),
    "欢乐谷": ("南山区", "沙河街道"),
    "南头古城": ("南山区", "南头街道"),
    "前海": ("南山区", "南山街道"),
    "深圳北站": ("龙华区", "民治街道"),
    "白石龙": ("龙华区", "民治街道"),
    "龙华汽车站": ("龙华区", "龙华街道"),
    "清湖": ("龙华区", "龙华街道"),
    "红山": ("龙华区", "民治街道"),
    "会展中心": ("福田区", "福田街道"),
    "市民中心": ("福田区", "福田街道"),
    "车公庙": ("福田区", "沙头街道"),
    "岗厦": ("福田区", "福田街道"),
    "皇岗": ("福田区", "福田街道"),
    "莲花山": ("福田区", "莲花街道"),
    "东门步行街": ("罗湖区", "东门街道"),
    "国贸": ("罗湖区", "南湖街道"),
    "罗湖口岸": ("罗湖区", "南湖街道"),
    "水贝": ("罗湖区", "翠竹街道"),
    "大梅沙": ("盐田区", "梅沙街道"),
    "小梅沙": ("盐田区", "梅沙街道"),
    "中英街": ("盐田区", "沙头角街道"),
    "宝安中心": ("宝安区", "新安街道"),
    "宝安机场": ("宝安区", "航城街道"),
    "固戍": ("宝安区", "航城街道"),
    "坪洲": ("宝安区", "西乡街道"),
    "大运": ("龙岗区", "龙城街道"),
    "龙岗中心城": ("龙岗区", "龙城街道"),
    "华为基地": ("龙岗区", "坂田街道"),
    "李朗": ("龙岗区", "南湾街道"),
    "丹竹头": ("龙岗区", "南湾街道"),
    "大芬": ("龙岗区", "布吉街道"),
    "木棉湾": ("龙岗区", "布吉街道"),
    "坪山高铁站": ("坪山区", "坪山街道"),
    "光明城站": ("光明区", "凤凰街道"),
    "光明科学城": ("光明区", None),
    "较场尾": ("大鹏新区", "大鹏街道"),
    "西涌": ("大鹏新区", "南澳街道"),
    "东涌": ("大鹏新区", "南澳街道"),
    "大鹏所城": ("大鹏新区", "大鹏街道"),
}
OUTSIDE_DISTRICTS = ("天河区", "越秀区", "海珠区", "番禺区", "白云区", "南沙区", "朝阳区", "浦东")


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    geo: Geo
    precision: Precision
    in_shenzhen: bool | None
    outside: str | None
    evidence: tuple[str, ...]


def place_patterns() -> list[tuple[str, str, str, str | None]]:
    """(surface form, kind, district, street) for the extractor's automaton."""
    found: list[tuple[str, str, str, str | None]] = []
    for district, streets in STREETS.items():
        short = district.removesuffix("新区").removesuffix("区")
        found += [(district, "district", district, None), (short, "district_short", district, None)]
        for street in streets:
            full = f"{street}街道"
            found.append((full, "street", district, full))
            found.append((f"{short}{street}", "street", district, full))
            if street not in AMBIGUOUS_SHORT:
                found.append((street, "street", district, full))
            else:
                found += [(street + near, "street", district, full) for near in NEARBY]
    found += [(name, "poi", d, s) for name, (d, s) in POIS.items()]
    found += [(name, "outside", "", None) for name in OUTSIDE_DISTRICTS]
    return found


# How precise each pattern kind is, so the most precise place named wins.
PRECISION_RANK = {"district_short": 0, "district": 1, "street": 2, "poi": 3}
