"""Cursors and ETags for the ticket API.

A cursor is opaque to consumers: URL-safe base64 of the last item's key and a digest of
the filters it was made under, so a cursor reused with other filters (or hand-edited) is
a 400 ``invalid_cursor`` instead of a silently wrong page. An ETag is a digest of the
exact body sent; ``If-None-Match`` with it answers 304 without a body.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from console.problems import ApiProblem
from console.responses import MaskedJSONResponse
from xianban.records import stable_id

CACHE_CONTROL = "private, no-cache"


def fingerprint(filters: Mapping[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, default=str, ensure_ascii=False)
    return stable_id(canonical, length=12)


def encode_cursor(at: datetime, key: str, filters: Mapping[str, Any]) -> str:
    raw = json.dumps([at.isoformat(), key, fingerprint(filters)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, filters: Mapping[str, Any]) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, key, digest = json.loads(raw)
        at = datetime.fromisoformat(at_text)
        if not isinstance(key, str) or at.tzinfo is None:
            raise ValueError(key)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ApiProblem(
            "invalid_cursor", "翻页游标无效：请使用上一页响应中的 next_cursor"
        ) from None
    if digest != fingerprint(filters):
        raise ApiProblem(
            "invalid_cursor", "翻页游标与本次筛选条件不符：更换筛选条件后请从第一页开始"
        )
    return at, key


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(header: str, etag: str) -> bool:
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


def respond(
    request: Request,
    content: Any,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """JSON (masked) with an ETag; 304 when the caller's ``If-None-Match`` has it."""
    response = MaskedJSONResponse(content, status_code=status_code, headers=dict(headers or {}))
    etag = etag_of(bytes(response.body))
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = CACHE_CONTROL
    allowance = getattr(request.state, "rate_allowance", None)
    if allowance is not None:
        response.headers["RateLimit-Limit"] = str(allowance.limit)
        response.headers["RateLimit-Remaining"] = str(allowance.remaining)
    check = request.headers.get("if-none-match")
    if check and request.method in ("GET", "HEAD") and _matches(check, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
    return response
