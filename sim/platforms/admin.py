"""The simulator's control panel: queue and clear faults, read counters, move the clock.

Only tests, benches and ops demos call these; no platform route ever exposes the corpus
ground truth, which stays reachable from Python alone (``app.state.sim.corpus``).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import FAULT_KINDS, FaultSpec
from sim.platforms.pages import json_response
from sim.platforms.state import SimState

M = TypeVar("M", bound=BaseModel)


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str
    lifetime_requests: int | None = Field(
        None, ge=1, description="requests the session serves before it expires; null = no limit"
    )


class BanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str
    token: str


class ProxyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(1, ge=1, le=100, description="how many proxies to hand out")
    lifetime_requests: int | None = Field(
        None, ge=1, description="requests each relays before it dies; null = until killed"
    )


class SigningKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheme: str = Field(description="e.g. douyin-a_bogus, heimao-sha256")
    key: str = Field(min_length=1)


class ClockMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advance_s: float = Field(0.0, ge=0, description="seconds to move the simulated clock forward")
    reset: bool = Field(False, description="back to the corpus anchor before advancing")


def _invalid(message: str) -> Response:
    return json_response({"error": message}, 422)


async def _parse(request: Request, model: type[M]) -> M:
    """The request body as ``model``; ``ValueError`` says what is wrong, field by field."""
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"请求体不是合法的 JSON：{exc.msg}（第 {exc.pos} 个字符）") from None
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = (
            f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ValueError("; ".join(problems)) from None


def routes(state: SimState, platforms: Collection[str]) -> list[BaseRoute]:
    board = state.faults

    async def add_fault(request: Request) -> Response:
        try:
            spec = await _parse(request, FaultSpec)
        except ValueError as exc:
            return _invalid(str(exc))
        if spec.platform != "*" and spec.platform not in platforms:
            return _invalid(f"未知平台 {spec.platform!r}，可用：{', '.join(sorted(platforms))}")
        board.add(spec)
        return json_response({"queued": len(board.queue)})

    async def list_faults(_: Request) -> Response:
        return json_response({"faults": [s.model_dump() for s in board.queue]})

    async def clear_faults(request: Request) -> Response:
        return json_response({"cleared": board.clear(request.query_params.get("platform"))})

    async def describe(_: Request) -> Response:
        return json_response(
            {
                "platforms": sorted(platforms),
                "faults": list(FAULT_KINDS),
                "now": state.now().isoformat(),
            }
        )

    async def stats(_: Request) -> Response:
        return json_response(board.stats())

    async def reset_stats(_: Request) -> Response:
        board.reset_stats()
        return json_response({"reset": True})

    async def clock(_: Request) -> Response:
        return json_response({"now": state.now().isoformat()})

    async def move_clock(request: Request) -> Response:
        try:
            move = await _parse(request, ClockMove)
        except ValueError as exc:
            return _invalid(str(exc))
        if move.reset:
            state.elapsed = timedelta(0)
        state.elapsed += timedelta(seconds=move.advance_s)
        return json_response({"now": state.now().isoformat()})

    async def issue_session(request: Request) -> Response:
        try:
            wanted = await _parse(request, SessionRequest)
        except ValueError as exc:
            return _invalid(str(exc))
        if wanted.platform not in platforms:
            return _invalid(f"未知平台 {wanted.platform!r}，可用：{', '.join(sorted(platforms))}")
        session = state.sessions.issue(wanted.platform, lifetime_requests=wanted.lifetime_requests)
        return json_response({"platform": session.platform, "token": session.token})

    async def expire_sessions(request: Request) -> Response:
        platform = request.query_params.get("platform", "")
        token = request.query_params.get("token")
        return json_response({"expired": state.sessions.expire(platform, token)})

    async def ban_session(request: Request) -> Response:
        try:
            wanted = await _parse(request, BanRequest)
        except ValueError as exc:
            return _invalid(str(exc))
        if not state.sessions.ban(wanted.platform, wanted.token):
            return json_response({"error": f"{wanted.platform} 没有会话 {wanted.token}"}, 404)
        return json_response({"banned": True})

    async def issue_proxies(request: Request) -> Response:
        try:
            wanted = await _parse(request, ProxyRequest)
        except ValueError as exc:
            return _invalid(str(exc))
        fresh = state.proxies.issue(wanted.count, lifetime_requests=wanted.lifetime_requests)
        where = f"{request.url.hostname}:{request.url.port}"
        return json_response(
            {"proxies": [{"id": p.id, "url": f"http://{p.id}:{p.password}@{where}"} for p in fresh]}
        )

    async def list_proxies(_: Request) -> Response:
        return json_response({"proxies": [p.as_dict() for p in state.proxies.proxies.values()]})

    async def kill_proxies(request: Request) -> Response:
        return json_response({"killed": state.proxies.kill(request.query_params.get("id"))})

    async def scan_qr(request: Request) -> Response:
        qr_id = request.path_params["qr_id"]
        if qr_id not in state.sessions.qr_logins:
            return json_response({"error": f"二维码 {qr_id} 不存在"}, 404)
        login = state.sessions.scan(qr_id)
        return json_response({"qr_id": qr_id, "status": login.status})

    async def rotate_key(request: Request) -> Response:
        try:
            wanted = await _parse(request, SigningKey)
        except ValueError as exc:
            return _invalid(str(exc))
        if wanted.scheme not in state.signing:
            known = ", ".join(sorted(state.signing))
            return _invalid(f"未知签名方案 {wanted.scheme!r}，可用：{known}")
        state.signing[wanted.scheme] = wanted.key
        return json_response({"scheme": wanted.scheme, "rotated": True})

    return [
        Route("/signing", rotate_key, methods=["POST"]),
        Route("/sessions", issue_session, methods=["POST"]),
        Route("/sessions", expire_sessions, methods=["DELETE"]),
        Route("/sessions/ban", ban_session, methods=["POST"]),
        Route("/qrcode/{qr_id}/scan", scan_qr, methods=["POST"]),
        Route("/proxies", issue_proxies, methods=["POST"]),
        Route("/proxies", list_proxies, methods=["GET"]),
        Route("/proxies", kill_proxies, methods=["DELETE"]),
        Route("/platforms", describe, methods=["GET"]),
        Route("/faults", add_fault, methods=["POST"]),
        Route("/faults", list_faults, methods=["GET"]),
        Route("/faults", clear_faults, methods=["DELETE"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/stats", reset_stats, methods=["DELETE"]),
        Route("/clock", clock, methods=["GET"]),
        Route("/clock", move_clock, methods=["POST"]),
    ]
