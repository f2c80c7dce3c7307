"""What the ticket API keeps besides the bus records (migration 0003).

* ``api_tokens``: consumers' tokens, only their SHA-256 digest, with scopes, the
  departments a consumer may write back for, expiry and revocation (a rotated token
  expires after its grace period);
* ``webhook_subscriptions``: a consumer's endpoint, the event types it wants and the
  secret deliveries are signed with (kept readable: signing needs it);
* ``webhook_events``: each case change once (its id is a digest of the case), numbered per
  case; ``webhook_case_heads`` holds each case's last number and status;
* ``webhook_deliveries``: one row per event and subscription: the durable outbox the
  dispatcher claims from (pending → delivered | parked), with its attempts in
  ``webhook_attempts``, the delivery log.

Enqueueing an event and its deliveries is one transaction, so a case the webhook stage
has committed on the bus is in the outbox; delivery is claimed by lease, so a dispatcher
killed mid-request leaves the row to be claimed again once the lease runs out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, aliased, mapped_column

from xianban.records import stable_id, utcnow
from xianban.store.store import Store
from xianban.store.tables import Base

DeliveryStatus = Literal["pending", "delivered", "parked"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "parked")


class ApiTokens(Base):
    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(128), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    departments: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    rotated_from: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None]


class WebhookSubscriptions(Base):
    __tablename__ = "webhook_subscriptions"

    subscription_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(128), index=True)
    origin: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None]
    event_types: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    departments: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    description: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookCaseHeads(Base):
    __tablename__ = "webhook_case_heads"

    case_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    prev_status: Mapped[str | None] = mapped_column(String(32))


class WebhookEvents(Base):
    __tablename__ = "webhook_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(512))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(512))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_webhook_events_case_id_seq"),)


class WebhookDeliveries(Base):
    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("webhook_events.event_id", ondelete="CASCADE")
    )
    subscription_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("webhook_subscriptions.subscription_id", ondelete="CASCADE")
    )
    case_id: Mapped[str] = mapped_column(String(512))
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_case_seq", "subscription_id", "case_id", "seq"),
    )


class WebhookAttempts(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("webhook_deliveries.delivery_id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)


# -- rows as the console sees them ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiToken:
    token_id: str
    consumer: str
    scopes: tuple[str, ...]
    departments: tuple[str, ...]
    note: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    rotated_from: str | None = None
    last_used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    consumer: str
    origin: str
    """``api`` (made by a consumer, URL checked against the allowed hosts) or ``config``."""
    url: str
    secret: str
    event_types: tuple[str, ...]
    departments: tuple[str, ...]
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None

    def secrets(self, now: datetime) -> list[str]:
        """Secrets to sign with: the current one, and the previous one in its grace period."""
        out = [self.secret]
        until = self.previous_secret_until
        if self.previous_secret and until is not None and until > now:
            out.append(self.previous_secret)
        return out


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    event_id: str
    subscription_id: str
    case_id: str
    seq: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    event_type: str
    body: str
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


# -- tokens ---------------------------------------------------------------------------------


async def add_token(store: Store, token: ApiToken, *, secret_hash: str) -> None:
    async with store._tx() as conn:
        await conn.execute(
            store._insert(ApiTokens).values(
                token_id=token.token_id,
                consumer=token.consumer,
                secret_hash=secret_hash,
                scopes=list(token.scopes),
                departments=list(token.departments),
                note=token.note,
                created_at=token.created_at,
                expires_at=token.expires_at,
                revoked_at=token.revoked_at,
                rotated_from=token.rotated_from,
                last_used_at=None,
            )
        )


async def token_by_hash(store: Store, secret_hash: str) -> ApiToken | None:
    async with store._tx() as conn:
        row = (
            await conn.execute(select(ApiTokens).where(ApiTokens.secret_hash == secret_hash))
        ).first()
    return None if row is None else _token(row)


async def get_token(store: Store, token_id: str) -> ApiToken | None:
    async with store._tx() as conn:
        row = (await conn.execute(select(ApiTokens).where(ApiTokens.token_id == token_id))).first()
    return None if row is None else _token(row)


async def list_tokens(store: Store, *, consumer: str | None = None) -> list[ApiToken]:
    query = select(ApiTokens).order_by(ApiTokens.created_at, ApiTokens.token_id)
    if consumer is not None:
        query = query.where(ApiTokens.consumer == consumer)
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [_token(r) for r in rows]


async def end_token(store: Store, token_id: str, *, at: datetime, revoke: bool) -> bool:
    """Revoke now (``revoke``), or let the token expire at ``at`` (after a rotation) unless
    it expires sooner already; False when there is no such token."""
    query = update(ApiTokens).where(ApiTokens.token_id == token_id)
    if revoke:
        query = query.values(revoked_at=at)
    else:
        query = query.where(or_(ApiTokens.expires_at.is_(None), ApiTokens.expires_at > at)).values(
            expires_at=at
        )
    async with store._tx() as conn:
        if (await conn.execute(query.returning(ApiTokens.token_id))).first() is not None:
            return True
        found = await conn.scalar(select(ApiTokens.token_id).where(ApiTokens.token_id == token_id))
        return found is not None


async def touch_token(store: Store, token_id: str, *, at: datetime) -> None:
    async with store._tx() as conn:
        await conn.execute(
            update(ApiTokens).where(ApiTokens.token_id == token_id).values(last_used_at=at)
        )


def _token(row: Any) -> ApiToken:
    return ApiToken(
        token_id=row.token_id,
        consumer=row.consumer,
        scopes=tuple(row.scopes or ()),
        departments=tuple(row.departments or ()),
        note=row.note,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        rotated_from=row.rotated_from,
        last_used_at=row.last_used_at,
    )


# -- subscriptions --------------------------------------------------------------------------


async def put_subscription(store: Store, sub: Subscription) -> None:
    """Create a subscription, or replace the one with this id (configured ones on start)."""
    values = {
        "consumer": sub.consumer,
        "origin": sub.origin,
        "url": sub.url,
        "secret": sub.secret,
        "previous_secret": sub.previous_secret,
        "previous_secret_until": sub.previous_secret_until,
        "event_types": list(sub.event_types),
        "departments": list(sub.departments),
        "description": sub.description,
        "active": sub.active,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
    }
    insert = store._insert(WebhookSubscriptions).values(
        subscription_id=sub.subscription_id, **values
    )
    values.pop("created_at")
    async with store._tx() as conn:
        await conn.execute(
            insert.on_conflict_do_update(index_elements=["subscription_id"], set_=values)
        )


async def get_subscription(store: Store, subscription_id: str) -> Subscription | None:
    query = select(WebhookSubscriptions).where(
        WebhookSubscriptions.subscription_id == subscription_id
    )
    async with store._tx() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else _subscription(row)


async def list_subscriptions(
    store: Store, *, consumer: str | None = None, active: bool | None = None
) -> list[Subscription]:
    query = select(WebhookSubscriptions).order_by(
        WebhookSubscriptions.created_at, WebhookSubscriptions.subscription_id
    )
    if consumer is not None:
        query = query.where(WebhookSubscriptions.consumer == consumer)
    if active is not None:
        query = query.where(WebhookSubscriptions.active == active)
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [_subscription(r) for r in rows]


async def deactivate_subscriptions(
    store: Store, *, origin: str, keep: Sequence[str], at: datetime
) -> None:
    """Switch off the subscriptions of ``origin`` not in ``keep`` (configured ones removed)."""
    query = (
        update(WebhookSubscriptions)
        .where(
            WebhookSubscriptions.origin == origin,
            WebhookSubscriptions.subscription_id.not_in(list(keep)),
        )
        .values(active=False, updated_at=at)
    )
    async with store._tx() as conn:
        await conn.execute(query)


def _subscription(row: Any) -> Subscription:
    return Subscription(
        subscription_id=row.subscription_id,
        consumer=row.consumer,
        origin=row.origin,
        url=row.url,
        secret=row.secret,
        previous_secret=row.previous_secret,
        previous_secret_until=row.previous_secret_until,
        event_types=tuple(row.event_types or ()),
        departments=tuple(row.departments or ()),
        description=row.description,
        active=bool(row.active),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# -- events and the delivery outbox ------------------------------------------------------------


class _Replayed(Exception):
    """The event is in the outbox already: undo the head's new number."""


@dataclass(frozen=True, slots=True)
class EventHead:
    """What the event being enqueued is, relative to the case's previous one."""

    seq: int
    prev_status: str | None
    first: bool


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A case change for the outbox: ``body(head)`` gives (event type, JSON text) once the
    event's number is known; ``wants(sub, type)`` says whether a subscription receives it."""

    event_id: str
    case_id: str
    status: str
    department: str
    body: Callable[[EventHead], tuple[str, str]]
    wants: Callable[[Subscription, str], bool]


async def enqueue_event(
    store: Store,
    *,
    event_id: str,
    case_id: str,
    status: str,
    department: str,
    body: Callable[[EventHead], tuple[str, str]],
    wants: Callable[[Subscription, str], bool],
    at: datetime | None = None,
) -> str | None:
    """``enqueue_events`` for one event: its type, or None when it was enqueued before."""
    event = NewEvent(event_id, case_id, status, department, body, wants)
    return (await enqueue_events(store, [event], at=at))[0]


async def enqueue_events(
    store: Store, events: Sequence[NewEvent], *, at: datetime | None = None
) -> list[str | None]:
    """Number each case's next events in the given order, store them and one delivery per
    subscription each matches, all in one transaction (a batch of the webhook stage: two
    transactions, not two per case). Per event its type, or None for one enqueued before
    (in the outbox already, or earlier in ``events``)."""
    now = at or utcnow()
    async with store._tx() as conn:
        ids = list({e.event_id for e in events})
        known = set(
            (
                await conn.scalars(
                    select(WebhookEvents.event_id).where(WebhookEvents.event_id.in_(ids))
                )
            )
            if ids
            else ()
        )
    kinds: list[str | None] = [None] * len(events)
    fresh: list[tuple[int, NewEvent]] = []
    for i, event in enumerate(events):
        if event.event_id not in known:
            known.add(event.event_id)
            fresh.append((i, event))
    if not fresh:
        return kinds
    try:
        async with store._tx() as conn:
            # The heads' upserts come first: on SQLite the first takes the write lock at once.
            rows: list[dict[str, Any]] = []
            numbered: list[tuple[NewEvent, int, str]] = []
            for i, event in fresh:
                seq, prev_status = (await conn.execute(_bump_head(store, event))).one()
                kind, text = event.body(EventHead(seq=seq, prev_status=prev_status, first=seq == 1))
                kinds[i] = kind
                numbered.append((event, seq, kind))
                rows.append(
                    {
                        "event_id": event.event_id,
                        "case_id": event.case_id,
                        "seq": seq,
                        "type": kind,
                        "department": event.department,
                        "body": text,
                        "created_at": now,
                    }
                )
            inserted = (
                await conn.scalars(
                    store._insert(WebhookEvents)
                    .on_conflict_do_nothing(index_elements=["event_id"])
                    .returning(WebhookEvents.event_id),
                    rows,
                )
            ).all()
            if len(inserted) != len(rows):
                raise _Replayed  # another writer enqueued one since the check above
            subs = [
                _subscription(row)
                for row in (
                    await conn.execute(
                        select(WebhookSubscriptions).where(WebhookSubscriptions.active.is_(True))
                    )
                ).all()
            ]
            deliveries = [
                {
                    "delivery_id": delivery_id(event.event_id, sub.subscription_id),
                    "event_id": event.event_id,
                    "subscription_id": sub.subscription_id,
                    "case_id": event.case_id,
                    "seq": seq,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for event, seq, kind in numbered
                for sub in subs
                if event.wants(sub, kind)
            ]
            if deliveries:
                await conn.execute(store._insert(WebhookDeliveries), deliveries)
    except _Replayed:
        if len(events) == 1:
            return [None]
        # undone as a whole: each event alone, as if they had come one by one
        return [(await enqueue_events(store, [event], at=now))[0] for event in events]
    return kinds


def _bump_head(store: Store, event: NewEvent) -> Any:
    """The case's next number and the status before it, in one statement (concurrent
    writers of one case each get their own number)."""
    head_insert = store._insert(WebhookCaseHeads).values(
        case_id=event.case_id, seq=1, status=event.status, prev_status=None
    )
    return head_insert.on_conflict_do_update(
        index_elements=["case_id"],
        set_={
            "seq": WebhookCaseHeads.seq + 1,
            "prev_status": WebhookCaseHeads.status,
            "status": head_insert.excluded.status,
        },
    ).returning(WebhookCaseHeads.seq, WebhookCaseHeads.prev_status)


def delivery_id(event_id: str, subscription_id: str) -> str:
    return "dlv_" + stable_id(event_id, subscription_id, length=20)


def _delivery_query() -> Any:
    return select(WebhookDeliveries, WebhookEvents.type, WebhookEvents.body).join(
        WebhookEvents, WebhookEvents.event_id == WebhookDeliveries.event_id
    )


async def claim_deliveries(
    store: Store,
    *,
    subscription_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[Delivery]:
    """Lease the due deliveries of one subscription, each the oldest still pending of its
    case (per-case order: a later event waits until the earlier one is delivered or parked)."""
    earlier = aliased(WebhookDeliveries)
    blocked = exists().where(
        earlier.subscription_id == WebhookDeliveries.subscription_id,
        earlier.case_id == WebhookDeliveries.case_id,
        earlier.seq < WebhookDeliveries.seq,
        earlier.status == "pending",
    )
    due = (
        select(WebhookDeliveries.delivery_id)
        .where(
            WebhookDeliveries.subscription_id == subscription_id,
            WebhookDeliveries.status == "pending",
            WebhookDeliveries.next_attempt_at <= now,
            or_(WebhookDeliveries.lease_until.is_(None), WebhookDeliveries.lease_until <= now),
            ~blocked,
        )
        .order_by(WebhookDeliveries.next_attempt_at, WebhookDeliveries.seq)
        .limit(limit)
    )
    claim = (
        update(WebhookDeliveries)
        .where(
            WebhookDeliveries.delivery_id.in_(due.scalar_subquery()),
            # Again on the row itself: PostgreSQL re-checks these after waiting on a row
            # another dispatcher was claiming, so only one of them gets it.
            WebhookDeliveries.status == "pending",
            or_(WebhookDeliveries.lease_until.is_(None), WebhookDeliveries.lease_until <= now),
        )
        .values(lease_until=now + lease)
        .returning(WebhookDeliveries.delivery_id)
    )
    async with store._tx() as conn:
        ids = list((await conn.scalars(claim)).all())
        if not ids:
            return []
        rows = (
            await conn.execute(
                _delivery_query()
                .where(WebhookDeliveries.delivery_id.in_(ids))
                .order_by(WebhookDeliveries.case_id, WebhookDeliveries.seq)
            )
        ).all()
    return [_delivery(r) for r in rows]


async def subscriptions_due(store: Store, *, now: datetime) -> list[str]:
    """Active subscriptions with a delivery due now (the dispatcher's lanes to wake)."""
    query = (
        select(WebhookDeliveries.subscription_id)
        .join(
            WebhookSubscriptions,
            WebhookSubscriptions.subscription_id == WebhookDeliveries.subscription_id,
        )
        .where(
            WebhookSubscriptions.active.is_(True),
            WebhookDeliveries.status == "pending",
            WebhookDeliveries.next_attempt_at <= now,
            or_(WebhookDeliveries.lease_until.is_(None), WebhookDeliveries.lease_until <= now),
        )
        .distinct()
    )
    async with store._tx() as conn:
        return list((await conn.scalars(query)).all())


async def record_attempt(
    store: Store,
    delivery_id: str,
    *,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    outcome: Literal["delivered", "retry", "parked"],
    next_attempt_at: datetime | None = None,
) -> None:
    """Log one attempt and move the delivery on: delivered, due again later, or parked."""
    values: dict[str, Any] = {
        "attempts": WebhookDeliveries.attempts + 1,
        "last_status": status_code,
        "last_error": error,
        "lease_until": None,
        "updated_at": at,
    }
    if outcome == "delivered":
        values |= {"status": "delivered", "delivered_at": at}
    elif outcome == "parked":
        values |= {"status": "parked"}
    else:
        values |= {"next_attempt_at": next_attempt_at or at}
    async with store._tx() as conn:
        await conn.execute(
            update(WebhookDeliveries)
            .where(WebhookDeliveries.delivery_id == delivery_id)
            .values(values)
        )
        await conn.execute(
            store._insert(WebhookAttempts).values(
                delivery_id=delivery_id,
                at=at,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
            )
        )


async def redeliver(store: Store, delivery_id: str, *, at: datetime) -> bool:
    """Send a delivery again (parked or delivered): pending, due now, attempts from zero."""
    query = (
        update(WebhookDeliveries)
        .where(WebhookDeliveries.delivery_id == delivery_id)
        .values(status="pending", attempts=0, next_attempt_at=at, lease_until=None, updated_at=at)
        .returning(WebhookDeliveries.delivery_id)
    )
    async with store._tx() as conn:
        return (await conn.execute(query)).first() is not None


async def get_delivery(store: Store, delivery_id: str) -> Delivery | None:
    async with store._tx() as conn:
        row = (
            await conn.execute(
                _delivery_query().where(WebhookDeliveries.delivery_id == delivery_id)
            )
        ).first()
    return None if row is None else _delivery(row)


async def list_deliveries(
    store: Store,
    *,
    subscription_id: str,
    status: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[Delivery]:
    """A subscription's deliveries, newest first, keyset-paged after (created_at, id)."""
    query = _delivery_query().where(WebhookDeliveries.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDeliveries.status == status)
    if after is not None:
        at, last = after
        query = query.where(
            or_(
                WebhookDeliveries.created_at < at,
                and_(WebhookDeliveries.created_at == at, WebhookDeliveries.delivery_id < last),
            )
        )
    query = query.order_by(
        WebhookDeliveries.created_at.desc(), WebhookDeliveries.delivery_id.desc()
    ).limit(limit)
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [_delivery(r) for r in rows]


async def attempts_of(store: Store, delivery_id: str) -> list[Attempt]:
    query = (
        select(WebhookAttempts)
        .where(WebhookAttempts.delivery_id == delivery_id)
        .order_by(WebhookAttempts.id)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [Attempt(r.at, r.status_code, r.error, r.duration_ms) for r in rows]


async def delivery_counts(store: Store) -> dict[str, int]:
    """Deliveries per status, for the run summary and tests."""
    query = select(WebhookDeliveries.status, func.count()).group_by(WebhookDeliveries.status)
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    counts: dict[str, int] = dict.fromkeys(DELIVERY_STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


def _delivery(row: Any) -> Delivery:
    d = row
    return Delivery(
        delivery_id=d.delivery_id,
        event_id=d.event_id,
        subscription_id=d.subscription_id,
        case_id=d.case_id,
        seq=d.seq,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        updated_at=d.updated_at,
        event_type=row.type,
        body=row.body,
        last_status=d.last_status,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
    )
