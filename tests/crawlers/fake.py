"""A fetcher that answers from canned bodies: fixture and fuzz tests of adapters.

It runs the same body checks as the real fetcher (``crawlers.health.check_json`` on JSON)
so a canned refusal reads as the live one would; answers are chosen by request path, a
callable may vary them by parameters, and every request is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from crawlers.errors import MalformedResponse
from crawlers.health import check_json
from crawlers.urls import url_of

DATA = Path(__file__).parents[1] / "data"
Answer = str | Callable[[str, dict[str, Any]], str]


def fixture(platform: str, name: str) -> str:
    return (DATA / platform / name).read_text(encoding="utf-8")


class FakeFetcher:
    def __init__(self, answers: Mapping[str, Answer], base_url: str = "https://example.cn") -> None:
        self.answers = dict(answers)
        self._base = base_url
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    @property
    def base_url(self) -> str:
        return self._base

    def url_of(self, path: str) -> str:
        return url_of(self._base, path)

    def _answer(self, method: str, url: str, params: dict[str, Any]) -> str:
        self.requests.append((method, url, params))
        path = url.split("?", 1)[0]
        if path.startswith(self._base.rstrip("/") + "/"):
            path = path[len(self._base.rstrip("/")) :]  # the fetcher's own absolute URLs
        answer = self.answers.get(path)
        if answer is None:
            answer = next((a for p, a in self.answers.items() if path.startswith(p)), None)
        if answer is None:
            raise AssertionError(f"no canned answer for {path} (have {sorted(self.answers)})")
        return answer(path, params) if callable(answer) else answer

    async def get_text(self, url: str, *, params: dict[str, Any] | None = None) -> str:
        return self._answer("GET", url, dict(params or {}))

    async def get_json(self, url: str, *, params: dict[str, Any] | None = None) -> Any:
        return _json(self._answer("GET", url, dict(params or {})), url)

    async def post_json(self, url: str, *, json_body: Any) -> Any:
        body = json_body if isinstance(json_body, dict) else {"body": json_body}
        return _json(self._answer("POST", url, body), url)


def _json(text: str, where: str) -> Any:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise MalformedResponse(f"{where}: not JSON ({exc})") from None
    check_json(body, where)
    return body
