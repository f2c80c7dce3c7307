"""Read-only queries for the briefings: what flowed through the loop in a period.

Every function reads; none writes. A period is ``[start, end)`` on the time each record
says it entered its stage: a post when it was fetched, a lead when it was found, a
cluster's confirmation when its (latest) verdict was decided, a case when it was opened.
Counts are made in the database; cases are read whole (their history decides dispatch
and handling times), and read from the stored JSON field by field, so a report still
reads a store written by an older or newer record schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from xianban.store.store import Store
from xianban.store.tables import Cases, Leads, Posts, Verdicts

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class LeadFact:
    """What a briefing needs of a lead: no text."""

    lead_id: str
    cluster_id: str
    category: str
    post_id: str | None
    found_at: datetime


@dataclass(frozen=True, slots=True)
class CaseStep:
    status: str
    at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class CaseFact:
    """A case as stored, with the fields a briefing reads (absent ones are ``None``)."""

    case_id: str
    cluster_id: str
    category: str
    priority: str
    department: str
    status: str
    title: str
    description: str
    district: str | None
    street: str | None
    road: str | None
    poi: str | None
    opened_at: datetime
    dispatch_due: datetime
    handle_due: datetime | None
    escalations: int
    satisfaction: str | None
    reopened: int
    post_ids: tuple[str, ...]
    recheck: str | None = None
    history: tuple[CaseStep, ...] = field(default=())

    def first_at(self, statuses: Iterable[str]) -> datetime | None:
        """When the case first reached any of ``statuses`` (by its history)."""
        wanted = set(statuses)
        return min((s.at for s in self.history if s.status in wanted), default=None)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def case_fact(data: dict[str, Any]) -> CaseFact:
    """A stored case's JSON as a ``CaseFact``."""
    geo = data.get("geo") or {}
    opened = _time(data["opened_at"])
    due = _time(data["dispatch_due"])
    assert opened is not None and due is not None
    history = []
    for event in data.get("history") or []:
        at = _time(event.get("at"))
        if at is not None:
            history.append(CaseStep(str(event.get("status", "")), at, str(event.get("note", ""))))
    return CaseFact(
        case_id=str(data["case_id"]),
        cluster_id=str(data["cluster_id"]),
        category=str(data["category"]),
        priority=str(data.get("priority", "ordinary")),
        department=str(data.get("department", "")),
        status=str(data.get("status", "pending")),
        title=str(data.get("title", "")),
        description=str(data.get("description", "")),
        district=geo.get("district"),
        street=geo.get("street"),
        road=geo.get("road"),
        poi=geo.get("poi"),
        opened_at=opened,
        dispatch_due=due,
        handle_due=_time(data.get("handle_due")),
        escalations=int(data.get("escalations") or 0),
        satisfaction=data.get("satisfaction"),
        reopened=int(data.get("reopened") or 0),
        post_ids=tuple(str(p) for p in data.get("post_ids") or ()),
        history=tuple(history),
        recheck=data.get("recheck"),
    )


async def posts_by_source(store: Store, start: datetime, end: datetime) -> dict[str, int]:
    """Posts fetched in the period, per source (the platform when a post has no source)."""
    source = func.coalesce(Posts.source, Posts.platform)
    query = (
        select(source.label("source"), func.count().label("n"))
        .where(Posts.fetched_at >= start, Posts.fetched_at < end)
        .group_by(source)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return {str(r.source): int(r.n) for r in rows}


async def leads_found(store: Store, start: datetime, end: datetime) -> list[LeadFact]:
    """Leads found in the period, oldest first."""
    query = (
        select(
            Leads.lead_id,
            Leads.cluster_id,
            Leads.category,
            Leads.found_at,
            Leads.data[("post_ids", 0)].as_string().label("post_id"),
        )
        .where(Leads.found_at >= start, Leads.found_at < end)
        .order_by(Leads.found_at, Leads.lead_id)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [LeadFact(r.lead_id, r.cluster_id, r.category, r.post_id, r.found_at) for r in rows]


async def sources_of_posts(store: Store, post_ids: Sequence[str]) -> dict[str, str]:
    """post id → source (or platform) for the posts the store has."""
    out: dict[str, str] = {}
    wanted = sorted(set(post_ids))
    async with store._tx() as conn:
        for i in range(0, len(wanted), _CHUNK):
            query = select(Posts.post_id, func.coalesce(Posts.source, Posts.platform)).where(
                Posts.post_id.in_(wanted[i : i + _CHUNK])
            )
            out.update({str(pid): str(src) for pid, src in (await conn.execute(query)).all()})
    return out


def _latest() -> Any:
    return select(func.max(Verdicts.seq).label("seq")).group_by(Verdicts.cluster_id).subquery()


async def confirmed_in(store: Store, start: datetime, end: datetime) -> set[str]:
    """Clusters whose latest verdict is ``confirmed`` and was decided in the period."""
    latest = _latest()
    query = (
        select(Verdicts.cluster_id)
        .join(latest, Verdicts.seq == latest.c.seq)
        .where(
            Verdicts.decision == "confirmed",
            Verdicts.decided_at >= start,
            Verdicts.decided_at < end,
        )
    )
    async with store._tx() as conn:
        return {str(c) for c in (await conn.scalars(query)).all()}


async def confirmed_among(store: Store, cluster_ids: Sequence[str]) -> set[str]:
    """Those of ``cluster_ids`` whose latest verdict is ``confirmed`` (whenever decided)."""
    latest = _latest()
    wanted = sorted(set(cluster_ids))
    out: set[str] = set()
    async with store._tx() as conn:
        for i in range(0, len(wanted), _CHUNK):
            query = (
                select(Verdicts.cluster_id)
                .join(latest, Verdicts.seq == latest.c.seq)
                .where(
                    Verdicts.decision == "confirmed",
                    Verdicts.cluster_id.in_(wanted[i : i + _CHUNK]),
                )
            )
            out.update(str(c) for c in (await conn.scalars(query)).all())
    return out


async def cases_opened(
    store: Store, start: datetime, end: datetime, *, category: str | None = None
) -> list[CaseFact]:
    """Cases opened in the period (of one category, when given), oldest first."""
    query = (
        select(Cases.data)
        .where(Cases.opened_at >= start, Cases.opened_at < end)
        .order_by(Cases.opened_at, Cases.case_id)
    )
    if category is not None:
        query = query.where(Cases.data["category"].as_string() == category)
    async with store._tx() as conn:
        rows = (await conn.scalars(query)).all()
    return [case_fact(data) for data in rows]


async def cases_by_id(store: Store, case_ids: Sequence[str]) -> list[CaseFact]:
    """The given cases (those the store has), oldest first."""
    wanted = sorted(set(case_ids))
    out: list[CaseFact] = []
    async with store._tx() as conn:
        for i in range(0, len(wanted), _CHUNK):
            query = select(Cases.data).where(Cases.case_id.in_(wanted[i : i + _CHUNK]))
            out.extend(case_fact(data) for data in (await conn.scalars(query)).all())
    return sorted(out, key=lambda c: (c.opened_at, c.case_id))
