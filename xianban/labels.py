"""Chinese labels users read for the codes records carry (categories, case statuses).

The taxonomy's full data (phrases, weights, department hints) lives in configs/; these
labels are the part every stage and the console show, so they live in the spine.
"""

from __future__ import annotations

CATEGORY_LABELS: dict[str, str] = {
    "road_traffic": "道路交通",
    "municipal_facilities": "市政设施",
    "city_appearance": "市容环境",
    "noise": "噪声扰民",
    "construction_safety": "施工安全",
    "fire_safety": "消防安全",
    "public_transport": "公共交通",
    "parks_greenery": "园林绿化",
    "water_power_gas": "水电燃气",
    "housing_rental": "房屋租赁",
    "property_management": "物业管理",
    "consumer_rights": "消费维权",
    "market_regulation": "市场监管",
    "ecology_environment": "生态环境",
    "labor_social_security": "劳动社保",
    "education": "教育",
    "health": "卫生健康",
    "public_security": "社会治安",
}

STATUS_LABELS: dict[str, str] = {
    "pending": "待报送",
    "filed": "已报送",
    "returned": "被退单",
    "dispatched": "已派单",
    "in_progress": "处置中",
    "resolved": "已办结待审核",
    "closed": "已结案",
    "rejected": "被拒收",
}

UNIT_LEVEL_LABELS: dict[str, str] = {
    "city": "市级",
    "district": "区级",
    "street": "街道",
    "community": "社区",
}

SATISFACTION_LABELS: dict[str, str] = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "unreachable": "未能联系",
}
