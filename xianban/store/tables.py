"""The tables: each record's full JSON plus the columns we query by.

The JSON (``data``) is the pydantic dump and the source of truth when a record is read
back; the other columns exist only to filter, order and count, so adding a field to a
record needs no migration. Every time is stored in UTC and read back timezone-aware.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

Json = dict[str, Any]


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    PostgreSQL keeps the offset; SQLite has no time zone type and hands back naive values,
    so we write naive UTC there and attach UTC on the way out. A naive datetime is refused
    on write: guessing its zone would silently shift it.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the store keeps aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, ``process_bind_param`` and the dialect's ``DATETIME`` text
        (``%04d-%02d-%02d %02d:%02d:%02d.%06d``) in one step: the two took ~7 µs a value,
        ~8 values a post through the loop (``bench e2e``). The same text, which is
        ``isoformat`` of the UTC time without its offset."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value.isoformat()}: the store keeps aware times")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.isoformat(" ", "microseconds")[:26]  # without "+00:00"

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Deterministic constraint names, so the hand-written migrations name things the same way.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        Json: JSON(none_as_null=True),
    }


class Posts(Base):
    __tablename__ = "posts"

    post_id: Mapped[str] = mapped_column(Text, primary_key=True)  # platform:native_id
    platform: Mapped[str] = mapped_column(String(512), index=True)
    source: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime]
    data: Mapped[Json]


class Leads(Base):
    __tablename__ = "leads"

    lead_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String(512), index=True)
    category: Mapped[str] = mapped_column(String(64))
    urgent: Mapped[bool]
    score: Mapped[float]
    found_at: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[Json]


class Clusters(Base):
    """One row per cluster: what the review queue and reports need without reading leads."""

    __tablename__ = "clusters"

    cluster_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    category: Mapped[str] = mapped_column(String(64))
    geo: Mapped[Json]
    urgent: Mapped[bool]
    max_score: Mapped[float]
    corroboration: Mapped[int]
    leads: Mapped[int]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class Verdicts(Base):
    """Verdicts in the order they were recorded (``seq``): the latest one per cluster counts."""

    __tablename__ = "verdicts"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    verdict_id: Mapped[str] = mapped_column(String(512), unique=True)
    cluster_id: Mapped[str] = mapped_column(String(512), index=True)
    decision: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[datetime]
    data: Mapped[Json]
    district: Mapped[str | None] = mapped_column(String(512))
    """``data``'s lead.geo.district, and below its duplicate_of, copied when recorded: the
    verifier's read per batch filters on them, and on PostgreSQL every JSON path parses
    the whole stored text again (JSON, not JSONB)."""
    duplicate_of: Mapped[str | None] = mapped_column(String(512))


class Cases(Base):
    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String(512), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    data: Mapped[Json]


class CaseEvents(Base):
    """A case's history as rows, keyed by position, so saving a case again adds nothing."""

    __tablename__ = "case_events"

    case_id: Mapped[str] = mapped_column(
        String(512), ForeignKey("cases.case_id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(512))


class Outbox(Base):
    __tablename__ = "outbox"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    kind: Mapped[str] = mapped_column(String(128))
    payload: Mapped[Json]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Json | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_outbox_status_created_at", "status", "created_at"),)


class SourceStates(Base):
    __tablename__ = "source_states"

    source: Mapped[str] = mapped_column(String(512), primary_key=True)
    state: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[str | None] = mapped_column(Text)
    paused: Mapped[bool]
    last_success: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_counts: Mapped[Json]
    posts_total: Mapped[int]
    updated_at: Mapped[datetime]


class Tasks(Base):
    __tablename__ = "tasks"

    task_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    source: Mapped[str] = mapped_column(String(512), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int]
    posts: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeadLetters(Base):
    """Keyed by where the record failed, so a replayed failure is kept once."""

    __tablename__ = "dead_letters"

    letter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stage: Mapped[str] = mapped_column(String(512), index=True)
    source_topic: Mapped[str] = mapped_column(String(512))
    error_type: Mapped[str] = mapped_column(String(512))
    failed_at: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[Json]


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    detail: Mapped[Json | None]


class Leases(Base):
    """Who holds a named job (the scheduler) until when; taken over only once expired."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]
    renewed_at: Mapped[datetime]


class ScheduledTasks(Base):
    """Crawl tasks the scheduler put on the bus, so a new holder of its lease does not
    send them again (kept two days)."""

    __tablename__ = "scheduled_tasks"

    task_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    source: Mapped[str] = mapped_column(String(512))
    scheduled_at: Mapped[datetime] = mapped_column(index=True)
