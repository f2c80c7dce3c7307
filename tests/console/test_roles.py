"""Every route says who may call it; a new route nobody classified fails here."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, Route

from console.auth import ROLE_PERMISSIONS, ROLES, Permission, Role
from tests.console.conftest import bearer

PUBLIC = "public"
SIGNED_IN = "signed_in"

# (method, path) -> what the caller needs. Keep in step with the routers, on purpose.
ROUTES: dict[tuple[str, str], Permission | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    ("POST", "/logout"): SIGNED_IN,
    ("GET", "/"): "view",
    ("GET", "/cases"): "view",
    ("GET", "/cases/{case_id}"): "view",
    ("POST", "/cases/{case_id}/closure"): "review",
    ("POST", "/cases/{case_id}/follow-up"): "review",
    ("GET", "/reports"): "view",
    ("GET", "/reports/map"): "view",
    ("GET", "/reports/briefing.{fmt}"): "view",
    ("GET", "/similar"): "view",
    ("GET", "/similar/{group_id}"): "view",
    ("POST", "/similar/{group_id}"): "govern",
    ("POST", "/similar/{group_id}/follow"): "govern",
    ("POST", "/similar/{group_id}/unfollow"): "govern",
    ("GET", "/review"): "review",
    ("POST", "/review/{cluster_id}/confirm"): "review",
    ("POST", "/review/{cluster_id}/reject"): "review",
    ("POST", "/review/{cluster_id}/amend"): "review",
    ("GET", "/review/{cluster_id}"): "review",
    ("POST", "/review/{cluster_id}/merge"): "review",
    ("POST", "/review/{cluster_id}/split"): "review",
    ("POST", "/review/{cluster_id}/site-check"): "review",
    ("POST", "/review/{cluster_id}/site-check/{check_id}"): "review",
    ("POST", "/review/bulk"): "review",
    ("GET", "/sources"): "operate",
    ("POST", "/sources/{source}/pause"): "operate",
    ("POST", "/sources/{source}/resume"): "operate",
    ("POST", "/sources/{source}/rerun"): "operate",
    ("POST", "/sources/{source}/login"): "operate",
    ("POST", "/sources/{source}/login/check"): "operate",
    ("GET", "/dead-letters"): "operate",
    ("GET", "/metrics"): "operate",
    ("GET", "/audit"): "audit",
    ("GET", "/openapi.json"): "api",
    ("GET", "/api/docs"): "api",
    ("GET", "/api/v1/cases"): "api",
    ("GET", "/api/v1/cases/{case_id}"): "api",
    ("POST", "/api/v1/cases/{case_id}/status"): "api",
    ("POST", "/api/v1/cases/{case_id}/replies"): "api",
    ("POST", "/api/v1/cases/{case_id}/site-check"): "api",
    ("GET", "/api/v1/leads"): "api",
    ("GET", "/api/v1/leads/{lead_id}"): "api",
    ("GET", "/api/v1/clusters/{cluster_id}"): "api",
    ("GET", "/api/v1/site-checks"): "api",
    ("GET", "/api/v1/site-checks/{check_id}"): "api",
    ("POST", "/api/v1/site-checks/{check_id}"): "api",
    ("GET", "/api/v1/webhooks"): "api",
    ("POST", "/api/v1/webhooks"): "api",
    ("GET", "/api/v1/webhooks/{subscription_id}"): "api",
    ("DELETE", "/api/v1/webhooks/{subscription_id}"): "api",
    ("POST", "/api/v1/webhooks/{subscription_id}/rotate-secret"): "api",
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries"): "api",
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}"): "api",
    ("POST", "/api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"): "api",
    ("GET", "/api/v1/tokens/current"): "api",
    ("POST", "/api/v1/tokens/current/rotate"): "api",
    ("GET", "/api/v1/tokens"): "tokens",
    ("POST", "/api/v1/tokens"): "tokens",
    ("DELETE", "/api/v1/tokens/{token_id}"): "tokens",
    ("GET", "/open311/discovery.json"): "api",
    ("GET", "/open311/discovery.xml"): "api",
    ("GET", "/open311/v2/services.json"): "api",
    ("GET", "/open311/v2/services.xml"): "api",
    ("GET", "/open311/v2/services/{service_code}.json"): "api",
    ("GET", "/open311/v2/services/{service_code}.xml"): "api",
    ("GET", "/open311/v2/requests.json"): "api",
    ("GET", "/open311/v2/requests.xml"): "api",
    ("GET", "/open311/v2/requests/{request_id}.json"): "api",
    ("GET", "/open311/v2/requests/{request_id}.xml"): "api",
}
GUARDED = [(m, p, need) for (m, p), need in ROUTES.items() if need != PUBLIC]


def _allowed(need: Permission | str, role: Role) -> bool:
    return need == SIGNED_IN or need in ROLE_PERMISSIONS[role]


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "no-such-id", path)


def _message(response: httpx.Response) -> str:
    """The refusal's text: ``detail`` (pages, problem documents) or Open311's error list."""
    if response.headers["content-type"].startswith("text/xml"):
        return response.text
    body = response.json()
    return str(body[0]["description"]) if isinstance(body, list) else str(body["detail"])


def test_every_route_is_classified(app: FastAPI) -> None:
    served: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):  # routers included with their prefix
        route, path = context.original_route, context.path
        assert path is not None
        if isinstance(route, Route):
            served |= {(m, path) for m in route.methods or () if m != "HEAD"}
        elif isinstance(route, Mount):
            served.add(("GET", path))
        else:
            pytest.fail(f"unexpected kind of route: {route!r}")
    assert served == set(ROUTES), "classify new routes in ROUTES (and guard them)"


@pytest.mark.parametrize(("method", "path", "need"), GUARDED)
async def test_anonymous_callers_are_refused(
    client: httpx.AsyncClient, method: str, path: str, need: str
) -> None:
    response = await client.request(method, _url(path))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "登录" in _message(response) or "令牌" in _message(response)


@pytest.mark.parametrize(("method", "path", "need"), GUARDED)
async def test_a_bad_token_is_refused(
    client: httpx.AsyncClient, method: str, path: str, need: str
) -> None:
    headers = {"Authorization": "Bearer not-a-real-token-at-all"}
    response = await client.request(method, _url(path), headers=headers)
    assert response.status_code == 401
    assert "访问令牌无效或已停用" in _message(response)


@pytest.mark.parametrize(("method", "path", "need"), GUARDED)
async def test_roles_without_the_permission_are_refused(
    client: httpx.AsyncClient, method: str, path: str, need: str
) -> None:
    refused = [role for role in ROLES if not _allowed(need, role)]
    for role in refused:
        response = await client.request(method, _url(path), headers=bearer(role))
        assert response.status_code == 403, (role, response.text)
        assert "无权" in _message(response)


@pytest.mark.parametrize(("method", "path", "need"), GUARDED)
async def test_roles_with_the_permission_get_through(
    client: httpx.AsyncClient, method: str, path: str, need: str
) -> None:
    allowed = [role for role in ROLES if _allowed(need, role)]
    assert allowed
    for role in allowed:
        response = await client.request(method, _url(path), headers=bearer(role))
        assert response.status_code not in (401, 403), (role, response.text)


async def test_public_routes_need_no_login(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert "登录控制台" in (await client.get("/login")).text
    assert (await client.get("/static/console.css")).status_code == 200


async def test_a_malformed_authorization_header_is_explained(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/cases", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


async def test_a_browser_without_a_session_gets_the_login_form(client: httpx.AsyncClient) -> None:
    response = await client.get("/review", headers={"Accept": "text/html"})
    assert response.status_code == 401
    assert "登录控制台" in response.text
    assert 'name="next" value="/review"' in response.text


async def test_a_browser_with_the_wrong_role_gets_a_chinese_page(
    client: httpx.AsyncClient,
) -> None:
    headers = {**bearer("viewer"), "Accept": "text/html"}
    response = await client.get("/audit", headers=headers)
    assert response.status_code == 403
    assert "没有权限" in response.text
    assert "当前角色（只读）无权执行此操作" in response.text
