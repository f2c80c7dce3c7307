"""Where duty staff already look: group robots of 企业微信, 钉钉 and 飞书, and e-mail.

Each channel turns a digest (a title and its lines) into the platform's own message and
signs it where the platform defines signing:

* 企业微信 group robot: ``POST …/cgi-bin/webhook/send?key=KEY`` with
  ``{"msgtype": "markdown", "markdown": {"content": …}}`` (≤ 4096 bytes); the key in the
  URL is the credential, there is no signature. Answer ``{"errcode": 0, "errmsg": "ok"}``.
* 钉钉 custom robot: ``POST …/robot/send?access_token=T&timestamp=MS&sign=S`` where
  ``S = urlencode(base64(HMAC-SHA256(secret, f"{MS}\\n{secret}")))``, with
  ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}``. Answer ``errcode`` 0.
* 飞书 custom bot: ``POST …/open-apis/bot/v2/hook/TOKEN`` with ``timestamp`` (seconds) and
  ``sign = base64(HMAC-SHA256(key=f"{ts}\\n{secret}", msg=b""))`` in the body, and a
  ``post`` (rich text) message. Answer ``{"code": 0}``.
* e-mail: plain-text UTF-8 over SMTP (smtplib in a thread), one message to the duty list.

An answer the platform marks as an error is a ``ChannelError`` (the alerts stay pending for
that channel and go again next tick).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import smtplib
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

WECOM_MAX_BYTES = 4096
Kind = Literal["wecom", "dingtalk", "feishu", "email"]


class ChannelError(Exception):
    """The channel did not take the message (network, HTTP status or the platform's code)."""


@dataclass(frozen=True, slots=True)
class Digest:
    title: str
    lines: list[str]
    link: str | None = None


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Kind
    enabled: bool = True
    url: str | None = None
    """Robot webhook URL (may start with {sim}: the simulator in the embedded loop)."""
    secret: str | None = None
    """Signing secret (钉钉 SEC…, 飞书); prefer ``secret_env`` outside the demo."""
    secret_env: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    sender: str = "xianban@localhost"
    recipients: list[str] = Field(default_factory=list)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def wecom_message(digest: Digest) -> dict[str, Any]:
    head = f"## {digest.title}\n"
    tail = f"\n[在控制台查看]({digest.link})" if digest.link else ""
    body = ""
    for n, line in enumerate(digest.lines):
        candidate = f"> {line}\n"
        rest = len(digest.lines) - n
        more = f"> 另有 {rest} 条，见控制台\n"
        if len((head + body + candidate + more + tail).encode()) > WECOM_MAX_BYTES:
            body += more
            break
        body += candidate
    return {"msgtype": "markdown", "markdown": {"content": head + body + tail}}


def dingtalk_message(digest: Digest) -> dict[str, Any]:
    text = f"### {digest.title}\n\n" + "\n".join(f"- {line}" for line in digest.lines)
    if digest.link:
        text += f"\n\n[在控制台查看]({digest.link})"
    return {
        "msgtype": "markdown",
        "markdown": {"title": digest.title, "text": text},
        "at": {"atMobiles": [], "isAtAll": False},
    }


def feishu_message(digest: Digest) -> dict[str, Any]:
    content: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in digest.lines]
    if digest.link:
        content.append([{"tag": "a", "text": "在控制台查看", "href": digest.link}])
    return {
        "msg_type": "post",
        "content": {"post": {"zh_cn": {"title": digest.title, "content": content}}},
    }


def email_message(digest: Digest, cfg: ChannelConfig) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"【先办】{digest.title}"
    message["From"] = cfg.sender
    message["To"] = ", ".join(cfg.recipients)
    body = "\n".join(f"· {line}" for line in digest.lines)
    if digest.link:
        body += f"\n\n在控制台查看：{digest.link}"
    message.set_content(body, charset="utf-8")
    return message


class Channel:
    """One configured destination; ``send`` delivers a digest or raises ChannelError."""

    def __init__(self, cfg: ChannelConfig, *, url: str | None, secret: str | None) -> None:
        self.cfg = cfg
        self.url = url
        self.secret = secret

    @property
    def name(self) -> str:
        return self.cfg.name

    async def send(self, digest: Digest, http: httpx.AsyncClient) -> None:
        kind = self.cfg.kind
        if kind == "email":
            await self._mail(digest)
            return
        if not self.url:
            raise ChannelError(f"{self.name}: no webhook URL")
        url, body = self.url, {}
        if kind == "wecom":
            body = wecom_message(digest)
        elif kind == "dingtalk":
            body = dingtalk_message(digest)
            if self.secret:
                ms = int(time.time() * 1000)
                sep = "&" if "?" in url else "?"
                url = f"{url}{sep}timestamp={ms}&sign={dingtalk_sign(self.secret, ms)}"
        else:
            body = feishu_message(digest)
            if self.secret:
                ts = int(time.time())
                body = {"timestamp": str(ts), "sign": feishu_sign(self.secret, ts), **body}
        try:
            response = await http.post(url, json=body)
        except httpx.HTTPError as exc:
            raise ChannelError(f"{self.name}: {exc!r}") from exc
        if response.status_code != 200:
            raise ChannelError(f"{self.name}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise ChannelError(f"{self.name}: not JSON: {response.text[:100]}") from exc
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        if code not in (0, None):
            message = answer.get("errmsg") or answer.get("msg") or answer
            raise ChannelError(f"{self.name}: {kind} answered {code} {message}")

    async def _mail(self, digest: Digest) -> None:
        cfg = self.cfg
        if not cfg.smtp_host or not cfg.recipients:
            raise ChannelError(f"{self.name}: smtp_host and recipients are required")
        message = email_message(digest, cfg)

        def send() -> None:
            with smtplib.SMTP(cfg.smtp_host or "", cfg.smtp_port, timeout=10) as smtp:
                smtp.send_message(message)

        try:
            await asyncio.to_thread(send)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"{self.name}: {exc!r}") from exc
