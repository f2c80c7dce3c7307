"""Fault injection: what goes wrong, on which platform, for how many requests — and a count.

Faults are queued per platform through the admin API (``POST /_admin/faults``) and each
one applies to the next ``times`` requests of that platform (``times: null`` = until
``DELETE /_admin/faults``). A single request can also ask for one with the ``_fault``
query parameter or the ``X-Sim-Fault`` header, written ``kind[;key=value...]``
(``slow;delay_s=0.5``), which takes precedence and consumes nothing from the queue.

Transport-level faults (429, 5xx, slow, truncated, captcha, ban, login wall) are applied
here around the platform's handler; content faults (layout change, duplicates across
pages, silent block) are handed to the handler, which knows its own shapes. Every request
is counted per platform, fault and status so tests can assert what a crawler did.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "slow",
    "truncated",
    "captcha",
    "login_expired",
    "layout_changed",
    "duplicates",
    "silent_block",
    "ban",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
RECENT_REQUESTS = 1000
CLIENT_GONE = 499  # nginx's code for a request the client gave up on (counted all the same)


class FaultSpec(BaseModel):
    """One queued fault, as posted to ``/_admin/faults``."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(description="platform prefix, e.g. weibo; '*' for every platform")
    fault: FaultKind
    times: int | None = Field(1, ge=1, description="requests it applies to; null = until cleared")
    params: dict[str, float | int | str] = Field(default_factory=dict)
    match: str | None = Field(
        None,
        description="only requests whose decoded path?query contains this text, e.g. q=井盖: "
        "one source among several on the same platform",
    )


@dataclass(frozen=True)
class Active:
    """The fault (if any) that applies to the request being served."""

    kind: str | None = None
    params: dict[str, float | int | str] = field(default_factory=dict)

    def number(self, name: str, default: float) -> float:
        """A numeric parameter; anything unusable (text, nan, inf, negative) means the default."""
        try:
            value = float(self.params.get(name, default))
        except ValueError:
            return default
        return value if math.isfinite(value) and value >= 0 else default

    @property
    def layout_changed(self) -> bool:
        return self.kind == "layout_changed"

    @property
    def silent_block(self) -> bool:
        return self.kind == "silent_block"

    @property
    def overlap(self) -> int:
        """How many items of the previous page a page repeats (the duplicates fault)."""
        return int(self.number("overlap", 5)) if self.kind == "duplicates" else 0


NO_FAULT = Active()


def parse_override(value: str) -> Active:
    """``kind;key=value;...`` from a query parameter or header; unknown kinds are an error."""
    parts = [part.strip() for part in value.split(";") if part.strip()]
    kind, pairs = (parts[0], parts[1:]) if parts else ("", [])
    if kind not in FAULT_KINDS:
        raise ValueError(f"未知的故障类型 {kind!r}，可用：{', '.join(FAULT_KINDS)}")
    params: dict[str, float | int | str] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ValueError(f"故障参数应写成 key=value：{pair!r}")
        params[key.strip()] = raw.strip()
    return Active(kind, params)


class FaultBoard:
    """Queued faults per platform and the counters of what was served."""

    def __init__(self) -> None:
        self.queue: list[FaultSpec] = []
        self.requests: Counter[str] = Counter()
        self.by_fault: dict[str, Counter[str]] = {}
        self.by_status: dict[str, Counter[str]] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_REQUESTS)

    def add(self, spec: FaultSpec) -> None:
        self.queue.append(spec)

    def clear(self, platform: str | None = None) -> int:
        before = len(self.queue)
        self.queue = [s for s in self.queue if platform is not None and s.platform != platform]
        return before - len(self.queue)

    def take(self, platform: str, request: Request) -> Active:
        override = request.query_params.get("_fault") or request.headers.get("x-sim-fault")
        if override:
            return parse_override(override)
        target: str | None = None
        for spec in self.queue:
            if spec.platform not in (platform, "*"):
                continue
            if spec.match is not None:
                if target is None:
                    target = unquote(f"{request.url.path}?{request.url.query}")
                if spec.match not in target:
                    continue
            if spec.times is not None:
                spec.times -= 1
                if spec.times <= 0:
                    self.queue.remove(spec)
            return Active(spec.fault, dict(spec.params))
        return NO_FAULT

    def record(self, platform: str, path: str, fault: str | None, status: int) -> None:
        kind = fault or "none"
        self.requests[platform] += 1
        self.by_fault.setdefault(platform, Counter())[kind] += 1
        self.by_status.setdefault(platform, Counter())[str(status)] += 1
        self.recent.append(
            {
                "t": time.monotonic(),
                "platform": platform,
                "path": path,
                "fault": kind,
                "status": status,
            }
        )

    def reset_stats(self) -> None:
        self.requests.clear()
        self.by_fault.clear()
        self.by_status.clear()
        self.recent.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "total": sum(self.requests.values()),
            "platforms": {
                p: {
                    "requests": n,
                    "by_fault": dict(self.by_fault[p]),
                    "by_status": dict(self.by_status[p]),
                }
                for p, n in sorted(self.requests.items())
            },
            "recent": list(self.recent),
        }


Handler = Callable[[Request, Active], Awaitable[Response]]
PageMaker = Callable[[Request, Active], Response]


@dataclass(frozen=True)
class FaultPages:
    """How a platform looks when it refuses: each callable renders one refusal."""

    rate_limited: PageMaker
    server_error: PageMaker
    captcha: PageMaker
    ban: PageMaker
    login_wall: PageMaker


Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(platform: str, board: FaultBoard, pages: FaultPages, handler: Handler) -> Endpoint:
    """Wrap a platform endpoint so faults apply to it and every request is counted."""

    async def endpoint(request: Request) -> Response:
        try:
            active = board.take(platform, request)
        except ValueError as exc:
            response = Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
            board.record(platform, request.url.path, "invalid_override", 400)
            return response
        status = CLIENT_GONE
        try:
            response = await _serve(request, active, pages, handler)
            status = response.status_code
            return response
        finally:
            board.record(platform, request.url.path, active.kind, status)

    return endpoint


async def _serve(request: Request, active: Active, pages: FaultPages, handler: Handler) -> Response:
    kind = active.kind
    if kind == "rate_limit":
        return pages.rate_limited(request, active)
    if kind == "server_error":
        return pages.server_error(request, active)
    if kind == "captcha":
        return pages.captcha(request, active)
    if kind == "ban":
        return pages.ban(request, active)
    if kind == "login_expired":
        return pages.login_wall(request, active)
    if kind == "slow":
        await asyncio.sleep(active.number("delay_s", 2.0))
    response = await handler(request, active)
    if kind == "truncated":
        keep = max(1, int(len(response.body) * active.number("keep", 0.5)))
        truncated = Response(response.body[:keep], status_code=response.status_code)
        truncated.headers["content-type"] = response.headers.get("content-type", "text/plain")
        return truncated
    return response
