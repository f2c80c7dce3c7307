"""A platform's answer as the health checks and the parsers read it, whichever client
fetched it: aiohttp for direct requests (the hot path, no second HTTP model per request),
httpx for proxied requests and for the transports tests pass in (the simulator's ASGI app).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

JSON_OPTIONS: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":"), "allow_nan": False}
"""How httpx serialises ``json=`` bodies; the direct path writes them the same bytes, so a
signature computed over a body holds on either client."""


def json_bytes(body: Any) -> bytes:
    return json.dumps(body, **JSON_OPTIONS).encode()


def charset_of(content_type: str) -> str:
    """The ``charset=`` of a Content-Type, when it names a codec Python has; else UTF-8
    (httpx's default too)."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            name = value.strip().strip("\"'")
            try:
                return codecs.lookup(name).name
            except LookupError:
                break
    return "utf-8"


@dataclass(frozen=True, slots=True)
class Answer:
    method: str
    path: str
    status_code: int
    headers: Mapping[str, str]
    """Case-insensitive in both clients (httpx ``Headers``, aiohttp ``CIMultiDictProxy``)."""
    content: bytes

    @classmethod
    def of_httpx(cls, response: httpx.Response) -> Answer:
        request = response.request
        return cls(
            request.method,
            request.url.path,
            response.status_code,
            response.headers,
            response.content,
        )

    @property
    def where(self) -> str:
        """``METHOD /path``, how every error names the request."""
        return f"{self.method} {self.path}"

    @property
    def text(self) -> str:
        encoding = charset_of(self.headers.get("content-type", ""))
        return self.content.decode(encoding, errors="replace")
