"""Request signing, pluggable: in-process, or one signing service the whole fleet asks.

Platforms sign their web APIs (Douyin's ``a_bogus``, Bilibili's WBI ``w_rid``, 黑猫投诉's
``signature``) and change the scheme from time to time. An adapter never computes a
signature itself: it asks its ``Signer`` for the extra parameters of one request. The
in-process ``LocalSigner`` knows the schemes below; ``HttpSigner`` posts the same question
to a signing service (``signer_app``, ``xianban signer``), so when a platform changes its
scheme the fix is deployed once, to the service, and every crawler of the fleet signs the
new way on its next request. A source picks one in its options::

    options: {signer: {kind: local}}                              # the default
    options: {signer: {kind: http, url: "http://signer:8700"}}

Schemes (``params`` are the request's query parameters, ``context`` what the page gave):

- ``douyin-search``: ``a_bogus`` = FNV-1a of ``keyword|offset|searchToken``;
- ``douyin-a_bogus``: ``a_bogus`` = FNV-1a of the sorted query and the scheme's key;
- ``bilibili-wbi``: ``wts`` and ``w_rid`` = MD5 of the sorted query (``!'()*`` removed
  from values) and the mixin key of ``img_key`` + ``sub_key`` (from ``/x/web-interface/nav``);
- ``heimao-sha256``: ``ts``, ``rs`` and ``signature`` = SHA-256 of the sorted
  ``ts, rs, key, keywords, page_size, page``.

A signature the platform refuses is ``SignatureRejected`` (a state of its own, 签名失效), so
ops see that the signer, not the source, needs fixing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crawlers.errors import SignatureRejected

Params = Mapping[str, str]

MIXIN_KEY_ORDER = (
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19,
    29, 28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17, 0, 1, 60, 51, 30, 4,
    22, 25, 54, 21, 56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52,
)  # fmt: skip
"""The WBI mixin permutation Bilibili's web player applies to img_key + sub_key."""
DEFAULT_KEYS: Mapping[str, str] = {
    "douyin-a_bogus": "dy-web-2026.11",
    "heimao-sha256": "$hm-tousu-sina-2026",
}
"""Keys of the keyed schemes as the platforms use them today; a rotation is a config change
(``signer.keys``) or a redeployed signing service, never an adapter change."""


class Signer(Protocol):
    async def sign(self, scheme: str, params: Params, context: Params) -> dict[str, str]:
        """The parameters to add to a request of ``scheme`` with ``params``."""
        ...

    async def aclose(self) -> None: ...


def fnv1a(text: str) -> str:
    """FNV-1a, 32 bits over UTF-8, as lowercase hex (Douyin's web scripts)."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def canonical(params: Params) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params))


def mixin_key(img_key: str, sub_key: str) -> str:
    raw = img_key + sub_key
    return "".join(raw[i] for i in MIXIN_KEY_ORDER if i < len(raw))[:32]


def wbi(params: Params, img_key: str, sub_key: str, wts: int) -> dict[str, str]:
    signed = {**params, "wts": str(wts)}
    clean = {k: "".join(c for c in str(v) if c not in "!'()*") for k, v in sorted(signed.items())}
    w_rid = hashlib.md5(
        (urlencode(clean) + mixin_key(img_key, sub_key)).encode(), usedforsecurity=False
    ).hexdigest()
    return {"wts": str(wts), "w_rid": w_rid}


def heimao(params: Params, key: str, ts: int, rs: str) -> dict[str, str]:
    parts = [str(ts), rs, key, params.get("keywords", ""), params.get("page_size", ""),
             params.get("page", "")]  # fmt: skip
    signature = hashlib.sha256("".join(sorted(parts)).encode()).hexdigest()
    return {"ts": str(ts), "rs": rs, "signature": signature}


class LocalSigner:
    """Signs in this process; ``keys`` override ``DEFAULT_KEYS`` per scheme."""

    def __init__(self, keys: Mapping[str, str] | None = None) -> None:
        self.keys = {**DEFAULT_KEYS, **(keys or {})}

    async def sign(self, scheme: str, params: Params, context: Params) -> dict[str, str]:
        return sign_locally(scheme, params, context, self.keys)

    async def aclose(self) -> None:
        return None


def sign_locally(
    scheme: str, params: Params, context: Params, keys: Mapping[str, str] = DEFAULT_KEYS
) -> dict[str, str]:
    now = int(context.get("now") or time.time())
    if scheme == "douyin-search":
        token = context.get("token", "")
        return {"a_bogus": fnv1a(f"{params.get('keyword', '')}|{params.get('offset', '')}|{token}")}
    if scheme == "douyin-a_bogus":
        return {"a_bogus": fnv1a(f"{canonical(params)}|{keys[scheme]}")}
    if scheme == "bilibili-wbi":
        return wbi(params, context.get("img_key", ""), context.get("sub_key", ""), now)
    if scheme == "heimao-sha256":
        rs = context.get("rs") or fnv1a(f"{now}|{canonical(params)}")[:8]
        return heimao(params, keys[scheme], now, rs)
    raise SignatureRejected(f"no signing scheme {scheme!r}")


class HttpSigner:
    """Asks a signing service (``signer_app``): ``POST <url>/sign``."""

    def __init__(
        self, url: str, *, timeout_s: float = 5.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.transport = transport
        self.client: httpx.AsyncClient | None = None

    async def sign(self, scheme: str, params: Params, context: Params) -> dict[str, str]:
        if self.client is None:
            self.client = httpx.AsyncClient(transport=self.transport, timeout=self.timeout_s)
        body = {"scheme": scheme, "params": dict(params), "context": dict(context)}
        try:
            response = await self.client.post(f"{self.url}/sign", json=body)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignatureRejected(f"signing service {self.url}: {exc!r}") from None
        if response.status_code != 200 or not isinstance(answer.get("params"), dict):
            raise SignatureRejected(
                f"signing service {self.url}: HTTP {response.status_code} {answer}"
            )
        return {str(k): str(v) for k, v in answer["params"].items()}

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None


class SignerConfig(BaseModel):
    """``signer:`` in a source's options."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field("local", pattern="^(local|http)$")
    url: str | None = Field(None, description="the signing service (kind: http)")
    keys: dict[str, str] = Field(default_factory=dict, description="scheme → key (kind: local)")
    timeout_s: float = Field(5.0, gt=0)


def make_signer(config: Mapping[str, Any] | None) -> Signer:
    spec = SignerConfig.model_validate(config or {})
    if spec.kind == "http":
        if not spec.url:
            raise ValueError("signer kind http needs a url")
        return HttpSigner(spec.url, timeout_s=spec.timeout_s)
    return LocalSigner(spec.keys)


def signer_app(keys: Mapping[str, str] | None = None) -> Starlette:
    """The signing service: ``POST /sign {"scheme", "params", "context"}`` →
    ``{"params": {...}}``; an unknown scheme or a bad body is a 400 naming it."""
    signer = LocalSigner(keys)

    async def sign(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            scheme, params = str(body["scheme"]), body.get("params") or {}
            context = body.get("context") or {}
            if not isinstance(params, dict) or not isinstance(context, dict):
                raise TypeError("params and context must be objects")
            signed = await signer.sign(
                scheme, {str(k): str(v) for k, v in params.items()},
                {str(k): str(v) for k, v in context.items()},
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, SignatureRejected) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, 400)
        return JSONResponse({"params": signed})

    async def health(_: Request) -> Response:
        return JSONResponse({"ok": True, "schemes": sorted({"douyin-search", *signer.keys,
                                                            "bilibili-wbi"})})  # fmt: skip

    return Starlette(routes=[Route("/sign", sign, methods=["POST"]), Route("/health", health)])


def main(argv: list[str] | None = None) -> None:
    """``python -m crawlers.signing --port 8700``: the fleet's signing service. Keys of the
    keyed schemes come from ``XIANBAN_SIGNER_KEYS`` (``scheme=key,scheme=key``), so a
    platform's rotation is one restart of this service."""
    import argparse
    import os

    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m crawlers.signing")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    args = parser.parse_args(argv)
    pairs = [p.split("=", 1) for p in os.environ.get("XIANBAN_SIGNER_KEYS", "").split(",") if p]
    keys = {scheme.strip(): key.strip() for scheme, key in pairs}
    uvicorn.run(signer_app(keys), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
