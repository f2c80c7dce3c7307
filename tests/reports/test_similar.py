"""类案 keys: category and place, or the merchant of a consumer complaint."""

from __future__ import annotations

import pytest

from reports.merchants import merchant_in


@pytest.mark.parametrize(
    ("text", "name", "named"),
    [
        ("【投诉对象】XX健身（深圳宝安店）【投诉问题】办了年卡", "XX健身", True),
        ("投诉对象：某家政公司 问题：预付了一年保洁", "某家政公司", False),
        ("被投诉商家：宝安某汽车美容店 问题：洗车卡", "某汽车美容店", False),
        ("商家：某外卖平台 问题：外卖显示已送达", "某外卖平台", False),
        ("投诉某教育培训机构（深圳龙华校区）：报名时", "某教育培训机构", False),
        ("在福田一家美甲店做了个款式", "某美甲店", False),
        ("龙岗区某健身房关门跑路，数百会员预付费无法退还", "某健身房", False),
    ],
)
def test_the_merchant_a_complaint_names(text: str, name: str, named: bool) -> None:
    merchant = merchant_in(text)
    assert merchant is not None
    assert (merchant.name, merchant.named) == (name, named)


def test_no_merchant_in_a_street_problem() -> None:
    assert merchant_in("龙观大道工地夜间施工噪音太大") is None
