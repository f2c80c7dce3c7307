"""Webhooks: signatures a subscriber can verify, retries with backoff, nothing lost silently."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from console.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    WEBHOOKS_ENV,
    SignatureError,
    Subscriber,
    WebhookDispatcher,
    WebhookStage,
    sign,
    subscribers_from_env,
    verify,
)
from tests.console import samples
from xianban.errors import ConfigError
from xianban.records import Case
from xianban.settings import Settings
from xianban.stage import Stage, StageContext
from xianban.store import Store

SECRET = "whsec_test_0123456789"


def test_a_signed_body_verifies() -> None:
    body = b'{"id":"evt_1"}'
    header = sign(body, SECRET, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify(body, header, SECRET, now=1_700_000_100) == 1_700_000_000


@pytest.mark.parametrize(
    ("body", "header", "secret", "now", "problem"),
    [
        (b"{}!", sign(b"{}", SECRET, timestamp=100), SECRET, 100, "does not match"),
        (b"{}", sign(b"{}", SECRET, timestamp=100), "other-secret", 100, "does not match"),
        (b"{}", sign(b"{}", SECRET, timestamp=100), SECRET, 100 + 301, "tolerance"),
        (b"{}", None, SECRET, 100, "missing"),
        (b"{}", "v1=abc", SECRET, 100, "needs t="),
        (b"{}", "t=soon,v1=abc", SECRET, 100, "not an integer"),
        (b"{}", "t=100,v1=签名", SECRET, 100, "does not match"),
    ],
)
def test_bad_deliveries_are_refused(
    body: bytes, header: str | None, secret: str, now: int, problem: str
) -> None:
    with pytest.raises(SignatureError, match=problem):
        verify(body, header, secret, now=now)


def test_a_rotated_secret_still_verifies_with_either_signature() -> None:
    body = b"{}"
    old = sign(body, "old-secret", timestamp=100).partition("v1=")[2]
    header = sign(body, "new-secret", timestamp=100) + f",v1={old}"
    assert verify(body, header, "old-secret", now=100) == 100
    assert verify(body, header, "new-secret", now=100) == 100


def test_subscribers_from_the_environment() -> None:
    raw = json.dumps([{"url": "http://127.0.0.1:9/hook", "secret": "s"}])
    assert subscribers_from_env({WEBHOOKS_ENV: raw}) == [
        Subscriber(url="http://127.0.0.1:9/hook", secret="s")
    ]
    assert subscribers_from_env({}) == []
    with pytest.raises(ConfigError, match=WEBHOOKS_ENV):
        subscribers_from_env({WEBHOOKS_ENV: '[{"url": "x"}]'})


@dataclass
class Receiver:
    """A subscriber on a real local port that answers with the scripted statuses in turn."""

    statuses: list[int]
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.headers.append(dict(request.headers))
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver(statuses=[200])
    app = web.Application()
    app.router.add_post("/hook", got.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    got.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield got
    finally:
        await runner.cleanup()


async def _send(store: Store, receiver: Receiver, *, attempts: int = 4) -> None:
    dispatcher = WebhookDispatcher(
        [Subscriber(url=receiver.url, secret=SECRET)], store=store, attempts=attempts, backoff_s=0
    )
    await dispatcher.start()
    try:
        dispatcher.notify(samples.case(1))
        await dispatcher.drain()
    finally:
        await dispatcher.close()


async def test_delivery_retries_until_accepted_and_verifies(
    store: Store, receiver: Receiver
) -> None:
    receiver.statuses = [503, 502, 200]
    await _send(store, receiver)
    assert len(receiver.bodies) == 3
    assert len(set(receiver.bodies)) == 1  # the same event each time
    body, headers = receiver.bodies[-1], receiver.headers[-1]
    verify(body, headers[SIGNATURE_HEADER], SECRET)
    event = json.loads(body)
    assert headers[EVENT_ID_HEADER] == event["id"]
    assert event["type"] == "case.changed"
    assert event["data"]["case"]["case_id"] == "XB-CASE0001"
    assert event["data"]["case"]["status"] == "dispatched"
    assert samples.PHONE.encode() not in body
    assert "138****5678" in event["data"]["case"]["description"]
    assert await store.list_audit() == []


async def test_a_refusal_is_not_retried_and_is_audited(store: Store, receiver: Receiver) -> None:
    receiver.statuses = [410]
    await _send(store, receiver)
    assert len(receiver.bodies) == 1
    [row] = await store.list_audit()
    assert (row.actor, row.action, row.target) == ("webhooks", "webhook.failed", "XB-CASE0001")
    assert row.detail is not None
    assert row.detail["error"] == "HTTP 410"


async def test_giving_up_after_the_last_attempt_is_audited(
    store: Store, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    await _send(store, receiver, attempts=3)
    assert len(receiver.bodies) == 3
    [row] = await store.list_audit()
    assert row.detail is not None
    assert (row.detail["attempts"], row.detail["url"]) == (3, receiver.url)


async def test_an_unreachable_subscriber_does_not_block_the_others(
    store: Store, receiver: Receiver
) -> None:
    dead = Subscriber(url="http://127.0.0.1:9/hook", secret=SECRET)  # discard port: refused
    live = Subscriber(url=receiver.url, secret=SECRET)
    dispatcher = WebhookDispatcher([dead, live], store=store, attempts=2, backoff_s=0)
    await dispatcher.start()
    try:
        dispatcher.notify(samples.case(1))
        dispatcher.notify(samples.case(2))
        await dispatcher.drain()
    finally:
        await dispatcher.close()
    ids = [json.loads(b)["data"]["case"]["case_id"] for b in receiver.bodies]
    assert ids == ["XB-CASE0001", "XB-CASE0002"]
    failed = await store.list_audit()
    assert sorted(r.target for r in failed) == ["XB-CASE0001", "XB-CASE0002"]
    assert all(r.detail and r.detail["url"] == dead.url for r in failed)


async def test_events_queued_at_close_are_audited_not_dropped(
    store: Store, receiver: Receiver
) -> None:
    dispatcher = WebhookDispatcher([Subscriber(url=receiver.url, secret=SECRET)], store=store)
    dispatcher.notify(samples.case(1))  # never started: nothing is sent
    await dispatcher.close()
    assert receiver.bodies == []
    [row] = await store.list_audit()
    assert row.detail is not None
    assert row.detail["error"] == "console stopped before delivery"


async def test_the_stage_on_cases_delivers_to_configured_subscribers(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    subscribers = [{"url": receiver.url, "secret": SECRET}]
    monkeypatch.setenv(WEBHOOKS_ENV, json.dumps(subscribers))
    stage: Stage[Case] = WebhookStage(
        StageContext(settings=Settings(data_dir=tmp_path), store=store)
    )
    await stage.start()
    try:
        assert await stage.handle(samples.case(1)) == []
    finally:
        await stage.close()  # gives queued events their grace period first
    [body] = receiver.bodies
    assert json.loads(body)["data"]["case"]["case_id"] == "XB-CASE0001"
    assert await store.list_audit() == []
