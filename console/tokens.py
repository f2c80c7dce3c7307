"""Consumers' API tokens: scoped, hashed at rest, rate limited, rotatable while running.

A token is ``xbk_`` + 32 random bytes (URL-safe base64). The store keeps only its SHA-256
digest (a random secret of that length needs no slow hash: there is nothing to guess),
with the consumer's name, its scopes and the departments it may write back for.
Tokens are looked up in the store on every request, so issuing, rotating and revoking
take effect at once in every console process, without a restart. Rotating issues a new
token and lets the old one live on for a grace period, so a consumer can switch over.

The tokens of ``XIANBAN_CONSOLE_TOKENS`` (role ``api`` or ``admin``) keep working and hold
every scope; they change only with the configuration.

Each token gets a token bucket of ``api.rate_per_minute`` requests (per console process);
past it the answer is 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, get_args

from xianban.records import utcnow
from xianban.store import Store
from xianban.store.ticket_api import (
    ApiToken,
    add_token,
    end_token,
    get_token,
    token_by_hash,
    touch_token,
)

Scope = Literal["cases:read", "cases:write", "webhooks:manage"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
SCOPE_LABELS: dict[str, str] = {
    "cases:read": "读取工单、线索、线索簇（含 Open311 查询）",
    "cases:write": "回写工单：状态、答复、现场核查结果",
    "webhooks:manage": "管理本方的 Webhook 订阅与投递记录",
}
TOKEN_PREFIX = "xbk_"
TOUCH_EVERY_S = 60.0


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def as_scopes(values: Sequence[str]) -> tuple[Scope, ...]:
    """Known scopes in their canonical order; a ValueError names an unknown one."""
    unknown = [v for v in values if v not in SCOPES]
    if unknown:
        raise ValueError(f"未知的权限范围：{'、'.join(unknown)}（可选：{'、'.join(SCOPES)}）")
    return tuple(s for s in SCOPES if s in values)


async def issue(
    store: Store,
    *,
    consumer: str,
    scopes: Sequence[str],
    departments: Sequence[str] = (),
    note: str = "",
    expires_at: datetime | None = None,
    rotated_from: str | None = None,
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new token: the secret (shown once, never stored) and what the store keeps."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_id="tok_" + secrets.token_hex(8),
        consumer=consumer,
        scopes=as_scopes(scopes),
        departments=tuple(departments),
        note=note,
        created_at=now or utcnow(),
        expires_at=expires_at,
        rotated_from=rotated_from,
    )
    await add_token(store, token, secret_hash=digest(secret))
    return secret, token


async def rotate(
    store: Store, token: ApiToken, *, grace: timedelta, now: datetime | None = None
) -> tuple[str, ApiToken]:
    """A successor with the same consumer, scopes and departments; the old token expires
    after ``grace`` (zero: at once)."""
    now = now or utcnow()
    secret, successor = await issue(
        store,
        consumer=token.consumer,
        scopes=token.scopes,
        departments=token.departments,
        note=token.note,
        expires_at=token.expires_at,
        rotated_from=token.token_id,
        now=now,
    )
    await end_token(store, token.token_id, at=now + grace, revoke=False)
    return secret, successor


async def revoke(store: Store, token_id: str, *, now: datetime | None = None) -> bool:
    return await end_token(store, token_id, at=now or utcnow(), revoke=True)


async def lookup(store: Store, secret: str, *, now: datetime | None = None) -> ApiToken | None:
    """The token for a presented secret if it is live (not revoked, not expired)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = await token_by_hash(store, digest(secret))
    if token is None or not token.usable(now or utcnow()):
        return None
    return token


async def current(store: Store, token_id: str) -> ApiToken | None:
    return await get_token(store, token_id)


@dataclass
class LastUsed:
    """Writes a token's ``last_used_at`` at most once a minute per token and process."""

    every_s: float = TOUCH_EVERY_S
    _seen: dict[str, float] = field(default_factory=dict)

    async def touch(self, store: Store, token_id: str) -> None:
        now = time.monotonic()
        if now - self._seen.get(token_id, -math.inf) < self.every_s:
            return
        self._seen[token_id] = now
        await touch_token(store, token_id, at=utcnow())


@dataclass(frozen=True, slots=True)
class Allowance:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int


@dataclass
class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, bursts up to as many."""

    per_minute: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, *, now: float | None = None) -> Allowance:
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        level, then = self._buckets.get(key, (float(self.per_minute), now))
        level = min(float(self.per_minute), level + (now - then) * rate)
        if level < 1.0:
            self._buckets[key] = (level, now)
            wait = math.ceil((1.0 - level) / rate)
            return Allowance(False, self.per_minute, 0, max(1, wait))
        level -= 1.0
        self._buckets[key] = (level, now)
        return Allowance(True, self.per_minute, int(level), 0)
