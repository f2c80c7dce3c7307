"""Group robots of 企业微信, 钉钉 and 飞书, simulated: their paths, bodies, signing, answers.

* 企业微信 ``POST /robots/wecom/cgi-bin/webhook/send?key=K``: ``msgtype`` text or markdown,
  content at most 4096 bytes; an unknown key is ``errcode 93000``; more than 20 messages a
  minute per robot is ``errcode 45009``.
* 钉钉 ``POST /robots/dingtalk/robot/send?access_token=T&timestamp=MS&sign=S``: the sign is
  checked against the robot's secret (``HMAC-SHA256(secret, "MS\\nsecret")``, base64,
  URL-encoded) and the timestamp must be within an hour: else ``errcode 310000``.
* 飞书 ``POST /robots/feishu/open-apis/bot/v2/hook/TOKEN``: ``timestamp`` and ``sign``
  (``HMAC-SHA256(key="ts\\nsecret", msg="")``, base64) in the body, else ``code 19021``.

Every accepted message is kept in ``RobotHub.received`` for tests to read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

WECOM_LIMIT_PER_MINUTE = 20


@dataclass
class Received:
    platform: str
    token: str
    body: dict[str, Any]
    at: float


@dataclass
class RobotHub:
    """Registered robots (token → signing secret, or None) and what they received."""

    wecom: dict[str, None] = field(default_factory=lambda: {"xianban-duty": None})
    dingtalk: dict[str, str] = field(
        default_factory=lambda: {"xianban-duty": "SECxianban-demo-dingtalk"}
    )
    feishu: dict[str, str] = field(default_factory=lambda: {"xianban-duty": "xianban-demo-feishu"})
    received: list[Received] = field(default_factory=list)

    def of(self, platform: str) -> list[Received]:
        return [r for r in self.received if r.platform == platform]


def _dingtalk_ok(secret: str, timestamp: str, sign: str) -> bool:
    if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3_600_000:
        return False
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return hmac.compare_digest(base64.b64encode(digest.digest()).decode(), sign)


def _feishu_ok(secret: str, timestamp: str, sign: str) -> bool:
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 3600:
        return False
    key = f"{timestamp}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, sign)


def create_robots_app(hub: RobotHub | None = None) -> FastAPI:
    hub = hub or RobotHub()
    app = FastAPI(title="群机器人模拟器", docs_url=None, redoc_url=None)
    app.state.hub = hub

    async def body_of(request: Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    @app.post("/wecom/cgi-bin/webhook/send")
    async def wecom(request: Request, key: str = "") -> JSONResponse:
        if key not in hub.wecom:
            return JSONResponse({"errcode": 93000, "errmsg": "invalid webhook url"})
        body = await body_of(request)
        kind = body.get("msgtype") if body else None
        if body is None or kind not in ("text", "markdown") or not isinstance(body.get(kind), dict):
            return JSONResponse({"errcode": 40008, "errmsg": "invalid message type"})
        content = str(body[kind].get("content", ""))
        if not content or len(content.encode()) > 4096:
            return JSONResponse({"errcode": 40058, "errmsg": "content exceed max length"})
        now = time.time()
        recent = [r for r in hub.of("wecom") if r.token == key and now - r.at < 60]
        if len(recent) >= WECOM_LIMIT_PER_MINUTE:
            return JSONResponse({"errcode": 45009, "errmsg": "api freq out of limit"})
        hub.received.append(Received("wecom", key, body, now))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    @app.post("/dingtalk/robot/send")
    async def dingtalk(
        request: Request, access_token: str = "", timestamp: str = "", sign: str = ""
    ) -> JSONResponse:
        secret = hub.dingtalk.get(access_token)
        if secret is None:
            return JSONResponse({"errcode": 300001, "errmsg": "token is not exist"})
        if not _dingtalk_ok(secret, timestamp, sign):
            return JSONResponse({"errcode": 310000, "errmsg": "sign not match"})
        body = await body_of(request)
        kind = body.get("msgtype") if body else None
        if body is None or kind not in ("text", "markdown", "link", "actionCard"):
            return JSONResponse({"errcode": 40035, "errmsg": "缺少参数 msgtype"})
        hub.received.append(Received("dingtalk", access_token, body, time.time()))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    @app.post("/feishu/open-apis/bot/v2/hook/{token}")
    async def feishu(token: str, request: Request) -> JSONResponse:
        secret = hub.feishu.get(token)
        if secret is None:
            return JSONResponse(
                {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
            )
        body = await body_of(request)
        if body is None:
            return JSONResponse({"code": 9499, "msg": "Bad Request"})
        if not _feishu_ok(secret, str(body.get("timestamp", "")), str(body.get("sign", ""))):
            return JSONResponse(
                {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
            )
        if body.get("msg_type") not in ("text", "post", "interactive", "image", "share_chat"):
            return JSONResponse({"code": 9499, "msg": "Bad Request"})
        hub.received.append(Received("feishu", token, body, time.time()))
        return JSONResponse({"code": 0, "msg": "success", "data": {}})

    return app
