"""Who is calling the ticket API and Open311, and may they: token, role, scope, rate.

``/api/v1`` takes ``Authorization: Bearer <token>``; Open311 also takes ``?api_key=``, as
GeoReport v2 has it, and with ``api.open311_public`` answers reads without any key. A
token is one of ``XIANBAN_CONSOLE_TOKENS`` (role api or admin: every scope) or a consumer
token from the store (``console.tokens``: its own scopes). A console session of a role
with the ``api`` permission may read too (the docs page and schema in a browser).

Routes declare what they need as ``Security(api_caller, scopes=["cases:read"])``, so the
OpenAPI schema lists each operation's scopes; a caller without one gets 403
``missing_scope``, one over its rate 429 ``rate_limited``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from console import tokens
from console.auth import ROLE_LABELS, SESSION_COOKIE, Permission, Principal, gate_of
from console.problems import ApiProblem
from console.tokens import LastUsed, RateLimiter
from xianban.settings import Settings
from xianban.store import Store

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="`Authorization: Bearer <访问令牌>`；令牌的权限范围见各接口的 security。",
)
api_key_scheme = APIKeyQuery(
    name="api_key",
    auto_error=False,
    scheme_name="api_key",
    description="Open311 GeoReport v2 的 `api_key` 查询参数（与 Bearer 令牌相同）。",
)


def _state_of(request: Request) -> tuple[Store, Settings, RateLimiter, LastUsed]:
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        limiter = state.rate_limiter = RateLimiter(state.settings.api.rate_per_minute)
    last_used: LastUsed | None = getattr(state, "token_last_used", None)
    if last_used is None:
        last_used = state.token_last_used = LastUsed()
    return state.store, state.settings, limiter, last_used


async def _from_token(request: Request, secret: str) -> Principal:
    gate = gate_of(request)
    role = gate.role_for_token(secret)
    if role is not None:
        return gate.bearer(secret)
    store, _, _, last_used = _state_of(request)
    token = await tokens.lookup(store, secret)
    if token is None:
        raise ApiProblem(
            "invalid_token", "访问令牌无效或已停用", headers={"WWW-Authenticate": "Bearer"}
        )
    await last_used.touch(store, token.token_id)
    return Principal(
        name=f"consumer:{token.consumer}",
        role="api",
        via="bearer",
        scopes=frozenset(token.scopes),
        consumer=token.consumer,
        token_id=token.token_id,
        departments=token.departments,
    )


def _bearer_of(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(
            "unauthenticated",
            "Authorization 头格式应为：Bearer <访问令牌>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


async def identify(request: Request, *, api_key: str | None = None) -> Principal | None:
    """The caller as proved by a bearer token, an ``api_key`` or a session; None if nothing."""
    secret = _bearer_of(request)
    if secret is None and api_key:
        secret = api_key
    if secret is not None:
        return await _from_token(request, secret)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = gate_of(request).read_session(cookie)
        if principal is None:
            raise ApiProblem(
                "unauthenticated", "登录已过期，请重新登录", headers={"WWW-Authenticate": "Bearer"}
            )
        return principal
    return None


def admit(
    request: Request,
    principal: Principal,
    scopes: list[str],
    *,
    permission: Permission = "api",
) -> Principal:
    """Role, scopes and rate of an identified caller; raises the problem that stops it."""
    if not principal.can(permission):
        raise ApiProblem(
            "forbidden_role", f"当前角色（{ROLE_LABELS[principal.role]}）无权执行此操作"
        )
    if principal.via == "session" and request.method not in ("GET", "HEAD"):
        raise ApiProblem(
            "unauthenticated",
            "接口的写操作只接受访问令牌（Authorization: Bearer），不接受登录会话",
            headers={"WWW-Authenticate": "Bearer"},
        )
    missing = [s for s in scopes if not principal.has_scope(s)]
    if missing:
        raise ApiProblem(
            "missing_scope",
            f"访问令牌无权执行此操作：缺少权限范围 {'、'.join(missing)}",
            extra={"required_scopes": scopes},
        )
    _, _, limiter, _ = _state_of(request)
    allowance = limiter.take(principal.rate_key)
    request.state.rate_allowance = allowance
    if not allowance.allowed:
        raise ApiProblem(
            "rate_limited",
            f"请求过于频繁：每个令牌每分钟最多 {allowance.limit} 次，"
            f"请 {allowance.retry_after_s} 秒后重试",
            headers={
                "Retry-After": str(allowance.retry_after_s),
                "RateLimit-Limit": str(allowance.limit),
                "RateLimit-Remaining": "0",
            },
        )
    return principal


NO_TOKEN = "请提供访问令牌：Authorization: Bearer <访问令牌>"


async def api_caller(
    request: Request,
    security_scopes: SecurityScopes,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    principal = await identify(request)
    if principal is None:
        raise ApiProblem("unauthenticated", NO_TOKEN, headers={"WWW-Authenticate": "Bearer"})
    return admit(request, principal, security_scopes.scopes)


async def open311_caller(
    request: Request,
    security_scopes: SecurityScopes,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal | None:
    """Like ``api_caller``, with ``api_key``; None for an anonymous read when reads are open."""
    principal = await identify(request, api_key=api_key)
    if principal is None:
        settings: Settings = request.app.state.settings
        if settings.api.open311_public and request.method in ("GET", "HEAD"):
            return None
        raise ApiProblem(
            "unauthenticated",
            "请提供访问令牌：api_key 查询参数或 Authorization: Bearer <访问令牌>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return admit(request, principal, security_scopes.scopes)


async def token_admin(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """An admin (configured admin token or session) managing consumers' tokens."""
    principal = await identify(request)
    if principal is None:
        raise ApiProblem("unauthenticated", NO_TOKEN, headers={"WWW-Authenticate": "Bearer"})
    return admit(request, principal, [], permission="tokens")


TokenAdmin = Annotated[Principal, Depends(token_admin)]
Reader = Annotated[Principal, Security(api_caller, scopes=["cases:read"])]
Writer = Annotated[Principal, Security(api_caller, scopes=["cases:write"])]
HookManager = Annotated[Principal, Security(api_caller, scopes=["webhooks:manage"])]
AnyApiCaller = Annotated[Principal, Security(api_caller, scopes=[])]
Open311Reader = Annotated[Principal | None, Security(open311_caller, scopes=["cases:read"])]
