"""The merchant a consumer complaint is about, read from the case's text.

Complaint sites label it (``投诉对象：某某健身（深圳宝安店）``, ``被投诉商家：…``, ``商家：…``);
other posts name it as "a shop of this kind" (``在福田一家美甲店``). A named merchant
groups across districts (a chain closing its stores); an unnamed one (``某健身房``, ``一家
美甲店``) is only a kind of shop, so it groups with the same kind in the same district.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = sorted(
    [
        "健身房",
        "健身中心",
        "健身工作室",
        "健身",
        "游泳馆",
        "瑜伽馆",
        "舞蹈室",
        "培训机构",
        "培训中心",
        "培训学校",
        "培训班",
        "教育机构",
        "编程机构",
        "早教中心",
        "托管班",
        "托育机构",
        "驾校",
        "美容院",
        "美容店",
        "美甲店",
        "美发店",
        "理发店",
        "汽车美容店",
        "洗车店",
        "超市",
        "便利店",
        "卖场",
        "商场",
        "餐厅",
        "饭店",
        "酒家",
        "酒楼",
        "火锅店",
        "奶茶店",
        "药店",
        "诊所",
        "宠物医院",
        "门店",
        "专卖店",
        "4S店",
        "家政公司",
        "装修公司",
        "中介公司",
        "物流公司",
        "俱乐部",
        "会所",
        "影城",
        "民宿",
        "酒店",
        "剧本杀店",
        "珠宝店",
        "摄影店",
        "家具店",
        "手机店",
        "平台",
    ],
    key=len,
    reverse=True,
)
_KIND = "|".join(re.escape(k) for k in KINDS)
_NAME = r"[\u4e00-\u9fffA-Za-z0-9·&]"
_LABELLED = re.compile(
    r"(?:被投诉(?:商家|方|对象|企业)|投诉对象|涉事商家|商家)\s*[】\]]?\s*[：:]?\s*"
    rf"(?P<name>{_NAME}{{2,30}}?)(?=[（(【\[，,。；;：:\s]|问题|投诉|$)"
)
_DIRECT = re.compile(rf"投诉(?P<name>{_NAME}{{0,12}}?(?:{_KIND}))")
_TYPED = re.compile(rf"(?P<name>(?:某|一家|那家|这家){_NAME}{{0,8}}?(?:{_KIND}))")
_GENERIC = ("某某", "某", "一家", "那家", "这家")
_PLACE_PREFIX = re.compile(
    r"^(?:深圳市?|福田区?|罗湖区?|南山区?|盐田区?|宝安区?|龙岗区?|龙华区?|坪山区?|光明区?|大鹏新?区?)+"
)


@dataclass(frozen=True, slots=True)
class Merchant:
    name: str
    """As shown: ``某某健身`` or ``XX健身``."""
    named: bool
    """True for a merchant's own name; False for only a kind of shop (``某健身房``)."""
    kind: str | None


def merchant_in(text: str) -> Merchant | None:
    """The merchant the text complains about, if it says."""
    for pattern in (_LABELLED, _DIRECT, _TYPED):
        match = pattern.search(text)
        if match is None:
            continue
        name = _PLACE_PREFIX.sub("", match.group("name")).strip()
        if len(name) < 2:
            continue
        kind = next((k for k in KINDS if name.endswith(k)), None)
        generic = name.startswith(_GENERIC)
        if generic:
            for prefix in _GENERIC:
                if name.startswith(prefix):
                    name = "某" + name[len(prefix) :]
                    break
            name = _PLACE_PREFIX.sub("", name[1:])
            name = "某" + name
        if name == "某" or (generic and kind is None and len(name) < 3):
            continue
        return Merchant(name=name, named=not generic, kind=kind)
    return None
