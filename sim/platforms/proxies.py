"""Simulated forward proxies that die, so a proxy pool's health checks have something to find.

Every proxy is the simulator's own address with its own credentials
(``http://<id>:<password>@host:port``). A client configured with one sends the usual
forward-proxy request — absolute-form target and a ``Proxy-Authorization`` header — and
``ProxyGate`` answers as the proxy would: 407 for unknown credentials, 502 once the proxy
has died (after ``lifetime_requests`` or when ops kill it), otherwise it passes the request
on to the platforms and counts it. Requests without proxy credentials pass untouched.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class Proxy:
    id: str
    password: str
    remaining: int | None
    dead: bool = False
    served: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "dead": self.dead, "served": self.served}


class ProxyPool:
    def __init__(self) -> None:
        self.proxies: dict[str, Proxy] = {}
        self._ids = itertools.count(1)

    def issue(self, count: int, *, lifetime_requests: int | None) -> list[Proxy]:
        fresh = [
            Proxy(f"proxy{next(self._ids)}", secrets.token_hex(6), lifetime_requests)
            for _ in range(count)
        ]
        self.proxies.update((p.id, p) for p in fresh)
        return fresh

    def kill(self, proxy_id: str | None = None) -> int:
        hit = [p for p in self.proxies.values() if not p.dead and proxy_id in (None, p.id)]
        for proxy in hit:
            proxy.dead = True
        return len(hit)

    def authenticate(self, header: str) -> Proxy | None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        proxy = self.proxies.get(user)
        return proxy if proxy is not None and proxy.password == password else None

    def relay(self, proxy: Proxy) -> bool:
        """Count one request through ``proxy``; False once it is dead."""
        if proxy.remaining is not None and proxy.served >= proxy.remaining:
            proxy.dead = True
        if proxy.dead:
            return False
        proxy.served += 1
        return True


class ProxyGate:
    """ASGI middleware playing every proxy of the pool in front of the platforms."""

    def __init__(self, app: ASGIApp, pool: ProxyPool) -> None:
        self.app = app
        self.pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        credentials = headers.get(b"proxy-authorization")
        path: str = scope["path"]
        if credentials is None and not path.startswith(("http://", "https://")):
            await self.app(scope, receive, send)
            return
        proxy = self.pool.authenticate(credentials.decode("latin-1")) if credentials else None
        if proxy is None:
            await _answer(
                send, 407, "代理认证失败", [(b"proxy-authenticate", b'Basic realm="sim"')]
            )
            return
        if not self.pool.relay(proxy):
            await _answer(send, 502, f"代理 {proxy.id} 已失效")
            return
        if path.startswith(("http://", "https://")):
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


async def _answer(
    send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = message.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *(extra or [])]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
