"""What verification and closure keep besides the bus records (migration 0002).

* ``site_checks``: a lead sent to a street office for an on-site check (现场核查), and what
  came back (confirmed, with a photo note, or not found);
* ``alerts``: urgent leads and overdue urgent cases waiting to reach the duty group; the
  next tick sends every waiting one in one digest and marks them sent;
* ``weak_signals``: posts each too weak to be a lead, kept by category and place, so that
  several about one place and problem within a window can add up to one.

Each write is an upsert or a conditional update, so replays change nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Float, Index, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from xianban.records import utcnow
from xianban.store.store import Store
from xianban.store.tables import Base, Json

SiteCheckStatus = Literal["requested", "confirmed", "not_found"]


class SiteChecks(Base):
    __tablename__ = "site_checks"

    check_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String(512), index=True)
    unit: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)
    result_note: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]


class Alerts(Base):
    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    payload: Mapped[Json]
    deliveries: Mapped[Json]

    __table_args__ = (Index("ix_alerts_sent_at_created_at", "sent_at", "created_at"),)


class WeakSignals(Base):
    __tablename__ = "weak_signals"

    post_id: Mapped[str] = mapped_column(Text, primary_key=True)
    category: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime]
    score: Mapped[float] = mapped_column(Float)
    cluster_id: Mapped[str | None] = mapped_column(String(512))
    lead: Mapped[Json]

    __table_args__ = (
        Index("ix_weak_signals_category_place_posted_at", "category", "place", "posted_at"),
    )


@dataclass(frozen=True, slots=True)
class SiteCheck:
    check_id: str
    cluster_id: str
    unit: str
    status: SiteCheckStatus
    requested_by: str
    requested_at: datetime
    note: str
    result_note: str | None = None
    photo: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    kind: str
    subject: str
    created_at: datetime
    payload: dict[str, Any]
    deliveries: dict[str, Any]
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WeakSignal:
    post_id: str
    category: str
    place: str
    posted_at: datetime
    score: float
    cluster_id: str | None
    lead: dict[str, Any]


# -- 现场核查 ------------------------------------------------------------------------------


async def request_site_check(store: Store, check: SiteCheck) -> bool:
    """Keep a new check; False if one with this id exists (a double click)."""
    insert = store._insert(SiteChecks).values(
        check_id=check.check_id,
        cluster_id=check.cluster_id,
        unit=check.unit,
        status="requested",
        requested_by=check.requested_by,
        requested_at=check.requested_at,
        note=check.note,
    )
    async with store._tx() as conn:
        return await store._inserted(
            conn,
            insert.on_conflict_do_nothing(index_elements=["check_id"]).returning(
                SiteChecks.check_id
            ),
        )


async def get_site_check(store: Store, check_id: str) -> SiteCheck | None:
    async with store._tx() as conn:
        row = (
            await conn.execute(select(SiteChecks).where(SiteChecks.check_id == check_id))
        ).first()
    return None if row is None else _site_check(row)


async def site_checks_of(store: Store, cluster_id: str) -> list[SiteCheck]:
    query = (
        select(SiteChecks)
        .where(SiteChecks.cluster_id == cluster_id)
        .order_by(SiteChecks.requested_at, SiteChecks.check_id)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [_site_check(r) for r in rows]


async def open_site_checks(store: Store, *, limit: int = 500) -> list[SiteCheck]:
    query = (
        select(SiteChecks)
        .where(SiteChecks.status == "requested")
        .order_by(SiteChecks.requested_at, SiteChecks.check_id)
        .limit(limit)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [_site_check(r) for r in rows]


async def record_site_check_result(
    store: Store,
    check_id: str,
    *,
    status: Literal["confirmed", "not_found"],
    note: str,
    photo: str | None,
    by: str,
    at: datetime | None = None,
) -> bool:
    """Record the result once: True if this call decided the check (it was still open)."""
    query = (
        update(SiteChecks)
        .where(SiteChecks.check_id == check_id, SiteChecks.status == "requested")
        .values(
            status=status,
            result_note=note,
            photo=photo,
            decided_by=by,
            decided_at=at or utcnow(),
        )
        .returning(SiteChecks.check_id)
    )
    async with store._tx() as conn:
        return (await conn.execute(query)).first() is not None


def _site_check(row: Any) -> SiteCheck:
    return SiteCheck(
        check_id=row.check_id,
        cluster_id=row.cluster_id,
        unit=row.unit,
        status=row.status,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        note=row.note,
        result_note=row.result_note,
        photo=row.photo,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


# -- duty alerts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewAlert:
    alert_id: str
    kind: str
    subject: str
    payload: dict[str, Any]


async def add_alerts(
    store: Store, alerts: Sequence[NewAlert], *, at: datetime | None = None
) -> int:
    """Queue alerts once per id, all in one statement (a tick notes every urgent lead of
    the last day); how many are new."""
    if not alerts:
        return 0
    created = at or utcnow()
    rows = [
        {
            "alert_id": alert.alert_id,
            "kind": alert.kind,
            "subject": alert.subject,
            "created_at": created,
            "sent_at": None,
            "payload": alert.payload,
            "deliveries": {},
        }
        for alert in alerts
    ]
    insert = store._insert(Alerts).on_conflict_do_nothing(index_elements=["alert_id"])
    async with store._tx() as conn:
        return len((await conn.scalars(insert.returning(Alerts.alert_id), rows)).all())


async def pending_alerts(store: Store, *, limit: int = 1000) -> list[Alert]:
    """Alerts not yet sent to every channel, oldest first."""
    query = (
        select(Alerts)
        .where(Alerts.sent_at.is_(None))
        .order_by(Alerts.created_at, Alerts.alert_id)
        .limit(limit)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [_alert(r) for r in rows]


async def list_alerts(store: Store, *, limit: int = 200) -> list[Alert]:
    query = select(Alerts).order_by(Alerts.created_at.desc(), Alerts.alert_id).limit(limit)
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [_alert(r) for r in rows]


async def mark_alerts(
    store: Store,
    alert_ids: Sequence[str],
    *,
    deliveries: dict[str, Any],
    sent_at: datetime | None,
) -> None:
    """Record what each channel answered; ``sent_at`` once every channel has them."""
    if not alert_ids:
        return
    query = (
        update(Alerts)
        .where(Alerts.alert_id.in_(list(alert_ids)))
        .values(deliveries=deliveries, sent_at=sent_at)
    )
    async with store._tx() as conn:
        await conn.execute(query)


def _alert(row: Any) -> Alert:
    return Alert(
        alert_id=row.alert_id,
        kind=row.kind,
        subject=row.subject,
        created_at=row.created_at,
        payload=dict(row.payload),
        deliveries=dict(row.deliveries or {}),
        sent_at=row.sent_at,
    )


# -- weak signals --------------------------------------------------------------------------------


async def add_weak_signal(store: Store, signal: WeakSignal) -> bool:
    insert = store._insert(WeakSignals).values(
        post_id=signal.post_id,
        category=signal.category,
        place=signal.place,
        posted_at=signal.posted_at,
        score=signal.score,
        cluster_id=signal.cluster_id,
        lead=signal.lead,
    )
    async with store._tx() as conn:
        return await store._inserted(
            conn,
            insert.on_conflict_do_nothing(index_elements=["post_id"]).returning(
                WeakSignals.post_id
            ),
        )


async def weak_signals_near(
    store: Store, *, category: str, place: str, since: datetime, until: datetime
) -> list[WeakSignal]:
    """Signals on one category and place posted within [since, until], oldest first."""
    query = (
        select(WeakSignals)
        .where(
            WeakSignals.category == category,
            WeakSignals.place == place,
            WeakSignals.posted_at >= since,
            WeakSignals.posted_at <= until,
        )
        .order_by(WeakSignals.posted_at, WeakSignals.post_id)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [
        WeakSignal(
            post_id=r.post_id,
            category=r.category,
            place=r.place,
            posted_at=r.posted_at,
            score=r.score,
            cluster_id=r.cluster_id,
            lead=dict(r.lead),
        )
        for r in rows
    ]


async def claim_weak_signals(store: Store, post_ids: Sequence[str], cluster_id: str) -> None:
    """Mark signals as part of the weak-signal lead ``cluster_id``."""
    if not post_ids:
        return
    query = (
        update(WeakSignals)
        .where(WeakSignals.post_id.in_(list(post_ids)))
        .values(cluster_id=cluster_id)
    )
    async with store._tx() as conn:
        await conn.execute(query)


async def last_alert_sent_at(store: Store) -> datetime | None:
    from sqlalchemy import func

    async with store._tx() as conn:
        value: datetime | None = await conn.scalar(select(func.max(Alerts.sent_at)))
    return value
