"""The published contract holds: schemathesis drives every operation of /openapi.json
against the real console over HTTP (bounded, derandomized examples) with its default
checks (no server errors, status codes, content types, headers and bodies as the schema
says, invalid input refused), and the docs page lists every operation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from console import create_app
from tests.console import samples
from tests.console.conftest import TOKENS, bearer
from xianban.asgi_server import EmbeddedServer
from xianban.settings import ApiSettings, Settings
from xianban.store import Store

AUTH = bearer("api")
EXAMPLES = 12


class Served:
    """The console on a real port, on its own event loop in a thread (schemathesis is sync)."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.data_dir = data_dir
        self.url = self._run(self._start())

    def _run(self, coroutine: object) -> str:
        future: Future[str] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        return future.result(timeout=60)

    async def _start(self) -> str:
        db = self.data_dir / "contract.db"
        self.store = await Store.open(f"sqlite+aiosqlite:///{db.as_posix()}")
        for n in (1, 2):
            await self.store.save_case(samples.case(n))
        await self.store.upsert_lead(samples.lead(1))
        settings = Settings(data_dir=self.data_dir, api=ApiSettings(rate_per_minute=100_000))
        app = create_app(store=self.store, publish=None, settings=settings, tokens=TOKENS)
        self.server = EmbeddedServer(app, host="127.0.0.1", port=0)
        await self.server.start()
        return self.server.url

    async def _stop(self) -> str:
        await self.server.stop()
        await self.store.close()
        return ""

    def stop(self) -> None:
        self._run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    console = Served(tmp_path)
    try:
        yield console
    finally:
        console.stop()


def test_schemathesis_finds_no_failure(served: Served) -> None:
    # Schema-valid requests may still be refused for what a schema cannot say: a cursor
    # from nowhere or a 91-day range (400), a move the case state machine forbids (409),
    # a stale If-Match (412). Anything else refused (422) counts as a failure.
    config = schemathesis.Config.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", 400, 401, 403, 404, 409, 412, 429]
                }
            }
        }
    )
    schema = schemathesis.openapi.from_url(
        f"{served.url}/openapi.json", headers=AUTH, config=config
    )
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=AUTH)

        try:
            run()
        except BaseException as exc:  # collect them all: one report for every operation
            failures.append(f"{operation.label}: {exc}")
    assert failures == []


def test_the_schema_and_docs_are_for_api_callers_only(served: Served) -> None:
    with httpx.Client(base_url=served.url, trust_env=False) as http:
        assert http.get("/openapi.json").status_code == 401
        assert http.get("/openapi.json", headers=bearer("viewer")).status_code == 403
        schema = http.get("/openapi.json", headers=AUTH).json()
        page = http.get("/api/docs", headers=AUTH)
    assert page.status_code == 200
    for path, item in schema["paths"].items():
        for method in item:
            assert f"{method.upper()} {path}" in page.text, (method, path)
    assert page.text.count("curl -sS") == sum(len(item) for item in schema["paths"].values())
    assert 'id="problem-invalid_transition"' in page.text
