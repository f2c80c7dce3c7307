"""What people decide about a 类案 (migration 0005): the briefing finds the groups, this keeps
what is done about them.

* ``similar_cases``: one row per group someone acted on, keyed by the group's stable id
  (``reports.similar.group_key``: category + place, or merchant), with its tags, the unit
  (and person) it is assigned to and its status (open → following → governed);
* ``similar_case_notes``: each change and each note, with who and when, oldest first;
* ``similar_case_followers``: who follows a group and when they last looked at it, so the
  console can show the cases that joined it since.

Membership is not stored: a group's cases are whichever cases ``group_key`` puts in it,
so a case opened tomorrow joins the group without anyone writing here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from xianban.records import utcnow
from xianban.store.store import UNSET, Store, _Unset
from xianban.store.tables import Base

SimilarStatus = Literal["open", "following", "governed"]
SIMILAR_STATUSES: tuple[SimilarStatus, ...] = ("open", "following", "governed")
NoteKind = Literal["note", "tags", "unit", "assignee", "status"]
"""A note's kind: a person's note, or the field a change set (``text`` is its new value)."""


class SimilarCases(Base):
    __tablename__ = "similar_cases"

    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON(none_as_null=True))
    unit: Mapped[str | None] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(Text)


class SimilarCaseNotes(Base):
    __tablename__ = "similar_case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("similar_cases.group_id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)


class SimilarCaseFollowers(Base):
    __tablename__ = "similar_case_followers"

    group_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("similar_cases.group_id", ondelete="CASCADE"), primary_key=True
    )
    follower: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    followed_at: Mapped[datetime]
    seen_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class SimilarCase:
    group_id: str
    kind: str
    category: str
    label: str
    tags: tuple[str, ...]
    unit: str | None
    assignee: str | None
    status: SimilarStatus
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class SimilarNote:
    at: datetime
    by: str
    kind: NoteKind
    text: str


@dataclass(frozen=True, slots=True)
class Follower:
    group_id: str
    follower: str
    followed_at: datetime
    seen_at: datetime
    """When the follower last looked at the group: cases opened after it are new to them."""


@dataclass(frozen=True, slots=True)
class SimilarChange:
    field: NoteKind
    before: str | tuple[str, ...] | None
    after: str | tuple[str, ...] | None


class UnknownSimilarCase(LookupError):
    """The group was never tracked (``track_similar_case`` comes first)."""


async def track_similar_case(
    store: Store,
    *,
    group_id: str,
    kind: str,
    category: str,
    label: str,
    by: str,
    at: datetime | None = None,
) -> SimilarCase:
    """The group's row, made (status ``open``, no tags) the first time anyone acts on it."""
    when = at or utcnow()
    insert = store._insert(SimilarCases).values(
        group_id=group_id,
        kind=kind,
        category=category,
        label=label,
        tags=[],
        unit=None,
        assignee=None,
        status="open",
        created_at=when,
        created_by=by,
        updated_at=when,
        updated_by=by,
    )
    async with store._tx() as conn:
        await conn.execute(insert.on_conflict_do_nothing(index_elements=["group_id"]))
        row = (
            await conn.execute(select(SimilarCases).where(SimilarCases.group_id == group_id))
        ).one()
    return _similar_case(row)


async def get_similar_case(store: Store, group_id: str) -> SimilarCase | None:
    return (await similar_cases(store, [group_id])).get(group_id)


async def similar_cases(
    store: Store, group_ids: Collection[str] | None = None
) -> dict[str, SimilarCase]:
    """The tracked groups among ``group_ids`` (every tracked group when None)."""
    query = select(SimilarCases).order_by(SimilarCases.updated_at.desc(), SimilarCases.group_id)
    if group_ids is not None:
        if not group_ids:
            return {}
        query = query.where(SimilarCases.group_id.in_(sorted(set(group_ids))))
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return {r.group_id: _similar_case(r) for r in rows}


async def update_similar_case(
    store: Store,
    group_id: str,
    *,
    by: str,
    at: datetime | None = None,
    tags: Collection[str] | _Unset = UNSET,
    unit: str | _Unset | None = UNSET,
    assignee: str | _Unset | None = UNSET,
    status: SimilarStatus | _Unset = UNSET,
    note: str = "",
) -> list[SimilarChange]:
    """Set what is given; returns what changed (a field set to its value is no change).

    Each change and the note are kept in ``similar_case_notes``. Read and write are one
    transaction that begins by locking the row (a no-op UPDATE), so two people saving at
    once are applied one after the other and each sees the other's result as ``before``.
    """
    when = at or utcnow()
    lock = (
        update(SimilarCases)
        .where(SimilarCases.group_id == group_id)
        .values(group_id=SimilarCases.group_id)
        .returning(SimilarCases.tags, SimilarCases.unit, SimilarCases.assignee, SimilarCases.status)
    )
    async with store._tx() as conn:
        row = (await conn.execute(lock)).first()
        if row is None:
            raise UnknownSimilarCase(group_id)
        changes: list[SimilarChange] = []
        values: dict[str, Any] = {}
        if not isinstance(tags, _Unset):
            wanted = _unique(tags)
            if wanted != tuple(row.tags or ()):
                changes.append(SimilarChange("tags", tuple(row.tags or ()), wanted))
                values["tags"] = list(wanted)
        scalars: tuple[tuple[NoteKind, object, str | None], ...] = (
            ("unit", unit, row.unit),
            ("assignee", assignee, row.assignee),
            ("status", status, row.status),
        )
        for name, given, current in scalars:
            if not isinstance(given, _Unset) and given != current:
                assert given is None or isinstance(given, str)
                changes.append(SimilarChange(name, current, given))
                values[name] = given
        if values:
            await conn.execute(
                update(SimilarCases)
                .where(SimilarCases.group_id == group_id)
                .values(updated_at=when, updated_by=by, **values)
            )
        notes = [{"kind": c.field, "text": _text(c.after)} for c in changes] + (
            [{"kind": "note", "text": note.strip()}] if note.strip() else []
        )
        if notes:
            await conn.execute(
                store._insert(SimilarCaseNotes),
                [{"group_id": group_id, "at": when, "by": by, **n} for n in notes],
            )
    return changes


async def similar_case_notes(store: Store, group_id: str, *, limit: int = 500) -> list[SimilarNote]:
    """Changes and notes, oldest first."""
    query = (
        select(SimilarCaseNotes)
        .where(SimilarCaseNotes.group_id == group_id)
        .order_by(SimilarCaseNotes.id)
        .limit(limit)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [SimilarNote(at=r.at, by=r.by, kind=r.kind, text=r.text) for r in rows]


async def follow_similar_case(
    store: Store, group_id: str, follower: str, *, at: datetime | None = None
) -> bool:
    """Follow a tracked group; True if this starts it (following twice changes nothing)."""
    when = at or utcnow()
    insert = store._insert(SimilarCaseFollowers).values(
        group_id=group_id, follower=follower, followed_at=when, seen_at=when
    )
    async with store._tx() as conn:
        return await store._inserted(
            conn,
            insert.on_conflict_do_nothing(index_elements=["group_id", "follower"]).returning(
                SimilarCaseFollowers.group_id
            ),
        )


async def unfollow_similar_case(store: Store, group_id: str, follower: str) -> bool:
    """True if ``follower`` was following."""
    query = (
        delete(SimilarCaseFollowers)
        .where(
            SimilarCaseFollowers.group_id == group_id,
            SimilarCaseFollowers.follower == follower,
        )
        .returning(SimilarCaseFollowers.group_id)
    )
    async with store._tx() as conn:
        return (await conn.execute(query)).first() is not None


async def followers_of(store: Store, group_id: str) -> list[Follower]:
    query = (
        select(SimilarCaseFollowers)
        .where(SimilarCaseFollowers.group_id == group_id)
        .order_by(SimilarCaseFollowers.followed_at, SimilarCaseFollowers.follower)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [_follower(r) for r in rows]


async def followed_by(store: Store, follower: str) -> dict[str, Follower]:
    """The groups ``follower`` follows, by group id."""
    query = select(SimilarCaseFollowers).where(SimilarCaseFollowers.follower == follower)
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return {r.group_id: _follower(r) for r in rows}


async def mark_seen(store: Store, group_id: str, follower: str, *, at: datetime) -> None:
    """The follower looked at the group at ``at`` (never moves back; no-op if not following)."""
    query = (
        update(SimilarCaseFollowers)
        .where(
            SimilarCaseFollowers.group_id == group_id,
            SimilarCaseFollowers.follower == follower,
            SimilarCaseFollowers.seen_at < at,
        )
        .values(seen_at=at)
    )
    async with store._tx() as conn:
        await conn.execute(query)


def _unique(tags: Collection[str]) -> tuple[str, ...]:
    """Stripped, blanks dropped, each once, in the order given."""
    return tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))


def _text(value: str | tuple[str, ...] | None) -> str:
    if isinstance(value, tuple):
        return "、".join(value)
    return value or ""


def _similar_case(row: Any) -> SimilarCase:
    return SimilarCase(
        group_id=row.group_id,
        kind=row.kind,
        category=row.category,
        label=row.label,
        tags=tuple(row.tags or ()),
        unit=row.unit,
        assignee=row.assignee,
        status=row.status,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _follower(row: Any) -> Follower:
    return Follower(
        group_id=row.group_id,
        follower=row.follower,
        followed_at=row.followed_at,
        seen_at=row.seen_at,
    )
