"""Every API route, walked with a consumer token lacking each scope in turn: 403 exactly
where the route needs that scope, and the schema says so too."""

from __future__ import annotations

import re

import httpx
import pytest

from console import tokens
from console.tokens import SCOPES
from tests.console.conftest import bearer
from xianban.store import Store

# (method, path) -> the scope it needs ("" none beyond a consumer token, "admin": not
# for consumers at all). Keep in step with the routers, on purpose.
NEEDS: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/cases"): "cases:read",
    ("GET", "/api/v1/cases/{case_id}"): "cases:read",
    ("POST", "/api/v1/cases/{case_id}/status"): "cases:write",
    ("POST", "/api/v1/cases/{case_id}/replies"): "cases:write",
    ("POST", "/api/v1/cases/{case_id}/site-check"): "cases:write",
    ("GET", "/api/v1/leads"): "cases:read",
    ("GET", "/api/v1/leads/{lead_id}"): "cases:read",
    ("GET", "/api/v1/clusters/{cluster_id}"): "cases:read",
    ("GET", "/api/v1/site-checks"): "cases:read",
    ("GET", "/api/v1/site-checks/{check_id}"): "cases:read",
    ("POST", "/api/v1/site-checks/{check_id}"): "cases:write",
    ("GET", "/api/v1/webhooks"): "webhooks:manage",
    ("POST", "/api/v1/webhooks"): "webhooks:manage",
    ("GET", "/api/v1/webhooks/{subscription_id}"): "webhooks:manage",
    ("DELETE", "/api/v1/webhooks/{subscription_id}"): "webhooks:manage",
    ("POST", "/api/v1/webhooks/{subscription_id}/rotate-secret"): "webhooks:manage",
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries"): "webhooks:manage",
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}"): "webhooks:manage",
    (
        "POST",
        "/api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
    ): "webhooks:manage",
    ("GET", "/api/v1/tokens/current"): "",
    ("POST", "/api/v1/tokens/current/rotate"): "",
    ("GET", "/api/v1/tokens"): "admin",
    ("POST", "/api/v1/tokens"): "admin",
    ("DELETE", "/api/v1/tokens/{token_id}"): "admin",
    **{
        ("GET", f"/open311{path}.{fmt}"): "cases:read"
        for path in (
            "/discovery",
            "/v2/services",
            "/v2/services/{service_code}",
            "/v2/requests",
            "/v2/requests/{request_id}",
        )
        for fmt in ("json", "xml")
    },
}
BODIES: dict[str, dict[str, object]] = {
    "/status": {"status": "in_progress"},
    "/replies": {"text": "答复"},
    "/site-check": {"result": "confirmed"},
    "/api/v1/site-checks/{check_id}": {"result": "confirmed"},
    "/api/v1/webhooks": {"url": "https://93.184.215.14/x"},  # public, no DNS needed
    "/rotate-secret": {},
    "/rotate": {"grace_seconds": 60},
    "/api/v1/tokens": {"consumer": "x", "scopes": ["cases:read"]},
}


def _body(method: str, path: str) -> dict[str, object] | None:
    if method != "POST":
        return None
    for suffix, body in BODIES.items():
        if path.endswith(suffix):
            return body
    return None


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "no-such-id", path)


def _message(response: httpx.Response) -> tuple[str, str]:
    if response.status_code < 400 or not response.content:
        return "", ""
    if response.headers["content-type"].startswith("text/xml"):
        return "", response.text
    body = response.json()
    if isinstance(body, list):
        return "", str(body[0]["description"])
    return str(body.get("code", "")), str(body.get("detail", ""))


async def test_the_schema_lists_each_routes_scope(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json", headers=bearer("api"))).json()
    declared: dict[tuple[str, str], str] = {}
    for path, item in schema["paths"].items():
        for method, op in item.items():
            scopes = sorted({s for req in op.get("security", []) for v in req.values() for s in v})
            declared[(method.upper(), path)] = scopes[0] if scopes else ""
    expected = {k: ("" if v == "admin" else v) for k, v in NEEDS.items()}
    assert declared == expected


@pytest.mark.parametrize("missing", SCOPES)
async def test_a_token_lacking_a_scope_is_refused_exactly_where_it_is_needed(
    client: httpx.AsyncClient, store: Store, missing: str
) -> None:
    held = [s for s in SCOPES if s != missing]
    secret, _ = await tokens.issue(store, consumer="walker", scopes=held)
    headers = {"Authorization": f"Bearer {secret}"}
    for (method, path), need in NEEDS.items():
        response = await client.request(
            method, _url(path), headers=headers, json=_body(method, path)
        )
        code, message = _message(response)
        if need == "admin":
            assert response.status_code == 403, (method, path, response.text)
            assert "无权" in message
        elif need == missing:
            assert response.status_code == 403, (method, path, response.text)
            assert missing in message
            if path.startswith("/api/"):
                assert code == "missing_scope"
        else:
            assert response.status_code not in (401, 403), (method, path, response.text)


async def test_open311_takes_the_token_as_api_key_with_the_same_scopes(
    client: httpx.AsyncClient, store: Store
) -> None:
    lacking, _ = await tokens.issue(store, consumer="w", scopes=["cases:write"])
    reader, _ = await tokens.issue(store, consumer="r", scopes=["cases:read"])
    for _method, path in NEEDS:
        if not path.startswith("/open311/"):
            continue
        refused = await client.get(_url(path), params={"api_key": lacking})
        assert refused.status_code == 403, path
        allowed = await client.get(_url(path), params={"api_key": reader})
        assert allowed.status_code not in (401, 403), path
