"""Logging in, the session cookie, CSRF on forms, tokens from the environment."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from console import create_app
from console.auth import (
    SESSION_COOKIE,
    SESSION_TTL_S,
    TOKENS_ENV,
    Gate,
    tokens_from_env,
)
from tests.console.conftest import TOKEN_OF, TOKENS, _hidden, log_in, tampered
from xianban.errors import ConfigError
from xianban.settings import Settings
from xianban.store import Store


async def test_login_sets_a_strict_http_only_session_and_audits(
    client: httpx.AsyncClient, store: Store
) -> None:
    page = await client.get("/login?next=/review")
    response = await client.post(
        "/login",
        data={
            "name": "李研判",
            "token": TOKEN_OF["analyst"],
            "csrf": _hidden(page.text, "csrf"),
            "next": "/review",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/review"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    queue = await client.get("/review")
    assert queue.status_code == 200
    assert "李研判" in queue.text
    rows = await store.list_audit(limit=10)
    assert [(r.actor, r.action) for r in rows] == [("李研判", "login")]


async def test_login_without_the_form_csrf_value_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/login")
    response = await client.post(
        "/login", data={"name": "x", "token": TOKEN_OF["admin"], "csrf": "forged"}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies
    assert "登录表单已过期" in response.text


async def test_a_wrong_token_fails_with_a_message_and_an_audit_row(
    client: httpx.AsyncClient, store: Store
) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "name": "mallory",
            "token": "guessed-token-123456",
            "csrf": _hidden(page.text, "csrf"),
        },
    )
    assert response.status_code == 401
    assert "用户名或访问令牌不正确" in response.text
    assert SESSION_COOKIE not in response.cookies
    assert [(r.actor, r.action) for r in await store.list_audit()] == [("mallory", "login_failed")]


async def test_a_bad_user_name_is_explained(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"name": "<b>x</b>", "token": TOKEN_OF["admin"], "csrf": _hidden(page.text, "csrf")},
    )
    assert response.status_code == 400
    assert "用户名须为" in response.text


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
async def test_login_never_redirects_off_site(client: httpx.AsyncClient, target: str) -> None:
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "name": "zhangwei",
            "token": TOKEN_OF["viewer"],
            "csrf": _hidden(page.text, "csrf"),
            "next": target,
        },
    )
    assert response.headers["location"] == "/"


async def test_session_forms_need_the_csrf_token(client: httpx.AsyncClient, store: Store) -> None:
    csrf = await log_in(client, "analyst")
    missing = await client.post("/logout")
    assert missing.status_code == 403
    assert "CSRF" in missing.json()["detail"]
    wrong = await client.post("/logout", data={"csrf": tampered(csrf)})
    assert wrong.status_code == 403
    out = await client.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert [r.action for r in await store.list_audit()] == ["logout", "login"]
    client.cookies.clear()
    assert (await client.get("/cases")).status_code == 401


async def test_a_tampered_session_cookie_is_refused(client: httpx.AsyncClient) -> None:
    await log_in(client, "viewer")
    value = client.cookies[SESSION_COOKIE]
    payload, _, mac = value.partition(".")
    client.cookies.set(SESSION_COOKIE, payload[:-2] + "xx." + mac, domain="console.test")
    response = await client.get("/cases")
    assert response.status_code == 401
    assert response.json()["detail"] == "登录已过期，请重新登录"


def test_sessions_expire_and_end_when_their_token_is_removed() -> None:
    secret = b"s" * 32
    gate = Gate(TOKENS, secret=secret)
    cookie = gate.issue_session(name="wang", token=TOKEN_OF["ops"], now=1_000_000)
    principal = gate.read_session(cookie, now=1_000_001)
    assert principal is not None
    assert (principal.name, principal.role, principal.via) == ("wang", "ops", "session")
    assert gate.read_session(cookie, now=1_000_000 + SESSION_TTL_S + 1) is None
    without_ops = {t: r for t, r in TOKENS.items() if r != "ops"}
    assert Gate(without_ops, secret=secret).read_session(cookie, now=1_000_001) is None
    assert Gate(TOKENS, secret=b"other" * 8).read_session(cookie, now=1_000_001) is None


def test_tokens_from_the_environment() -> None:
    env = {TOKENS_ENV: "aaaaaaaaaaaaaaaaaaaa:admin, bbbbbbbbbbbbbbbbbbbb:api"}
    assert tokens_from_env(env) == {"aaaaaaaaaaaaaaaaaaaa": "admin", "bbbbbbbbbbbbbbbbbbbb": "api"}
    assert tokens_from_env({}) == {}
    with pytest.raises(ConfigError, match="第 1 项：角色 'root' 不存在"):
        tokens_from_env({TOKENS_ENV: "aaaaaaaaaaaaaaaaaaaa:root"})
    with pytest.raises(ConfigError, match="格式应为 <令牌>:<角色>"):
        tokens_from_env({TOKENS_ENV: "no-role-here"})
    with pytest.raises(ConfigError, match="至少 16 个字符"):
        Gate({"short:": "admin"}, secret=b"x")


async def test_without_tokens_a_start_up_admin_link_is_printed(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(TOKENS_ENV, raising=False)
    app: FastAPI = create_app(store=store, publish=None, settings=Settings(console_port=8123))
    url = app.state.login_url
    assert url.startswith("http://127.0.0.1:8123/login?token=")
    assert url in capsys.readouterr().err
    token = url.partition("token=")[2]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
        page = await http.get(f"/login?token={token}")
        assert f'value="{token}"' in page.text
        assert "一次性管理员登录链接" in page.text
        audit = await http.get("/audit", headers={"Authorization": f"Bearer {token}"})
        assert audit.status_code == 200


async def test_non_ascii_cookies_and_csrf_values_are_refused_not_crashed(
    client: httpx.AsyncClient,
) -> None:
    raw_cookie = f"{SESSION_COOKIE}=载荷.签名".encode()
    assert (await client.get("/cases", headers={b"Cookie": raw_cookie})).status_code == 401
    await log_in(client, "analyst")
    response = await client.post("/logout", data={"csrf": "伪造的令牌"})
    assert response.status_code == 403
    await client.get("/login")
    login = await client.post(
        "/login", data={"name": "x", "token": TOKEN_OF["admin"], "csrf": "伪造"}
    )
    assert login.status_code == 403
