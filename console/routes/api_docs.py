"""The published contract: ``/openapi.json`` and the ``/api/docs`` page, for API callers.

The schema covers the ticket API and Open311 only (the console's pages are not an API).
Neither is public: a caller needs a role with the ``api`` permission (an api or admin
token, or an admin's session in a browser), so the schema shows nobody the surface who
could not use it. The docs page is rendered on the server from the same schema (the
console forbids scripts): every operation with its scopes, parameters and their examples,
the request body's example, and a curl line to try it; then the error codes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts
from starlette.responses import JSONResponse, Response

from console.callers import AnyApiCaller, admit, identify
from console.deps import PagesDep
from console.problems import CODES, PROBLEM_TYPE, ApiProblem

API_VERSION = "1.1.0"
DESCRIPTION = """\
先办（未诉先办）工单接口：读取工单、线索与线索簇（游标翻页、筛选、ETag），
承办单位回写工单状态、答复与现场核查结果，订阅 Webhook；以及 Open311 GeoReport v2 只读接口。

认证：`Authorization: Bearer <访问令牌>`（Open311 亦可用 `?api_key=`）。
令牌的权限范围：`cases:read`、`cases:write`、`webhooks:manage`。
错误：`/api/v1` 为 RFC 9457 `application/problem+json`（`code` 稳定），
Open311 为 `[{"code", "description"}]`。消费方指南见 docs/API.md。
"""

router = APIRouter(include_in_schema=False)
API_PREFIXES = ("/api/v1", "/open311/")


def build_openapi(app: FastAPI) -> dict[str, Any]:
    cached: dict[str, Any] | None = getattr(app.state, "openapi_schema", None)
    if cached is not None:
        return cached
    routes = [
        context
        for context in iter_route_contexts(app.routes)
        if (context.path or "").startswith(API_PREFIXES)
    ]
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=routes,
        tags=[
            {"name": "工单接口", "description": "工单、线索、线索簇；回写"},
            {"name": "Webhook 订阅", "description": "订阅、投递记录、重新投递"},
            {"name": "访问令牌", "description": "当前令牌、轮换；管理员签发与吊销"},
            {"name": "Open311 GeoReport v2", "description": "标准 311 客户端可读"},
        ],
    )
    schema["servers"] = [{"url": "/"}]
    _errors_as_problems(schema)
    app.state.openapi_schema = schema
    return schema


_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_ALWAYS = {
    "401": "没有或无效的访问令牌",
    "403": "令牌缺少权限范围",
    "422": "请求参数不正确",
    "429": "请求过于频繁（见 Retry-After）",
}


def _errors_as_problems(schema: dict[str, Any]) -> None:
    """Every ``/api/v1`` error as ``application/problem+json`` with the Problem schema, the
    errors any operation can give listed on each (routes from other modules included)."""
    for path, item in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for op in item.values():
            responses = op.setdefault("responses", {})
            for status, description in _ALWAYS.items():
                responses.setdefault(status, {"description": description})
            if "{" in path:
                responses.setdefault("404", {"description": "没有找到"})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {PROBLEM_TYPE: {"schema": _PROBLEM}}
    components = schema.get("components", {}).get("schemas", {})
    text = json.dumps(schema["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"schemas/{unused}" not in text:
            components.pop(unused, None)


@router.get("/openapi.json")
async def openapi_json(request: Request, user: AnyApiCaller) -> Response:
    return JSONResponse(build_openapi(request.app))


def _example_value(param: dict[str, Any]) -> Any:
    examples = param.get("examples") or {}
    for example in examples.values():
        if isinstance(example, dict) and "value" in example:
            return example["value"]
    return param.get("example")


def _body_example(operation: dict[str, Any], schema: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref", "")
    if not ref:
        return None
    model = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    examples = model.get("examples") or []
    return examples[0] if examples else None


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation as the docs page shows it, with a curl line built from its examples."""
    out = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            params = op.get("parameters", [])
            scopes = sorted({s for req in op.get("security", []) for v in req.values() for s in v})
            url = path
            query: dict[str, str] = {}
            for p in params:
                value = _example_value(p)
                if p["in"] == "path":
                    url = url.replace(
                        "{" + p["name"] + "}", quote(str(value or "XB-3F2A9C01D4E7"), safe="")
                    )
                elif p["in"] == "query" and value is not None:
                    query[p["name"]] = str(value)
            body = _body_example(op, schema)
            target = url + ("?" + urlencode(query) if query else "")
            curl = [f"curl -sS -X {method.upper()} 'http://127.0.0.1:8000{target}'"]
            curl.append('-H "Authorization: Bearer $XIANBAN_TOKEN"')
            if body is not None:
                curl.append("-H 'Content-Type: application/json'")
                curl.append(f"-d '{json.dumps(body, ensure_ascii=False)}'")
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "tag": (op.get("tags") or [""])[0],
                    "scopes": scopes,
                    "params": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                            "example": _example_value(p),
                        }
                        for p in params
                    ],
                    "body": json.dumps(body, ensure_ascii=False, indent=2) if body else None,
                    "responses": sorted(op.get("responses", {})),
                    "curl": " \\\n  ".join(curl),
                    "anchor": f"{method}-{path}".replace("/", "-").strip("-"),
                }
            )
    return out


@router.get("/api/docs")
async def docs_page(request: Request, pages: PagesDep) -> Response:
    principal = await identify(request)
    if principal is None:
        raise ApiProblem(
            "unauthenticated",
            "请先登录（页面）或提供访问令牌（接口）",
            headers={"WWW-Authenticate": "Bearer"},
        )
    admit(request, principal, [])
    schema = build_openapi(request.app)
    return pages.render(
        request,
        "api_docs.html",
        user=principal,
        title=schema["info"]["title"],
        version=schema["info"]["version"],
        operations=operations(schema),
        codes=[(code, status, title) for code, (status, title) in CODES.items()],
    )
