"""Who may do what: roles, bearer tokens, the session cookie and CSRF tokens.

Tokens are shared secrets, one per role grant, from ``XIANBAN_CONSOLE_TOKENS``
(``secret:role,secret:role``) or handed to ``create_app``. When none is configured the
console makes a start-up admin token and prints a login link (as Jupyter does), so the
embedded demo needs no setup and is never open to whoever reaches the port.

API clients send ``Authorization: Bearer <token>``. People log in once with a token and a
name; the session is a signed cookie (HttpOnly, SameSite=Strict) that names the token's
fingerprint, so removing a token from the configuration ends its sessions too. Forms
posted with a session carry a CSRF token bound to that session; bearer requests need none
because a browser never attaches a bearer token on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from fastapi import Request

from xianban.errors import ConfigError

Role = Literal["viewer", "analyst", "leader", "ops", "admin", "api"]
Permission = Literal["view", "review", "govern", "operate", "audit", "api", "tokens"]

ROLES: tuple[Role, ...] = get_args(Role)
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    "viewer": frozenset({"view"}),
    "analyst": frozenset({"view", "review", "govern"}),
    "leader": frozenset({"view", "govern"}),  # 类案治理: tags, assigns and follows 类案
    "ops": frozenset({"view", "operate"}),
    "admin": frozenset(get_args(Permission)),
    "api": frozenset({"api"}),
}

# Scopes of the ticket API (console.tokens); configured api and admin tokens hold them all.
API_SCOPES = frozenset({"cases:read", "cases:write", "webhooks:manage"})
ROLE_SCOPES: Mapping[Role, frozenset[str]] = {"api": API_SCOPES, "admin": API_SCOPES}

SESSION_COOKIE = "xb_session"
LOGIN_CSRF_COOKIE = "xb_login_csrf"
SESSION_TTL_S = 12 * 3600
TOKENS_ENV = "XIANBAN_CONSOLE_TOKENS"
SECRET_ENV = "XIANBAN_CONSOLE_SECRET"
_USER_NAME = re.compile(r"^[\w.-]{1,32}$")


class AuthError(Exception):
    """A request the console refuses; ``message`` is shown to the user as it is."""

    status_code = 401

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticated(AuthError):
    status_code = 401


class Forbidden(AuthError):
    status_code = 403


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a name for the audit log, a role, and how they proved it."""

    name: str
    role: Role
    via: Literal["bearer", "session"]
    session_id: str | None = None
    scopes: frozenset[str] | None = None
    """A database token's scopes (``console.tokens``); None: those of the role."""
    consumer: str | None = None
    """The consumer a database token was issued to."""
    token_id: str | None = None
    departments: tuple[str, ...] = ()
    """Departments whose cases the token may write back for; empty: every case."""

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def has_scope(self, scope: str) -> bool:
        held = self.scopes if self.scopes is not None else ROLE_SCOPES.get(self.role, frozenset())
        return scope in held

    @property
    def rate_key(self) -> str:
        """What the rate limit counts by: the token (or the session's user)."""
        return self.token_id or f"{self.via}:{self.name}"


def _fingerprint(token: str) -> str:
    # Tokens are looked up by their hash, so a lookup leaks no timing about the secret.
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def as_role(value: object) -> Role | None:
    return next((r for r in ROLES if r == value), None)


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (str comparison raises)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def valid_user_name(name: str) -> bool:
    return bool(_USER_NAME.match(name))


class Gate:
    """Holds the tokens and the signing secret; checks bearers, sessions and CSRF tokens."""

    def __init__(self, tokens: Mapping[str, Role], *, secret: bytes) -> None:
        for token, role in tokens.items():
            if role not in ROLES:
                raise ConfigError(
                    f"XIANBAN_CONSOLE_TOKENS 中的角色 {role!r} 不存在，可用：{'、'.join(ROLES)}"
                )
            if len(token) < 16:
                raise ConfigError(
                    "XIANBAN_CONSOLE_TOKENS 中的令牌太短：每个令牌至少 16 个字符"
                    "（例如用 `python -c 'import secrets; print(secrets.token_urlsafe(24))'` 生成）"
                )
        self._roles = {_fingerprint(t): r for t, r in tokens.items()}
        self._secret = secret

    def role_for_token(self, token: str) -> Role | None:
        return self._roles.get(_fingerprint(token))

    def _sign(self, purpose: str, payload: str) -> str:
        mac = hmac.new(self._secret, f"{purpose}|{payload}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def bearer(self, token: str) -> Principal:
        role = self.role_for_token(token)
        if role is None:
            raise NotAuthenticated("访问令牌无效或已停用")
        return Principal(name=f"token-{_fingerprint(token)[:8]}", role=role, via="bearer")

    def issue_session(self, *, name: str, token: str, now: float | None = None) -> str:
        """The session cookie value for a successful login (the token must be valid)."""
        role = self.role_for_token(token)
        if role is None or not valid_user_name(name):
            raise NotAuthenticated("用户名或访问令牌不正确")
        body = {
            "n": name,
            "r": role,
            "f": _fingerprint(token)[:32],
            "e": int((now or time.time()) + SESSION_TTL_S),
            "s": secrets.token_hex(8),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign('session', payload)}"

    def read_session(self, cookie: str, *, now: float | None = None) -> Principal | None:
        """The session's principal, or None if the cookie is forged, expired or revoked."""
        payload, _, mac = cookie.partition(".")
        if not same_secret(mac, self._sign("session", payload)):
            return None
        try:
            body = json.loads(_unb64(payload))
            name, role, fp, expires, sid = body["n"], body["r"], body["f"], body["e"], body["s"]
        except (ValueError, KeyError, TypeError):
            return None
        role = as_role(role)
        if role is None or not isinstance(expires, int) or expires < (now or time.time()):
            return None
        if not any(f[:32] == fp and r == role for f, r in self._roles.items()):
            return None
        return Principal(name=name, role=role, via="session", session_id=sid)

    def csrf_token(self, principal: Principal) -> str:
        """The token forms must echo; empty for bearer callers, who need none."""
        return self._sign("csrf", principal.session_id) if principal.session_id else ""

    def check_csrf(self, principal: Principal, submitted: str) -> None:
        if principal.via == "bearer":
            return
        if not submitted or not same_secret(submitted, self.csrf_token(principal)):
            raise Forbidden("表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试")

    def authenticate(self, request: Request) -> Principal:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotAuthenticated("Authorization 头格式应为：Bearer <访问令牌>")
            return self.bearer(token.strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = self.read_session(cookie)
            if principal is not None:
                return principal
            raise NotAuthenticated("登录已过期，请重新登录")
        raise NotAuthenticated("请先登录（页面）或提供访问令牌（接口）")

    def caller(self, request: Request) -> Principal | None:
        """The caller if they proved who they are, for pages that show the menu either way."""
        try:
            return self.authenticate(request)
        except AuthError:
            return None


def gate_of(request: Request) -> Gate:
    gate: Gate = request.app.state.gate
    return gate


def require(permission: Permission | None) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: the caller, who must hold ``permission`` (None: any signed-in role)."""

    async def dependency(request: Request) -> Principal:
        principal = gate_of(request).authenticate(request)
        if permission is not None and not principal.can(permission):
            raise Forbidden(f"当前角色（{ROLE_LABELS[principal.role]}）无权执行此操作")
        return principal

    return dependency


def require_form(permission: Permission | None) -> Callable[[Request], Awaitable[Principal]]:
    """Like ``require``, for state-changing form posts: also checks the CSRF field."""
    check_role = require(permission)

    async def dependency(request: Request) -> Principal:
        principal = await check_role(request)
        form = await request.form()
        submitted = form.get("csrf")
        gate_of(request).check_csrf(principal, submitted if isinstance(submitted, str) else "")
        return principal

    return dependency


ROLE_LABELS: Mapping[Role, str] = {
    "viewer": "只读",
    "analyst": "研判员",
    "leader": "领导",
    "ops": "运维",
    "admin": "管理员",
    "api": "接口调用方",
}


def tokens_from_env(environ: Mapping[str, str]) -> dict[str, Role]:
    """Parse ``XIANBAN_CONSOLE_TOKENS=secret:role,secret:role``; a bad entry is a ConfigError."""
    raw = environ.get(TOKENS_ENV, "").strip()
    tokens: dict[str, Role] = {}
    for number, entry in enumerate(filter(None, (e.strip() for e in raw.split(","))), 1):
        token, sep, role = entry.rpartition(":")
        if not sep or not token:
            raise ConfigError(f"{TOKENS_ENV} 第 {number} 项格式应为 <令牌>:<角色>")
        checked = as_role(role)
        if checked is None:
            raise ConfigError(
                f"{TOKENS_ENV} 第 {number} 项：角色 {role!r} 不存在，可用：{'、'.join(ROLES)}"
            )
        tokens[token] = checked
    return tokens


def secret_from_env(environ: Mapping[str, str]) -> bytes:
    """Signing secret; a fresh one per process when unset (sessions end on restart)."""
    configured = environ.get(SECRET_ENV)
    return configured.encode() if configured else secrets.token_bytes(32)


def start_up_token(*, login_base: str) -> tuple[dict[str, Role], str]:
    """A fresh admin token and its login link, printed for whoever started the process."""
    token = secrets.token_urlsafe(24)
    url = f"{login_base}/login?token={token}"
    print(f"先办控制台管理员登录链接（本次启动有效）：{url}", file=sys.stderr, flush=True)
    return {token: "admin"}, url
