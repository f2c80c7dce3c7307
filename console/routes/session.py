"""Log in with a name and a token, log out; the only pages open to anonymous callers."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from console.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL_S,
    NotAuthenticated,
    same_secret,
    valid_user_name,
)
from console.deps import GateDep, SignedInForm, StoreDep
from console.rendering import Pages

router = APIRouter()


def safe_next(next_url: str | None) -> str:
    """Only a path on this site: ``//evil.example`` or ``https://...`` would be an open redirect."""
    if next_url and next_url.startswith("/") and not next_url.startswith(("//", "/\\")):
        return next_url
    return "/"


def login_page(
    request: Request,
    *,
    message: str = "",
    next_url: str | None = None,
    token: str = "",
    name: str = "",
    status_code: int = 200,
) -> Response:
    """The login form with a fresh double-submit CSRF value (there is no session yet)."""
    pages: Pages = request.app.state.pages
    csrf = secrets.token_urlsafe(16)
    response = pages.render(
        request,
        "login.html",
        user=None,
        status_code=status_code,
        message=message,
        next_url=safe_next(next_url),
        token=token,
        name=name,
        login_csrf=csrf,
        has_start_up_link=request.app.state.login_url is not None,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/", token: str = "") -> Response:
    return login_page(request, next_url=next, token=token)


@router.post("/login")
async def login(
    request: Request,
    gate: GateDep,
    store: StoreDep,
    name: Annotated[str, Form(max_length=64)] = "",
    token: Annotated[str, Form(max_length=512)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    name = name.strip()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf or not expected or not same_secret(csrf, expected):
        return login_page(
            request, message="登录表单已过期，请重新提交", next_url=next, name=name, status_code=403
        )
    if not valid_user_name(name):
        return login_page(
            request,
            message="用户名须为 1–32 个字符（中文、字母、数字、点、横线或下划线）",
            next_url=next,
            status_code=400,
        )
    try:
        cookie = gate.issue_session(name=name, token=token.strip())
    except NotAuthenticated as exc:
        await store.audit(actor=name, action="login_failed", target="console")
        return login_page(request, message=exc.message, next_url=next, name=name, status_code=401)
    principal = gate.read_session(cookie)
    assert principal is not None  # just issued
    await store.audit(actor=name, action="login", target="console", detail={"role": principal.role})
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(user: SignedInForm, store: StoreDep) -> Response:
    await store.audit(actor=user.name, action="logout", target="console")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
