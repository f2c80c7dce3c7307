"""Our cases in Open311 GeoReport v2's words: services, service requests, errors, discovery.

What a request shows is what a citizen may read: the post's own text (never the
研判/依据 lines that explain our rules), the responsible unit, the status with the
reply the unit gave, times as ISO 8601 with the +08:00 offset, the address from the
gazetteer and ``lat``/``long`` at the street's centroid (WGS-84, see ``console.places``).
Every shape exists as JSON and as the XML the specification gives (``<services>``,
``<service_requests>``, ``<errors>`` …), from the same dictionaries.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from typing import Any

from console.masking import mask_data
from console.places import Centroids
from xianban.labels import CATEGORY_LABELS, STATUS_LABELS
from xianban.records import Case, CaseStatus, Geo

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHINA = timezone(timedelta(hours=8), "CST")
CLOSED: frozenset[CaseStatus] = frozenset({"resolved", "closed", "rejected"})
INTERNAL_LINES = ("线索来源：", "研判：", "依据：")
"""Lines of a case description that explain our pipeline, not the citizen's problem."""
_ITEM_OF = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}

SERVICE_FIELDS = (
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
)
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)


W3C_PATTERN = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-](0\d|1[0-3]):[0-5]\d)?)?$"
)
"""The form ``parse_w3c`` takes, as the schema states it; a day the calendar lacks
(2026-02-30) passes the pattern and is a 400 ``invalid_time``."""


def w3c(moment: datetime | None) -> str | None:
    """ISO 8601 / W3C datetime in China time, offset included (``2026-11-20T09:30:00+08:00``)."""
    if moment is None:
        return None
    return moment.astimezone(CHINA).replace(microsecond=0).isoformat()


def parse_w3c(text: str) -> datetime:
    """A W3C date or datetime; without an offset it is China time (as a citizen means it).

    Raises ValueError with a Chinese message."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"时间格式不正确：{text!r}（应为 W3C 格式，如 2026-11-20T08:00:00+08:00 或 2026-11-20）"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA)


def service(code: str) -> dict[str, Any]:
    label = CATEGORY_LABELS[code]
    return {
        "service_code": code,
        "service_name": label,
        "description": f"{label}类问题",
        "metadata": False,
        "type": "realtime",
        "keywords": label,
        "group": "未诉先办",
    }


def service_definition(code: str) -> dict[str, Any]:
    """Our services take no extra attributes (``metadata`` is false): an empty list."""
    return {"service_code": code, "attributes": []}


def citizen_text(description: str) -> str:
    """The description without the lines that explain our rules and sources."""
    kept: list[str] = []
    for line in description.splitlines():
        if line.startswith(INTERNAL_LINES):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def address(geo: Geo) -> str | None:
    if not (geo.district or geo.street or geo.road or geo.poi):
        return None
    area = "".join(p for p in ("深圳市", geo.district, geo.street, geo.community) if p)
    details = " ".join(p for p in (geo.road, geo.poi) if p)
    return f"{area} {details}".strip()


def expected(case: Case) -> datetime | None:
    if case.status in ("pending", "filed", "returned"):
        return case.dispatch_due
    if case.status in ("dispatched", "in_progress"):
        return case.handle_due
    if case.status == "resolved":
        return case.close_due
    return None


def status_notes(case: Case) -> str:
    label = STATUS_LABELS[case.status]
    return f"{label}：{case.reply}" if case.reply else label


def service_request(case: Case, centroids: Centroids) -> dict[str, Any]:
    updated = case.history[-1].at if case.history else case.opened_at
    point = centroids.locate(case.geo)
    return {
        "service_request_id": case.case_id,
        "status": "closed" if case.status in CLOSED else "open",
        "status_notes": status_notes(case),
        "service_name": CATEGORY_LABELS[case.category],
        "service_code": case.category,
        "description": citizen_text(case.description),
        "agency_responsible": case.department,
        "service_notice": "",
        "requested_datetime": w3c(case.opened_at),
        "updated_datetime": w3c(updated),
        "expected_datetime": w3c(expected(case)),
        "address": address(case.geo),
        "address_id": None,
        "zipcode": None,
        "lat": point[0] if point else None,
        "long": point[1] if point else None,
        "media_url": None,
    }


def errors(code: int, description: str) -> list[dict[str, Any]]:
    return [{"code": code, "description": description}]


def discovery(*, base_url: str, contact: str, changeset: datetime) -> dict[str, Any]:
    return {
        "changeset": w3c(changeset),
        "contact": contact,
        "key_service": "向接口管理员申请具有 cases:read 权限范围的访问令牌，作为 api_key 使用",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base_url.rstrip('/')}/open311/v2",
                "changeset": w3c(changeset),
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


def to_xml(root: str, value: Any) -> bytes:
    """The document GeoReport clients parse: lists repeat their singular element."""
    element = ET.Element(root)
    _fill(element, root, mask_data(value))
    text: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + text


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, list):
        item = _ITEM_OF.get(name, "item")
        for entry in value:
            _fill(ET.SubElement(element, item), item, entry)
    elif isinstance(value, dict):
        for key, entry in value.items():
            _fill(ET.SubElement(element, key), key, entry)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)
