"""Case-change webhooks: signed like Stripe's, retried with backoff, one queue per subscriber.

A subscriber gets ``POST <url>`` with the event as JSON and the header
``X-Xianban-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is HMAC-SHA256 of
``"<t>.<body>"`` under the subscriber's secret. Signing the timestamp with the body lets
the receiver refuse replays of an old delivery; ``verify`` below is the check a receiver
runs (it accepts several ``v1`` values, so a secret can be rotated without downtime).

Delivery is at-least-once while the process lives: network errors, 429 and 5xx are
retried with exponential backoff; any other 4xx means the subscriber refuses the event,
so retrying is pointless. An event given up on is written to the audit log with the
error, and the case itself stays readable through the ticket API, so nothing is lost
without a trace. Each subscriber has its own queue and task, so a slow or dead receiver
does not delay the others; events to one subscriber keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from pydantic import BaseModel, TypeAdapter, ValidationError

from console.masking import mask_data
from console.metrics import WEBHOOK_DELIVERIES
from xianban.errors import ConfigError
from xianban.records import Case, Record, stable_id, utcnow
from xianban.stage import StageContext

if TYPE_CHECKING:
    from xianban.store import Store

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Xianban-Signature"
EVENT_ID_HEADER = "X-Xianban-Event-Id"
WEBHOOKS_ENV = "XIANBAN_CONSOLE_WEBHOOKS"
DEFAULT_TOLERANCE_S = 300
MAX_BACKOFF_S = 60.0


class SignatureError(ValueError):
    """A webhook delivery whose signature header is missing, malformed, stale or wrong."""


def sign(body: bytes, secret: str, *, timestamp: int) -> str:
    """The ``X-Xianban-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


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
    expected = sign(body, secret, timestamp=timestamp).partition("v1=")[2]
    if not any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates):
        raise SignatureError("signature does not match the body")
    return timestamp


class Subscriber(BaseModel):
    """A receiver of case events and the secret it verifies them with."""

    url: str
    secret: str


def subscribers_from_env(environ: Mapping[str, str]) -> list[Subscriber]:
    """``XIANBAN_CONSOLE_WEBHOOKS='[{"url": "https://...", "secret": "..."}]'``."""
    raw = environ.get(WEBHOOKS_ENV, "").strip()
    if not raw:
        return []
    try:
        return TypeAdapter(list[Subscriber]).validate_json(raw)
    except ValidationError as exc:
        raise ConfigError(f"{WEBHOOKS_ENV}: {exc.errors(include_url=False)}") from None


def case_event(case: Case) -> dict[str, Any]:
    """The event for a case's current state; its id is stable, so receivers can dedupe."""
    return {
        "id": "evt_" + stable_id(case.case_id, case.status, str(len(case.history))),
        "type": "case.changed",
        "created": int(utcnow().timestamp()),
        "data": {"case": mask_data(case.model_dump(mode="json"))},
    }


@dataclass(frozen=True, slots=True)
class _Delivery:
    event_id: str
    case_id: str
    body: bytes


class _Transient(Exception):
    """The subscriber answered 429 or 5xx: worth another try later."""


class _Permanent(Exception):
    """The subscriber refused the event (a 4xx other than 429)."""


class WebhookDispatcher:
    """Owns one queue and one delivery task per subscriber; ``close`` cancels and awaits."""

    def __init__(
        self,
        subscribers: Sequence[Subscriber],
        *,
        store: Store,
        attempts: int = 6,
        backoff_s: float = 1.0,
        timeout_s: float = 10.0,
    ) -> None:
        self._subscribers = list(subscribers)
        self._store = store
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._client = httpx.AsyncClient(
            timeout=timeout_s, headers={"User-Agent": "xianban-webhooks/1"}
        )
        self._queues: list[asyncio.Queue[_Delivery]] = [asyncio.Queue() for _ in subscribers]
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(sub, queue), name=f"webhook:{sub.url}")
            for sub, queue in zip(self._subscribers, self._queues, strict=True)
        ]

    def notify(self, case: Case) -> None:
        """Queue the case's change for every subscriber; returns at once."""
        event = case_event(case)
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        for queue in self._queues:
            queue.put_nowait(_Delivery(event_id=event["id"], case_id=case.case_id, body=body))

    async def drain(self) -> None:
        """Wait until every queued event has been delivered or given up on."""
        await asyncio.gather(*(q.join() for q in self._queues))

    async def close(self, *, grace_s: float = 5.0) -> None:
        """Give queued events ``grace_s`` to go out, then stop; what is left is audited."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drain(), grace_s)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for sub, queue in zip(self._subscribers, self._queues, strict=True):
            while not queue.empty():
                item = queue.get_nowait()
                await self._give_up(sub, item, "console stopped before delivery", attempts=0)
        await self._client.aclose()

    async def _run(self, sub: Subscriber, queue: asyncio.Queue[_Delivery]) -> None:
        while True:
            item = await queue.get()
            try:
                await self._deliver(sub, item)
            except asyncio.CancelledError:
                await self._give_up(sub, item, "console stopped during delivery", attempts=0)
                raise
            except Exception as exc:
                # A bug here must not kill the subscriber's queue; it is logged and audited.
                log.exception("webhook.crashed", url=sub.url, event_id=item.event_id)
                await self._give_up(sub, item, f"{type(exc).__name__}: {exc}", attempts=0)
            finally:
                queue.task_done()

    async def _deliver(self, sub: Subscriber, item: _Delivery) -> None:
        error = ""
        for attempt in range(1, self._attempts + 1):
            try:
                await self._post(sub, item)
            except _Permanent as exc:
                await self._give_up(sub, item, str(exc), attempts=attempt)
                return
            except (httpx.HTTPError, _Transient) as exc:
                WEBHOOK_DELIVERIES.labels(outcome="retry").inc()
                error = f"{type(exc).__name__}: {exc}"
                log.warning("webhook.retry", url=sub.url, attempt=attempt, error=error)
                if attempt < self._attempts:
                    await asyncio.sleep(min(self._backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            else:
                WEBHOOK_DELIVERIES.labels(outcome="delivered").inc()
                return
        await self._give_up(sub, item, error, attempts=self._attempts)

    async def _post(self, sub: Subscriber, item: _Delivery) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(item.body, sub.secret, timestamp=int(time.time())),
            EVENT_ID_HEADER: item.event_id,
        }
        response = await self._client.post(sub.url, content=item.body, headers=headers)
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise _Permanent(f"HTTP {response.status_code}")

    async def _give_up(
        self, sub: Subscriber, item: _Delivery, error: str, *, attempts: int
    ) -> None:
        WEBHOOK_DELIVERIES.labels(outcome="failed").inc()
        log.error("webhook.failed", url=sub.url, event_id=item.event_id, error=error)
        try:
            await self._store.audit(
                actor="webhooks",
                action="webhook.failed",
                target=item.case_id,
                detail={
                    "url": sub.url,
                    "event_id": item.event_id,
                    "error": error,
                    "attempts": attempts,
                },
            )
        except Exception:
            # The store is down too: the log line above is all that is left to keep.
            log.exception("webhook.audit_failed", url=sub.url, event_id=item.event_id)


class WebhookStage:
    """The dispatcher as a stage on ``cases`` (group ``webhooks``), for the wiring's registry.

    Subscribers come from ``XIANBAN_CONSOLE_WEBHOOKS``; with none, cases are read and
    nothing is sent.
    """

    name = "webhooks"
    input = Case

    def __init__(self, ctx: StageContext) -> None:
        self._dispatcher = WebhookDispatcher(subscribers_from_env(os.environ), store=ctx.store)

    async def start(self) -> None:
        await self._dispatcher.start()

    async def handle(self, record: Case) -> Sequence[Record]:
        self._dispatcher.notify(record)
        return []

    async def close(self) -> None:
        await self._dispatcher.close()
