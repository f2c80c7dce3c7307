"""Case-change webhooks from a durable outbox: signed, retried with backoff, parked, logged.

The ``webhooks`` stage reads ``cases`` and, for each change, writes one event (numbered
per case) and one delivery per matching subscription to the store, in one transaction,
before the worker commits the bus offset. A dispatcher task then claims due deliveries
by lease and posts them. So a process killed anywhere after the commit delivers the
event once it is back (a delivery claimed when it died is claimed again when the lease
runs out), and the stage itself never waits on a subscriber: a dead endpoint only fills
its own rows in the outbox.

A subscriber gets ``POST <url>`` with the event as JSON and these headers::

    X-Xianban-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]
    X-Xianban-Event-Id: evt_…        (the same on every retry and redelivery: dedupe by it)
    X-Xianban-Event-Type: case.status_changed
    X-Xianban-Delivery-Id: dlv_…
    X-Xianban-Sequence: 3            (per case: 1, 2, 3 … in the order the case changed)

``v1`` is HMAC-SHA256 of ``"<t>.<body>"`` under the subscription's secret (two ``v1``
while a rotated secret's grace period runs). Signing the timestamp with the body lets the
receiver refuse a replay: ``verify`` is the check, with a 5-minute window.

Per subscription and case, events go out in order: a delivery waits until the case's
earlier one is delivered or parked. Network errors, timeouts, 408, 409, 425, 429 and 5xx
are retried with exponential backoff (``api.webhook_backoff_s`` doubling, jittered, up to
``api.webhook_max_backoff_s``); after ``api.webhook_attempts`` attempts, or at once for any
other 4xx, a delivery is parked: kept with its attempts (the delivery log), written to the
audit log, and sent again only when someone asks (``redeliver``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from pydantic import BaseModel, TypeAdapter, ValidationError

from console.georeport import w3c
from console.masking import mask_data
from console.metrics import WEBHOOK_DELIVERIES
from console.webhook_hosts import Target, UrlRefused, check
from xianban.errors import ConfigError
from xianban.records import Case, Record, stable_id, utcnow
from xianban.settings import ApiSettings
from xianban.stage import StageContext
from xianban.store.ticket_api import (
    Delivery,
    EventHead,
    NewEvent,
    Subscription,
    claim_deliveries,
    deactivate_subscriptions,
    enqueue_events,
    get_subscription,
    put_subscription,
    record_attempt,
    subscriptions_due,
)

if TYPE_CHECKING:
    from xianban.store import Store

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Xianban-Signature"
EVENT_ID_HEADER = "X-Xianban-Event-Id"
EVENT_TYPE_HEADER = "X-Xianban-Event-Type"
DELIVERY_ID_HEADER = "X-Xianban-Delivery-Id"
SEQUENCE_HEADER = "X-Xianban-Sequence"
WEBHOOKS_ENV = "XIANBAN_CONSOLE_WEBHOOKS"
DEFAULT_TOLERANCE_S = 300
EVENT_TYPES = ("case.created", "case.status_changed", "case.updated")
"""``case.created``: the first event about a case; ``case.status_changed``: its status
differs from the previous event's; ``case.updated``: anything else (督办, a reply …)."""
RETRY_STATUSES = frozenset({408, 409, 425, 429})
CLOSE_GRACE_S = 5.0


class SignatureError(ValueError):
    """A webhook delivery whose signature header is missing, malformed, stale or wrong."""


def _mac(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, *, timestamp: int) -> str:
    """The ``X-Xianban-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_mac(body, secret, timestamp)}"


def sign_all(body: bytes, secrets: Sequence[str], *, timestamp: int) -> str:
    """One ``v1`` per secret (the current one first), for a secret being rotated."""
    return f"t={timestamp}," + ",".join(f"v1={_mac(body, s, timestamp)}" for s in secrets)


def verify(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> int:
    """Check a delivery as a subscriber should; returns its timestamp or raises SignatureError.

    ``body`` must be the raw request body, byte for byte, not re-serialised JSON.
    """
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"timestamp is not an integer: {value!r}") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("signature header needs t=<unix> and at least one v1=<hex>")
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance_s:
        raise SignatureError(f"timestamp is {age:.0f}s away from now (tolerance {tolerance_s}s)")
    expected = _mac(body, secret, timestamp)
    if not any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates):
        raise SignatureError("signature does not match the body")
    return timestamp


class Subscriber(BaseModel):
    """A receiver configured by the operator, and the secret it verifies deliveries with."""

    url: str
    secret: str
    event_types: list[str] = list(EVENT_TYPES)


def subscribers_from_env(environ: Mapping[str, str]) -> list[Subscriber]:
    """``XIANBAN_CONSOLE_WEBHOOKS='[{"url": "https://...", "secret": "..."}]'``."""
    raw = environ.get(WEBHOOKS_ENV, "").strip()
    if not raw:
        return []
    try:
        return TypeAdapter(list[Subscriber]).validate_json(raw)
    except ValidationError as exc:
        raise ConfigError(f"{WEBHOOKS_ENV}: {exc.errors(include_url=False)}") from None


# -- events -------------------------------------------------------------------------------


def event_id_of(case: Case) -> str:
    """A digest of the case as it is now: the same case record twice is one event."""
    digest = hashlib.sha256(case.to_bytes()).hexdigest()
    return "evt_" + stable_id(case.case_id, digest, length=20)


def event_type(head: EventHead, status: str) -> str:
    if head.first:
        return "case.created"
    return "case.status_changed" if head.prev_status != status else "case.updated"


def event_body(case: Case, event_id: str, head: EventHead, *, at: datetime) -> tuple[str, str]:
    kind = event_type(head, case.status)
    body = {
        "id": event_id,
        "type": kind,
        "created": int(at.timestamp()),
        "created_at": w3c(at),
        "sequence": head.seq,
        "case_id": case.case_id,
        "status": case.status,
        "previous_status": None if head.first else head.prev_status,
        "data": {"case": case.model_dump(mode="json")},
    }
    return kind, json.dumps(mask_data(body), ensure_ascii=False, separators=(",", ":"))


def wants(sub: Subscription, kind: str, department: str) -> bool:
    if not sub.active:
        return False
    if "*" not in sub.event_types and kind not in sub.event_types:
        return False
    return not sub.departments or department in sub.departments


def new_event(case: Case, *, at: datetime) -> NewEvent:
    event_id = event_id_of(case)
    return NewEvent(
        event_id=event_id,
        case_id=case.case_id,
        status=case.status,
        department=case.department,
        body=lambda head: event_body(case, event_id, head, at=at),
        wants=lambda sub, kind: wants(sub, kind, case.department),
    )


async def enqueue(store: Store, case: Case, *, at: datetime | None = None) -> str | None:
    """Put the case's change in the outbox; its event type, or None for a replayed record."""
    return (await enqueue_all(store, [case], at=at))[0]


async def enqueue_all(
    store: Store, cases: Sequence[Case], *, at: datetime | None = None
) -> list[str | None]:
    """``enqueue`` for the cases of one batch, in order, in one transaction."""
    now = at or utcnow()
    return await enqueue_events(store, [new_event(case, at=now) for case in cases], at=now)


async def configure(store: Store, subscribers: Sequence[Subscriber]) -> list[str]:
    """Make the operator's subscribers subscriptions (origin ``config``); switch off the
    configured ones that are gone. Returns their ids."""
    now = utcnow()
    ids = []
    for sub in subscribers:
        subscription_id = "cfg_" + stable_id(sub.url, length=16)
        ids.append(subscription_id)
        await put_subscription(
            store,
            Subscription(
                subscription_id=subscription_id,
                consumer="config",
                origin="config",
                url=sub.url,
                secret=sub.secret,
                event_types=tuple(sub.event_types),
                departments=(),
                description="XIANBAN_CONSOLE_WEBHOOKS",
                active=True,
                created_at=now,
                updated_at=now,
            ),
        )
    await deactivate_subscriptions(store, origin="config", keep=ids, at=now)
    return ids


# -- delivery -------------------------------------------------------------------------------


class WebhookDispatcher:
    """Delivers the outbox: one lane per subscription with work due, so a slow or dead
    receiver holds up only its own deliveries. ``start`` runs it in the background (its
    task is owned here: ``close`` cancels and awaits it); ``deliver_due`` runs one round
    to the end, for ``run --once`` and tests."""

    def __init__(
        self,
        store: Store,
        settings: ApiSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_s,
            headers={"User-Agent": "xianban-webhooks/2"},
            follow_redirects=False,
            transport=transport,
            trust_env=False,
        )
        self._task: asyncio.Task[None] | None = None
        self._lanes: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="webhooks:dispatcher")

    async def close(self, *, grace_s: float = CLOSE_GRACE_S) -> None:
        """Stop; deliveries due now get ``grace_s`` to go out, the rest wait in the outbox."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.deliver_due(), grace_s)
        lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            lane.cancel()
        for lane in lanes:
            with contextlib.suppress(asyncio.CancelledError):
                await lane
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self.wake()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhooks.poll_failed")  # the store is down: try again later
            await asyncio.sleep(self._settings.webhook_poll_s)

    async def wake(self) -> None:
        """Start a lane for each subscription with a delivery due and no lane running."""
        for subscription_id in await subscriptions_due(self._store, now=utcnow()):
            lane = self._lanes.get(subscription_id)
            if lane is None or lane.done():
                self._lanes[subscription_id] = asyncio.create_task(
                    self._lane(subscription_id), name=f"webhooks:{subscription_id}"
                )

    async def deliver_due(self) -> None:
        """Deliver until nothing is due now (retries scheduled later are left for later)."""
        while True:
            due = await subscriptions_due(self._store, now=utcnow())
            if not due:
                return
            await asyncio.gather(*(self._lane(s) for s in due))

    async def _lane(self, subscription_id: str) -> None:
        settings = self._settings
        while True:
            sub = await get_subscription(self._store, subscription_id)
            if sub is None or not sub.active:
                return
            batch = await claim_deliveries(
                self._store,
                subscription_id=subscription_id,
                now=utcnow(),
                lease=timedelta(seconds=settings.webhook_lease_s),
                limit=settings.webhook_concurrency,
            )
            if not batch:
                return
            await asyncio.gather(*(self._attempt(sub, d) for d in batch))

    async def _attempt(self, sub: Subscription, delivery: Delivery) -> None:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry = False
        try:
            target = await self._target(sub)
            response = await self._post(target, sub, delivery)
            status = response.status_code
            if status >= 300:
                error = f"HTTP {status}"
                retry = status >= 500 or status in RETRY_STATUSES
        except UrlRefused as exc:
            error = str(exc)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            retry = True
        except Exception as exc:  # a bug must not stop the lane: log, count, retry later
            log.exception("webhooks.attempt_crashed", delivery_id=delivery.delivery_id)
            error = f"{type(exc).__name__}: {exc}"
            retry = True
        await self._settle(sub, delivery, status, error, retry, started)

    async def _target(self, sub: Subscription) -> Target:
        if sub.origin == "api":
            return await check(sub.url, self._settings)
        return Target(url=sub.url, host="", address=None)

    async def _post(self, target: Target, sub: Subscription, delivery: Delivery) -> httpx.Response:
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign_all(body, sub.secrets(utcnow()), timestamp=int(time.time())),
            EVENT_ID_HEADER: delivery.event_id,
            EVENT_TYPE_HEADER: delivery.event_type,
            DELIVERY_ID_HEADER: delivery.delivery_id,
            SEQUENCE_HEADER: str(delivery.seq),
        }
        url = httpx.URL(target.url)
        extensions: dict[str, Any] = {}
        if target.address is not None:
            # Connect to the address that was checked, not to a fresh DNS answer.
            headers["Host"] = url.netloc.decode("ascii")
            extensions["sni_hostname"] = target.host
            url = url.copy_with(host=target.address)
        return await self._client.post(url, content=body, headers=headers, extensions=extensions)

    async def _settle(
        self,
        sub: Subscription,
        delivery: Delivery,
        status: int | None,
        error: str | None,
        retry: bool,
        started: float,
    ) -> None:
        settings = self._settings
        now = utcnow()
        duration_ms = int((time.monotonic() - started) * 1000)
        attempts = delivery.attempts + 1
        if error is None:
            WEBHOOK_DELIVERIES.labels(outcome="delivered").inc()
            await record_attempt(
                self._store,
                delivery.delivery_id,
                at=now,
                status_code=status,
                error=None,
                duration_ms=duration_ms,
                outcome="delivered",
            )
            return
        if retry and attempts < settings.webhook_attempts:
            WEBHOOK_DELIVERIES.labels(outcome="retry").inc()
            wait = min(
                settings.webhook_backoff_s * 2 ** (attempts - 1), settings.webhook_max_backoff_s
            )
            wait *= random.uniform(0.8, 1.2)
            log.warning("webhook.retry", url=sub.url, delivery_id=delivery.delivery_id, error=error)
            await record_attempt(
                self._store,
                delivery.delivery_id,
                at=now,
                status_code=status,
                error=error,
                duration_ms=duration_ms,
                outcome="retry",
                next_attempt_at=now + timedelta(seconds=wait),
            )
            return
        WEBHOOK_DELIVERIES.labels(outcome="parked").inc()
        log.error("webhook.parked", url=sub.url, delivery_id=delivery.delivery_id, error=error)
        await record_attempt(
            self._store,
            delivery.delivery_id,
            at=now,
            status_code=status,
            error=error,
            duration_ms=duration_ms,
            outcome="parked",
        )
        with contextlib.suppress(Exception):  # the store is down too: the log line remains
            await self._store.audit(
                actor="webhooks",
                action="webhook.parked",
                target=delivery.case_id,
                detail={
                    "subscription_id": sub.subscription_id,
                    "url": sub.url,
                    "event_id": delivery.event_id,
                    "delivery_id": delivery.delivery_id,
                    "error": error,
                    "attempts": attempts,
                },
            )


class WebhookStage:
    """The outbox writer as a stage on ``cases`` (group ``webhooks``), with its dispatcher.

    Subscriptions are the consumers' (``/api/v1/webhooks``) and the operator's
    ``XIANBAN_CONSOLE_WEBHOOKS``, synced on start.
    """

    name = "webhooks"
    input = Case

    def __init__(self, ctx: StageContext) -> None:
        self._store = ctx.store
        self._dispatcher = WebhookDispatcher(ctx.store, ctx.settings.api)

    async def start(self) -> None:
        await configure(self._store, subscribers_from_env(os.environ))
        await self._dispatcher.start()

    async def handle(self, record: Case) -> Sequence[Record]:
        await enqueue(self._store, record)
        return []

    async def handle_batch(self, records: Sequence[Case]) -> Sequence[Sequence[Record]]:
        await enqueue_all(self._store, records)
        return [[] for _ in records]

    async def close(self) -> None:
        await self._dispatcher.close()
