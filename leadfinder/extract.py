"""First-cut extraction: problem keywords per category, urgency triggers, district names.

A placeholder for the full leadfinder (gazetteer, jieba, scoring, clustering): enough to
run the loop end to end, honest about what it is.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from xianban.records import Category, Geo, Post

KEYWORDS: dict[str, tuple[str, ...]] = {
    "road_traffic": ("红绿灯", "路面塌陷", "坑", "斑马线", "违停", "闯红灯"),
    "municipal_facilities": ("路灯", "井盖", "电线裸露", "护栏", "台阶", "公厕"),
    "city_appearance": ("垃圾", "小广告", "占道经营", "建筑垃圾"),
    "noise": ("打桩", "吵到", "噪音", "广场舞", "低音炮", "炸街"),
    "construction_safety": ("塔吊", "围挡", "基坑", "高空"),
    "fire_safety": ("消防通道", "消防栓", "电动车在充电", "安全出口", "烧焦"),
    "public_transport": ("公交", "地铁", "扶梯", "共享单车"),
    "water_power_gas": ("停水", "停电", "燃气", "水管爆"),
}
URGENT = ("冒火花", "井盖不见", "电线裸露", "塌陷", "燃气味", "困人", "消防通道", "塔吊")
DISTRICTS = {
    "福田": "福田区",
    "罗湖": "罗湖区",
    "南山": "南山区",
    "盐田": "盐田区",
    "宝安": "宝安区",
    "龙岗": "龙岗区",
    "龙华": "龙华区",
    "坪山": "坪山区",
    "光明": "光明区",
    "大鹏": "大鹏新区",
}
NOT_A_PROBLEM = ("已经修好", "点赞", "出租", "广告", "优惠")


class Extraction(BaseModel):
    model_config = ConfigDict(frozen=True)

    is_lead: bool
    score: float
    category: Category | None
    urgent: bool
    urgency_triggers: list[str]
    geo: Geo
    reasons: list[str]
    features: dict[str, float]


class Extractor:
    @classmethod
    def load(cls, configs_dir: Path) -> Extractor:
        return cls()

    def extract(self, post: Post) -> Extraction:
        text = f"{post.title or ''} {post.text}"
        hits = {c: [k for k in kws if k in text] for c, kws in KEYWORDS.items()}
        category, found = max(hits.items(), key=lambda kv: len(kv[1]))
        district = next((full for short, full in DISTRICTS.items() if short in text), None)
        triggers = [t for t in URGENT if t in text]
        negative = [n for n in NOT_A_PROBLEM if n in text]
        score = min(1.0, 0.45 * bool(found) + 0.35 * bool(district) + 0.2 * bool(triggers))
        if negative:
            score *= 0.3
        reasons = [f"问题:{k}" for k in found] + ([f"地点:{district}"] if district else [])
        reasons += [f"加急:{t}" for t in triggers] + [f"排除:{n}" for n in negative]
        is_lead = bool(found) and score >= 0.6
        return Extraction(
            is_lead=is_lead,
            score=round(score, 3),
            category=category if found else None,  # type: ignore[arg-type]
            urgent=bool(triggers) and is_lead,
            urgency_triggers=triggers,
            geo=Geo(district=district),
            reasons=reasons,
            features={"keywords": float(len(found)), "district": float(bool(district))},
        )
