"""The ticket API's request and response shapes, for validation and the OpenAPI schema.

Responses are the bus records (``Case``, ``Lead``) as JSON plus what a consumer needs
beside them; every string in a response is masked (``console.masking``) on the way out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from xianban.records import Case, CaseStatus, Geo, Lead

Urgency = Literal["urgent", "ordinary"]
SiteResult = Literal["confirmed", "not_found"]

_EXAMPLE_CASE_ID = "XB-3F2A9C01D4E7"


class RoutingExplanation(BaseModel):
    """Why the case went to its unit (the duties list's entry, fallbacks, re-routes)."""

    department: str
    unit_level: str | None = None
    first_department: str | None = None
    reroutes: int = 0
    steps: list[str] = Field(description="one line per routing step, in order")


class SiteCheckOut(BaseModel):
    check_id: str
    status: str = Field(description="requested | confirmed | not_found")
    unit: str
    requested_at: datetime
    note: str
    result_note: str | None = None
    photo: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


class StatusChange(BaseModel):
    at: datetime
    status: CaseStatus
    status_label: str
    note: str
    by: str


class CaseDetail(Case):
    """A case with its status history spelled out, its routing explanation (when the case
    has one), the cluster's 现场核查 and what this caller may move it to."""

    status_label: str
    status_history: list[StatusChange]
    routing_explanation: RoutingExplanation | None = None
    site_checks: list[SiteCheckOut] = Field(default_factory=list)
    allowed_transitions: list[CaseStatus] = Field(
        default_factory=list, description="statuses this caller may write back now"
    )


class CasePage(BaseModel):
    count: int = Field(description="cases on this page")
    cases: list[Case]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


class LeadOut(Lead):
    status: str = Field(
        description="the cluster's latest verdict: confirmed | rejected | needs_review, "
        "or unverified"
    )


class LeadPage(BaseModel):
    count: int
    leads: list[LeadOut]
    next_cursor: str | None


class ClusterOut(BaseModel):
    cluster_id: str
    category: str
    geo: Geo
    urgent: bool
    max_score: float
    corroboration: int
    leads_total: int = Field(description="leads in the cluster")
    first_seen: datetime
    last_seen: datetime
    status: str = Field(description="latest verdict, or unverified")
    case_id: str | None = Field(description="the case opened for it, if any")
    leads: list[LeadOut] = Field(description="a page of the cluster's leads, oldest first")
    next_cursor: str | None


class StatusUpdate(BaseModel):
    """A status the handling unit reports; validated against the case state machine."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "in_progress", "note": "已安排维修人员到场"}]},
    )

    status: CaseStatus
    note: str = Field("", max_length=1000, description="required for returned (退单理由)")


class Reply(BaseModel):
    """The unit's answer to the people who reported the problem (答复)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "天桥台阶已于今日修复，感谢反映。"}]},
    )

    text: str = Field(min_length=1, max_length=2000)


class SiteCheckReport(BaseModel):
    """A 现场核查 by the handling unit: found as reported, or nothing found on site."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"result": "confirmed", "note": "台阶断裂属实，已围挡", "photo": None}]
        },
    )

    result: SiteResult
    note: str = Field("", max_length=1000)
    photo: str | None = Field(None, max_length=500, description="a link to the photo")


EXAMPLE_CASE_ID = _EXAMPLE_CASE_ID
