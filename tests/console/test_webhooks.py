"""Webhooks from the durable outbox: the signature recipe, retries and parking, redelivery,
per-case order, a dead endpoint that never holds up the stage, a crash after the commit,
subscriptions over the API and the hosts they may point at."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI

from console import tokens
from console.webhook_hosts import UrlRefused, check
from console.webhooks import (
    EVENT_ID_HEADER,
    SEQUENCE_HEADER,
    SIGNATURE_HEADER,
    WEBHOOKS_ENV,
    SignatureError,
    Subscriber,
    WebhookDispatcher,
    WebhookStage,
    configure,
    enqueue,
    enqueue_all,
    sign,
    sign_all,
    subscribers_from_env,
    verify,
)
from tests.console import samples
from xianban.errors import ConfigError
from xianban.records import Case, CaseEvent
from xianban.settings import ApiSettings, Settings
from xianban.stage import Stage, StageContext
from xianban.store import Store
from xianban.store.ticket_api import delivery_counts

SECRET = "whsec_test_0123456789"
ROOT = Path(__file__).resolve().parents[2]
FAST = ApiSettings(
    webhook_backoff_s=0,
    webhook_attempts=3,
    webhook_timeout_s=2,
    webhook_internal_hosts=["127.0.0.1"],
)


def receiver_check(raw_body: bytes, header: str, secret: str, now: float) -> bool:
    """The recipe of docs/API.md, written with the standard library only."""
    parts = [p.split("=", 1) for p in header.split(",")]
    timestamp = next(int(v) for k, v in parts if k == "t")
    signatures = [v for k, v in parts if k == "v1"]
    if abs(now - timestamp) > 300:
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256
    ).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


def test_the_documented_recipe_verifies_a_signature() -> None:
    body = b'{"id":"evt_1","type":"case.status_changed"}'
    header = sign(body, SECRET, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert receiver_check(body, header, SECRET, now=1_700_000_100)
    assert verify(body, header, SECRET, now=1_700_000_100) == 1_700_000_000
    assert not receiver_check(body + b" ", header, SECRET, now=1_700_000_100)
    assert not receiver_check(body, header, SECRET, now=1_700_000_000 + 301)  # a replay
    rotated = sign_all(body, ["new-secret", SECRET], timestamp=1_700_000_000)
    assert receiver_check(body, rotated, SECRET, now=1_700_000_000)
    assert receiver_check(body, rotated, "new-secret", now=1_700_000_000)


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


def test_subscribers_from_the_environment() -> None:
    raw = json.dumps([{"url": "http://127.0.0.1:9/hook", "secret": "s"}])
    assert [s.url for s in subscribers_from_env({WEBHOOKS_ENV: raw})] == ["http://127.0.0.1:9/hook"]
    assert subscribers_from_env({}) == []
    with pytest.raises(ConfigError, match=WEBHOOKS_ENV):
        subscribers_from_env({WEBHOOKS_ENV: '[{"url": "x"}]'})


@dataclass
class Receiver:
    """A subscriber on a real local port: answers the scripted statuses in turn (the last
    one for ever), or holds every request while ``hold`` is set."""

    statuses: list[int] = field(default_factory=lambda: [200])
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    hold: asyncio.Event | None = None
    per_case: dict[str, list[int]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        case_id = json.loads(body)["case_id"]
        script = self.per_case.get(case_id)
        if script:
            return web.Response(status=script.pop(0))
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return web.Response(status=status)

    def events(self) -> list[dict[str, object]]:
        return [json.loads(b) for b in self.bodies]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver()
    app = web.Application()
    app.router.add_post("/hook", got.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    got.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield got
    finally:
        if got.hold is not None:
            got.hold.set()
        await runner.cleanup()


def changed(case: Case, status: str, minutes: int) -> Case:
    event = CaseEvent(at=case.opened_at.replace(minute=minutes), status=status, note=status)
    return case.model_copy(update={"status": status, "history": [*case.history, event]})


async def _subscribe(store: Store, url: str) -> None:
    await configure(store, [Subscriber(url=url, secret=SECRET)])


async def test_a_change_is_delivered_signed_numbered_and_masked(
    store: Store, receiver: Receiver
) -> None:
    await _subscribe(store, receiver.url)
    case = samples.case(1)
    assert await enqueue(store, case) == "case.created"
    assert await enqueue(store, case) is None  # the same record again: one event
    assert await enqueue(store, changed(case, "in_progress", 50)) == "case.status_changed"
    dispatcher = WebhookDispatcher(store, FAST)
    await dispatcher.deliver_due()
    await dispatcher.close()
    first, second = receiver.events()
    assert (first["type"], first["sequence"], second["sequence"]) == ("case.created", 1, 2)
    assert second["previous_status"] == "dispatched" and second["status"] == "in_progress"
    for body, headers in zip(receiver.bodies, receiver.headers, strict=True):
        assert verify(body, headers[SIGNATURE_HEADER], SECRET) > 0
        assert headers[EVENT_ID_HEADER] == json.loads(body)["id"]
    assert receiver.headers[1][SEQUENCE_HEADER] == "2"
    assert samples.PHONE.encode() not in b"".join(receiver.bodies)
    assert await delivery_counts(store) == {"pending": 0, "delivered": 2, "parked": 0}


async def test_a_batch_enqueues_what_one_by_one_would(store: Store) -> None:
    await _subscribe(store, "https://hooks.example.cn/a")

    def stream(first: int) -> list[Case]:
        one, two = samples.case(first), samples.case(first + 1)
        moved = changed(one, "in_progress", 50)
        return [one, one, moved, two, moved, changed(two, "resolved", 55), one]

    singly = [await enqueue(store, case) for case in stream(1)]
    await enqueue(store, samples.case(10))  # in the outbox before its batch comes again
    batched = await enqueue_all(store, [samples.case(10), *stream(11)])
    created, changed_ = "case.created", "case.status_changed"
    assert singly == [created, None, changed_, created, None, changed_, None]
    assert batched == [None, *singly]
    assert await delivery_counts(store) == {"pending": 9, "delivered": 0, "parked": 0}


async def test_a_dead_endpoint_is_retried_then_parked_and_audited(
    store: Store, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    await _subscribe(store, receiver.url)
    await enqueue(store, samples.case(1))
    dispatcher = WebhookDispatcher(store, FAST)
    await dispatcher.deliver_due()
    await dispatcher.close()
    assert len(receiver.bodies) == FAST.webhook_attempts
    assert await delivery_counts(store) == {"pending": 0, "delivered": 0, "parked": 1}
    audit = await store.list_audit()
    assert audit[0].action == "webhook.parked" and audit[0].target == "XB-CASE0001"
    assert audit[0].detail is not None and audit[0].detail["error"] == "HTTP 503"


async def test_a_refusal_parks_at_once_and_an_unreachable_port_is_retried(
    store: Store, receiver: Receiver
) -> None:
    receiver.statuses = [410]
    await configure(
        store,
        [
            Subscriber(url=receiver.url, secret=SECRET),
            Subscriber(url="http://127.0.0.1:9/closed", secret=SECRET),
        ],
    )
    await enqueue(store, samples.case(1))
    dispatcher = WebhookDispatcher(store, FAST)
    await dispatcher.deliver_due()
    await dispatcher.close()
    assert len(receiver.bodies) == 1
    assert await delivery_counts(store) == {"pending": 0, "delivered": 0, "parked": 2}


async def test_a_hanging_endpoint_never_holds_up_the_stage(
    store: Store, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.hold = asyncio.Event()
    monkeypatch.setenv(WEBHOOKS_ENV, json.dumps([{"url": receiver.url, "secret": SECRET}]))
    settings = Settings(data_dir=tmp_path, api=FAST.model_copy(update={"webhook_poll_s": 0.05}))
    stage = WebhookStage(StageContext(settings=settings, store=store))
    _: Stage[Case] = stage  # the stage protocol
    await stage.start()
    try:
        await stage.handle(samples.case(1))
        await receiver.arrived.wait()  # the dispatcher has it in flight, and it hangs there
        for n in range(2, 6):  # the stage goes on writing while the receiver hangs
            await stage.handle(samples.case(n))
        assert not receiver.hold.is_set()
        counts = await delivery_counts(store)
        assert counts["pending"] == 5
    finally:
        receiver.hold.set()
        await stage.close()


async def test_events_of_a_case_go_out_in_order_while_others_pass(
    store: Store, receiver: Receiver
) -> None:
    receiver.per_case = {"XB-CASE0001": [500, 500]}  # its first event fails twice
    await _subscribe(store, receiver.url)
    first = samples.case(1)
    for case in (first, changed(first, "in_progress", 50), changed(first, "resolved", 55)):
        await enqueue(store, case)
    await enqueue(store, samples.case(2))
    settings = FAST.model_copy(update={"webhook_attempts": 5})
    dispatcher = WebhookDispatcher(store, settings)
    await dispatcher.deliver_due()
    await dispatcher.close()
    sent = [(e["case_id"], e["sequence"]) for e in receiver.events()]
    ones = [seq for case_id, seq in sent if case_id == "XB-CASE0001"]
    assert ones == [1, 1, 1, 2, 3]  # retried in place; 2 and 3 waited for it
    assert sent.index(("XB-CASE0002", 1)) < sent.index(("XB-CASE0001", 2))
    assert await delivery_counts(store) == {"pending": 0, "delivered": 4, "parked": 0}


async def test_a_parked_delivery_is_redelivered_on_request_over_the_api(
    store: Store, receiver: Receiver, client: httpx.AsyncClient, app: FastAPI
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"api": FAST})
    secret, _ = await tokens.issue(store, consumer="longhua", scopes=["webhooks:manage"])
    auth = {"Authorization": f"Bearer {secret}"}
    made = await client.post(
        "/api/v1/webhooks", headers=auth, json={"url": receiver.url, "event_types": ["*"]}
    )
    assert made.status_code == 201, made.text
    sub = made.json()
    receiver.statuses = [500, 500, 500, 200]
    await enqueue(store, samples.case(1))
    dispatcher = WebhookDispatcher(store, FAST)
    await dispatcher.deliver_due()
    base = f"/api/v1/webhooks/{sub['subscription_id']}"
    parked = (await client.get(f"{base}/deliveries?status=parked", headers=auth)).json()
    delivery = parked["deliveries"][0]
    assert delivery["attempts"] == 3 and delivery["last_error"] == "HTTP 500"
    logged = await client.get(f"{base}/deliveries/{delivery['delivery_id']}", headers=auth)
    assert [a["status_code"] for a in logged.json()["log"]] == [500, 500, 500]
    again = await client.post(
        f"{base}/deliveries/{delivery['delivery_id']}/redeliver", headers=auth
    )
    assert again.status_code == 202 and again.json()["status"] == "pending"
    await dispatcher.deliver_due()
    await dispatcher.close()
    done = (await client.get(f"{base}/deliveries", headers=auth)).json()["deliveries"]
    assert done[0]["status"] == "delivered"
    bodies = receiver.bodies
    assert len({json.loads(b)["id"] for b in bodies}) == 1  # the same event each time
    assert verify(bodies[-1], receiver.headers[-1][SIGNATURE_HEADER], sub["secret"]) > 0


async def test_subscriptions_are_the_consumers_own_and_urls_are_checked(
    store: Store, client: httpx.AsyncClient, app: FastAPI
) -> None:
    secret, _ = await tokens.issue(store, consumer="a", scopes=["webhooks:manage"])
    other, _ = await tokens.issue(store, consumer="b", scopes=["webhooks:manage"])
    auth = {"Authorization": f"Bearer {secret}"}
    for url, status, code in (
        ("http://127.0.0.1:8000/hook", 403, "webhook_url_refused"),
        ("https://127.0.0.1/hook", 403, "webhook_url_refused"),
        ("https://169.254.169.254/latest/meta-data", 403, "webhook_url_refused"),
        ("https://[::ffff:10.0.0.1]/x", 403, "webhook_url_refused"),
        ("https://user:pw@hooks.example.cn/x", 422, "invalid_parameter"),
        ("ftp://hooks.example.cn/x", 422, "invalid_parameter"),
    ):
        refused = await client.post("/api/v1/webhooks", headers=auth, json={"url": url})
        assert refused.status_code == status, url
        assert refused.json()["code"] == code, url
    app.state.settings = app.state.settings.model_copy(update={"api": FAST})
    made = await client.post(
        "/api/v1/webhooks", headers=auth, json={"url": "http://127.0.0.1:9/hook"}
    )
    assert made.status_code == 201
    sub_id = made.json()["subscription_id"]
    theirs = await client.get(
        f"/api/v1/webhooks/{sub_id}", headers={"Authorization": f"Bearer {other}"}
    )
    assert theirs.status_code == 404
    listed = (await client.get("/api/v1/webhooks", headers=auth)).json()
    assert [w["subscription_id"] for w in listed["webhooks"]] == [sub_id]
    assert "secret" not in listed["webhooks"][0]
    rotated = await client.post(f"/api/v1/webhooks/{sub_id}/rotate-secret", headers=auth, json={})
    assert rotated.json()["secret"] != made.json()["secret"]
    assert (await client.delete(f"/api/v1/webhooks/{sub_id}", headers=auth)).status_code == 204
    assert not (await client.get("/api/v1/webhooks", headers=auth)).json()["webhooks"][0]["active"]


async def test_allowed_hosts_and_internal_addresses() -> None:
    strict = ApiSettings(webhook_allowed_hosts=["*.example.cn"])
    with pytest.raises(UrlRefused, match="不在允许"):
        await check("https://hooks.other.cn/x", strict)
    with pytest.raises(UrlRefused, match="内部地址"):
        await check("https://10.1.2.3/x", ApiSettings())
    with pytest.raises(UrlRefused, match="内部地址"):
        await check("https://localhost/x", ApiSettings())
    public = await check("https://93.184.215.14/x", ApiSettings())
    assert public.address == "93.184.215.14"
    trusted = await check("http://127.0.0.1:9/x", ApiSettings(webhook_internal_hosts=["127.0.0.1"]))
    assert trusted.address is None


CRASHING = """
import asyncio, os, sys
from console.webhooks import Subscriber, configure, enqueue
from tests.console import samples
from xianban.store import Store

async def main():
    store = await Store.open(sys.argv[1])
    await configure(store, [Subscriber(url=sys.argv[2], secret="s")])
    await enqueue(store, samples.case(1))  # committed: the worker would commit its offset now
    os.kill(os.getpid(), 9)  # killed before any delivery

asyncio.run(main())
"""


async def test_killed_between_commit_and_delivery_it_delivers_once_restarted(
    tmp_path: Path, receiver: Receiver
) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path / 'hooks.db').as_posix()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", CRASHING, url, receiver.url],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert receiver.bodies == []
    store = await Store.open(url)
    try:
        assert (await delivery_counts(store))["pending"] == 1
        dispatcher = WebhookDispatcher(store, FAST)  # the restarted process
        await dispatcher.deliver_due()
        await dispatcher.close()
        assert [e["case_id"] for e in receiver.events()] == ["XB-CASE0001"]
        assert await delivery_counts(store) == {"pending": 0, "delivered": 1, "parked": 0}
    finally:
        await store.close()


async def test_killed_mid_request_the_delivery_is_claimed_again(
    store: Store, receiver: Receiver
) -> None:
    receiver.hold = asyncio.Event()
    await _subscribe(store, receiver.url)
    await enqueue(store, samples.case(1))
    short = FAST.model_copy(update={"webhook_lease_s": 0.2})
    dying = WebhookDispatcher(store, short)
    attempt = asyncio.create_task(dying.deliver_due())
    await receiver.arrived.wait()
    attempt.cancel()  # the process dies with the request in flight: no attempt recorded
    with pytest.raises(asyncio.CancelledError):
        await attempt
    await dying.close(grace_s=0)
    receiver.hold.set()
    for _ in range(200):  # until the lease has run out and a restarted dispatcher claims it
        restarted = WebhookDispatcher(store, short)
        await restarted.deliver_due()
        await restarted.close(grace_s=0)
        if (await delivery_counts(store))["delivered"]:
            break
        await asyncio.sleep(0.05)
    assert await delivery_counts(store) == {"pending": 0, "delivered": 1, "parked": 0}
    assert len(receiver.bodies) == 2  # at least once: the receiver dedupes by event id
    assert len({json.loads(b)["id"] for b in receiver.bodies}) == 1
