"""Open311 GeoReport v2, read side, so standard 311 clients can follow our cases.

``services``, ``services/{code}``, ``requests`` (its standard filters, over every case in
the store), ``requests/{id}`` and ``discovery``, each as ``.json`` and ``.xml``. Services
are the 18 categories; a request is one of our cases, its id the case id, its text what a
citizen may read (``console.georeport``). Reads need ``cases:read``, given as ``api_key``
(as GeoReport has it) or a Bearer header, unless ``api.open311_public`` opens them.
Errors are GeoReport's ``[{"code", "description"}]`` (``<errors>`` in XML).

``requests`` follows the specification's date rules: without dates, the last 90 days;
with one, 90 days from (or to) it; a range may not span more than 90 days.
``service_request_id`` overrides every other filter. ``page`` and ``page_size`` (1000 at
most, the default) page through larger answers, newest first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from console.callers import Open311Reader
from console.deps import SettingsDep, StoreDep
from console.georeport import (
    CHINA,
    CLOSED,
    W3C_PATTERN,
    discovery,
    parse_w3c,
    service,
    service_definition,
    service_request,
    to_xml,
)
from console.places import Centroids
from console.problems import ApiProblem
from console.responses import MaskedJSONResponse
from xianban.records import CATEGORIES, utcnow
from xianban.settings import Settings
from xianban.store.feeds import CaseFeedFilter, requests_page

router = APIRouter(prefix="/open311", tags=["Open311 GeoReport v2"])

MAX_REQUESTS = 1000
WINDOW = timedelta(days=90)
OPEN_STATUSES = ("pending", "filed", "returned", "dispatched", "in_progress")
Format = Literal["json", "xml"]
_XML = "text/xml; charset=utf-8"
_ERRORS = {
    400: {"description": "参数不正确（GeoReport 错误列表）"},
    401: {"description": "需要 api_key 或 Bearer 令牌"},
    403: {"description": "令牌缺少 cases:read"},
    404: {"description": "没有找到"},
    429: {"description": "请求过于频繁"},
}
_ERROR_LIST = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "required": ["code", "description"],
    },
}


class _Bad(ApiProblem):
    def __init__(self, detail: str, *, code: str = "invalid_parameter") -> None:
        super().__init__(code, detail)


def _centroids(request: Request) -> Centroids:
    state = request.app.state
    found: Centroids | None = getattr(state, "centroids", None)
    if found is None:
        settings: Settings = state.settings
        found = state.centroids = Centroids.load(settings.configs_dir)
    return found


def _jurisdiction(settings: Settings, jurisdiction_id: str | None) -> None:
    if jurisdiction_id and jurisdiction_id != settings.api.open311_jurisdiction:
        raise ApiProblem(
            "not_found",
            f"未知的 jurisdiction_id：{jurisdiction_id}"
            f"（本接口为 {settings.api.open311_jurisdiction}）",
        )


def _answer(fmt: Format, root: str, value: Any) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, value), media_type=_XML)
    return MaskedJSONResponse(value)


def _moment(name: str, text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_w3c(text)
    except ValueError as exc:
        raise _Bad(f"{name} {exc}") from None


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None and end is None:
        end = utcnow()
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        raise _Bad("end_date 早于 start_date")
    if end - start > WINDOW:
        raise _Bad("start_date 与 end_date 相隔不能超过 90 天（GeoReport v2 规定）")
    return start, end


def _obj(fields: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": fields, "required": list(required or fields)}


_S = {"type": "string"}
_S_OR_NULL = {"type": ["string", "null"]}
_NUM_OR_NULL = {"type": ["number", "null"]}
SERVICE_SCHEMA = _obj(
    {
        "service_code": _S,
        "service_name": _S,
        "description": _S,
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": _S,
        "group": _S,
    }
)
REQUEST_SCHEMA = _obj(
    {
        "service_request_id": _S,
        "status": {"enum": ["open", "closed"]},
        "status_notes": _S,
        "service_name": _S,
        "service_code": _S,
        "description": _S,
        "agency_responsible": _S,
        "service_notice": _S,
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "expected_datetime": {"type": ["string", "null"], "format": "date-time"},
        "address": _S_OR_NULL,
        "address_id": _S_OR_NULL,
        "zipcode": _S_OR_NULL,
        "lat": _NUM_OR_NULL,
        "long": _NUM_OR_NULL,
        "media_url": _S_OR_NULL,
    }
)
JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    "discovery": _obj(
        {
            "changeset": _S,
            "contact": _S,
            "key_service": _S,
            "endpoints": {
                "type": "array",
                "items": _obj(
                    {
                        "specification": _S,
                        "url": _S,
                        "changeset": _S,
                        "type": _S,
                        "formats": {"type": "array", "items": _S},
                    }
                ),
            },
        }
    ),
    "services": {"type": "array", "items": SERVICE_SCHEMA},
    "service_definition": _obj(
        {"service_code": _S, "attributes": {"type": "array", "items": {"type": "object"}}}
    ),
    "service_requests": {"type": "array", "items": REQUEST_SCHEMA},
}


def _responses(kind: str, root: str, fmt: Format) -> dict[int | str, dict[str, Any]]:
    if fmt == "json":
        ok: dict[str, Any] = {"application/json": {"schema": JSON_SCHEMAS[root]}}
        bad: dict[str, Any] = {"application/json": {"schema": _ERROR_LIST}}
    else:
        ok = {"text/xml": {"schema": {"type": "string"}}}
        bad = {"text/xml": {"schema": {"type": "string"}}}
    out: dict[int | str, dict[str, Any]] = {200: {"description": kind, "content": ok}}
    return out | {status: {**entry, "content": bad} for status, entry in _ERRORS.items()}


Jurisdiction = Annotated[
    str | None, Query(max_length=64, description="可省略；给出时须为本接口的辖区")
]


def _route(
    path: str, summary: str, root: str
) -> Callable[[Callable[..., Awaitable[Response]]], None]:
    """Register the handler at ``path.json`` and ``path.xml``."""

    def register(handler: Callable[..., Awaitable[Response]]) -> None:
        for fmt in ("json", "xml"):
            router.add_api_route(
                f"{path}.{fmt}",
                _bind(handler, fmt),
                methods=["GET"],
                summary=f"{summary}（{fmt.upper()}）",
                responses=_responses(summary, root, fmt),
                response_class=MaskedJSONResponse,
                name=f"{handler.__name__}_{fmt}",
            )

    return register


def _bind(
    handler: Callable[..., Awaitable[Response]], fmt: Format
) -> Callable[..., Awaitable[Response]]:
    import functools
    import inspect

    @functools.wraps(handler)
    async def bound(*args: Any, **kwargs: Any) -> Response:
        return await handler(*args, fmt=fmt, **kwargs)

    signature = inspect.signature(handler)
    bound.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != "fmt"]
    )
    return bound


async def discovery_doc(
    request: Request,
    user: Open311Reader,
    settings: SettingsDep,
    *,
    fmt: Format,
) -> Response:
    base = str(request.base_url).rstrip("/")
    doc = discovery(
        base_url=base,
        contact=settings.api.open311_contact,
        changeset=datetime(2026, 12, 1, tzinfo=CHINA),
    )
    return _answer(fmt, "discovery", doc)


_route("/discovery", "服务发现", "discovery")(discovery_doc)


async def services(
    user: Open311Reader,
    settings: SettingsDep,
    jurisdiction_id: Jurisdiction = None,
    *,
    fmt: Format,
) -> Response:
    _jurisdiction(settings, jurisdiction_id)
    return _answer(fmt, "services", [service(code) for code in CATEGORIES])


_route("/v2/services", "服务类别（18 类）", "services")(services)


async def definition(
    service_code: Annotated[
        str,
        Path(max_length=64, openapi_examples={"噪声扰民": {"value": "noise"}}),
    ],
    user: Open311Reader,
    settings: SettingsDep,
    jurisdiction_id: Jurisdiction = None,
    *,
    fmt: Format,
) -> Response:
    _jurisdiction(settings, jurisdiction_id)
    if service_code not in CATEGORIES:
        raise ApiProblem("not_found", f"没有这个服务类别：{service_code}")
    return _answer(fmt, "service_definition", service_definition(service_code))


_route("/v2/services/{service_code}", "服务定义", "service_definition")(definition)


async def requests(
    request: Request,
    user: Open311Reader,
    store: StoreDep,
    settings: SettingsDep,
    service_request_id: Annotated[
        str | None,
        Query(max_length=5000, description="逗号分隔；给出时忽略其他条件"),
    ] = None,
    service_code: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="逗号分隔",
            openapi_examples={"市政设施": {"value": "municipal_facilities"}},
        ),
    ] = None,
    start_date: Annotated[
        str | None,
        Query(
            pattern=W3C_PATTERN,
            description="W3C 时间；无时区按北京时间",
            openapi_examples={"北京时间": {"value": "2026-11-20T00:00:00+08:00"}},
        ),
    ] = None,
    end_date: Annotated[str | None, Query(pattern=W3C_PATTERN, description="W3C 时间")] = None,
    status: Annotated[
        str | None, Query(max_length=32, description="open、closed，逗号分隔")
    ] = None,
    jurisdiction_id: Jurisdiction = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="扩展：页码")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_REQUESTS, description="扩展：每页条数")
    ] = MAX_REQUESTS,
    *,
    fmt: Format,
) -> Response:
    _jurisdiction(settings, jurisdiction_id)
    ids = tuple(i.strip() for i in (service_request_id or "").split(",") if i.strip())
    if ids:
        flt = CaseFeedFilter(case_ids=ids)
    else:
        codes = tuple(c.strip() for c in (service_code or "").split(",") if c.strip())
        unknown = sorted(set(codes) - set(CATEGORIES))
        if unknown:
            raise _Bad(f"未知的 service_code：{'、'.join(unknown)}")
        wanted = {s.strip() for s in (status or "").split(",") if s.strip()}
        if wanted - {"open", "closed"}:
            raise _Bad("status 只能是 open 或 closed（可逗号分隔）")
        statuses: tuple[str, ...] = ()
        if wanted == {"open"}:
            statuses = OPEN_STATUSES
        elif wanted == {"closed"}:
            statuses = tuple(CLOSED)
        start, end = _window(_moment("start_date", start_date), _moment("end_date", end_date))
        flt = CaseFeedFilter(categories=codes, statuses=statuses, opened_from=start, opened_to=end)
    cases = await requests_page(store, flt, offset=(page - 1) * page_size, limit=page_size)
    centroids = _centroids(request)
    return _answer(fmt, "service_requests", [service_request(c, centroids) for c in cases])


_route("/v2/requests", "服务请求列表", "service_requests")(requests)


async def one_request(
    request: Request,
    request_id: Annotated[
        str,
        Path(max_length=512, openapi_examples={"工单": {"value": "XB-3F2A9C01D4E7"}}),
    ],
    user: Open311Reader,
    store: StoreDep,
    settings: SettingsDep,
    jurisdiction_id: Jurisdiction = None,
    *,
    fmt: Format,
) -> Response:
    _jurisdiction(settings, jurisdiction_id)
    case = await store.get_case(request_id)
    if case is None:
        raise ApiProblem("case_not_found", f"没有找到服务请求 {request_id}")
    return _answer(fmt, "service_requests", [service_request(case, _centroids(request))])


_route("/v2/requests/{request_id}", "单个服务请求", "service_requests")(one_request)
