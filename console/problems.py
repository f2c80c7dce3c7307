"""Ticket API errors as RFC 9457 problem details (``application/problem+json``).

Every error of ``/api/v1`` is one document::

    {"type": "/api/docs#problem-case_not_found", "title": "没有找到工单", "status": 404,
     "detail": "没有找到工单 XB-0001", "instance": "/api/v1/cases/XB-0001",
     "code": "case_not_found"}

``code`` is stable (consumers branch on it; the Chinese texts may be reworded), ``type``
points at its entry on the API docs page, and validation errors add ``problems``, one per
bad field. ``CODES`` is the whole list, with each code's status and title.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from console.responses import MaskedJSONResponse

PROBLEM_TYPE = "application/problem+json"

CODES: dict[str, tuple[int, str]] = {
    "unauthenticated": (401, "需要访问令牌"),
    "invalid_token": (401, "访问令牌无效或已停用"),
    "forbidden_role": (403, "角色无权访问接口"),
    "missing_scope": (403, "访问令牌缺少所需权限范围"),
    "case_out_of_scope": (403, "该工单不在令牌的回写范围内"),
    "case_not_found": (404, "没有找到工单"),
    "lead_not_found": (404, "没有找到线索"),
    "cluster_not_found": (404, "没有找到线索簇"),
    "webhook_not_found": (404, "没有找到订阅"),
    "delivery_not_found": (404, "没有找到投递记录"),
    "token_not_found": (404, "没有找到访问令牌"),
    "not_found": (404, "没有这个接口"),
    "method_not_allowed": (405, "不支持该请求方法"),
    "not_acceptable": (406, "无法提供所要求的格式"),
    "invalid_parameter": (422, "请求参数不正确"),
    "invalid_cursor": (400, "翻页游标无效"),
    "invalid_time": (400, "时间不存在或格式不对"),
    "invalid_transition": (409, "工单状态不允许此操作"),
    "precondition_failed": (412, "工单已被修改（If-Match 不符）"),
    "token_not_rotatable": (409, "配置文件中的令牌不能经接口轮换"),
    "webhook_url_refused": (403, "订阅地址不被允许"),
    "rate_limited": (429, "请求过于频繁"),
    "unavailable": (503, "服务暂不可用"),
}


class Problem(BaseModel):
    """RFC 9457 problem details, with our stable ``code``."""

    type: str = Field(examples=["/api/docs#problem-case_not_found"])
    title: str = Field(examples=["没有找到工单"])
    status: int = Field(ge=400, le=599, examples=[404])
    detail: str = Field(examples=["没有找到工单 XB-0001"])
    instance: str = Field(examples=["/api/v1/cases/XB-0001"])
    code: str = Field(examples=["case_not_found"])
    problems: list[dict[str, str]] | None = Field(
        None, description="validation errors: one {field, problem} per bad field"
    )


class ApiProblem(Exception):
    """Raise in a route to answer with a problem document."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if code not in CODES:
            raise ValueError(f"unknown problem code {code!r}")
        super().__init__(detail)
        self.code = code
        self.status = CODES[code][0]
        self.detail = detail
        self.headers = headers
        self.extra = extra or {}


class ProblemResponse(MaskedJSONResponse):
    media_type = PROBLEM_TYPE


def problem_response(
    request: Request,
    code: str,
    detail: str,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> ProblemResponse:
    default, title = CODES[code]
    status = status or default
    body: dict[str, Any] = {
        "type": f"/api/docs#problem-{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        **(extra or {}),
    }
    return ProblemResponse(body, status_code=status, headers=headers)


def for_status(status: int) -> str:
    """The generic code for an HTTP status raised by the framework (404, 405 …)."""
    return {
        401: "unauthenticated",
        403: "forbidden_role",
        404: "not_found",
        405: "method_not_allowed",
        406: "not_acceptable",
        409: "invalid_transition",
        412: "precondition_failed",
        422: "invalid_parameter",
        429: "rate_limited",
    }.get(status, "invalid_parameter" if status < 500 else "unavailable")


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI response entry: a problem document, as ``application/problem+json``."""
    return {"model": Problem, "content": {PROBLEM_TYPE: {}}, "description": description}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: problem_doc(title)
    for status, title in (
        (401, "没有或无效的访问令牌"),
        (403, "令牌缺少权限范围，或工单不在其范围内"),
        (422, "请求参数不正确"),
        (429, "请求过于频繁（见 Retry-After）"),
    )
}


def wants_xml(request: Request) -> bool:
    return request.url.path.endswith(".xml")


def machine_error(
    request: Request,
    code: str,
    detail: str,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """The error in the caller's protocol: GeoReport's list (JSON or XML) under
    ``/open311/``, a problem document everywhere else."""
    from console import georeport

    if request.url.path.startswith("/open311/"):
        status = status or CODES[code][0]
        if status == 422:  # GeoReport clients know 400 for a bad request
            status = 400
        listing = georeport.errors(status, detail)
        if wants_xml(request):
            return Response(
                georeport.to_xml("errors", listing),
                status_code=status,
                headers=headers,
                media_type="text/xml; charset=utf-8",
            )
        return MaskedJSONResponse(listing, status_code=status, headers=headers)
    return problem_response(request, code, detail, status=status, headers=headers, extra=extra)
