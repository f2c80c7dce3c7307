"""The console: analysts' queue, ops pages, the ticket API and Open311, in one FastAPI app.

The app owns no background work and opens nothing: the wiring hands it a store, a
``publish`` function onto the bus and the settings, and serves it with uvicorn. Every
route except ``/healthz``, the login page and the stylesheet requires a role (see
``console.auth``); refusals are 401/403 with a Chinese message, as an HTML page for a
browser and as JSON for the API.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from console.auth import (
    AuthError,
    Gate,
    Role,
    gate_of,
    secret_from_env,
    start_up_token,
    tokens_from_env,
)
from console.deps import Publish
from console.problems import ApiProblem, for_status, machine_error
from console.rendering import Pages
from console.responses import MaskedJSONResponse
from console.routes import (
    api,
    api_docs,
    api_tokens,
    api_webhooks,
    audit,
    cases,
    deadletters,
    health,
    open311,
    overview,
    reports,
    review,
    review_actions,
    session,
    similar,
    site_checks,
    sources,
)
from xianban.settings import Settings

if TYPE_CHECKING:
    from xianban.store import Store

STATIC_DIR = Path(__file__).parent / "static"
_MACHINE_PREFIXES = ("/api/", "/open311/", "/metrics")
# The pages need no script at all, so the policy forbids every script: even if escaping
# ever failed, an injected <script> from a post would not run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(
    *,
    store: Store,
    publish: Publish | None,
    settings: Settings,
    tokens: Mapping[str, Role] | None = None,
) -> FastAPI:
    """Build the console. ``tokens`` default to ``XIANBAN_CONSOLE_TOKENS``; with none at
    all, a start-up admin token is made and its login link printed (``app.state.login_url``).
    """
    grants = dict(tokens) if tokens is not None else tokens_from_env(os.environ)
    login_url = None
    if not grants:
        grants, login_url = start_up_token(login_base=settings.console_address)
    gate = Gate(grants, secret=secret_from_env(os.environ))

    # No public schema or docs pages: /openapi.json and /api/docs are served by
    # console.routes.api_docs to callers of the API (every route but three requires a role).
    app = FastAPI(
        title="先办 xianban 工单接口",
        version=api_docs.API_VERSION,
        description=api_docs.DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.store = store
    app.state.settings = settings
    app.state.publish = publish
    app.state.gate = gate
    app.state.pages = Pages(gate)
    app.state.login_url = login_url

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        health,
        session,
        overview,
        review_actions,
        review,
        cases,
        reports,
        similar,
        sources,
        deadletters,
        audit,
        api,
        api_webhooks,
        api_tokens,
        api_docs,
        site_checks,
        open311,
    ):
        app.include_router(module.router)
    app.middleware("http")(_security_headers)
    app.add_exception_handler(ApiProblem, _problem)  # type: ignore[arg-type]
    app.add_exception_handler(AuthError, _refuse)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    return app


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def wants_json(request: Request) -> bool:
    """Machines get JSON errors; a browser (asking for HTML) gets a page."""
    if request.url.path.startswith(_MACHINE_PREFIXES):
        return True
    return "text/html" not in request.headers.get("accept", "")


def api_path(request: Request) -> bool:
    """The ticket API and Open311 answer errors in their own shapes (console.problems)."""
    return request.url.path.startswith(("/api/", "/open311/"))


async def _problem(request: Request, exc: ApiProblem) -> Response:
    return machine_error(request, exc.code, exc.detail, headers=exc.headers, extra=exc.extra)


async def _refuse(request: Request, exc: AuthError) -> Response:
    if api_path(request):
        code = "unauthenticated" if exc.status_code == 401 else "forbidden_role"
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return machine_error(request, code, exc.message, headers=headers)
    if wants_json(request):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse({"detail": exc.message}, exc.status_code, headers=headers)
    if exc.status_code == 401 and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return session.login_page(request, message=exc.message, next_url=target, status_code=401)
    pages: Pages = request.app.state.pages
    return pages.render(
        request,
        "error.html",
        user=None,
        status_code=exc.status_code,
        code=exc.status_code,
        message=exc.message,
    )


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if api_path(request):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"没有这个接口：{request.url.path}"
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"{request.url.path} 不支持 {request.method} 请求"
        return machine_error(
            request,
            for_status(exc.status_code),
            detail,
            status=exc.status_code,
            headers=dict(exc.headers) if exc.headers else None,
        )
    if wants_json(request):
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
    pages: Pages = request.app.state.pages
    return pages.render(
        request,
        "error.html",
        user=gate_of(request).caller(request),
        status_code=exc.status_code,
        code=exc.status_code,
        message=str(exc.detail),
    )


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    """422 naming each bad field, without echoing the input back (it may hold a phone number)."""
    problems = [
        {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
        for err in exc.errors()
    ]
    message = "请求参数不正确：" + "；".join(f"{p['field']}：{p['problem']}" for p in problems)
    if api_path(request):
        status = 400 if request.url.path.startswith("/open311/") else 422
        return machine_error(
            request, "invalid_parameter", message, status=status, extra={"problems": problems}
        )
    if wants_json(request):
        return MaskedJSONResponse({"detail": message, "problems": problems}, status_code=422)
    pages: Pages = request.app.state.pages
    user = gate_of(request).caller(request)
    return pages.render(
        request, "error.html", user=user, status_code=422, code=422, message=message
    )
