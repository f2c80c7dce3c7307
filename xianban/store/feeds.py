"""Keyset-paged feeds of cases and leads for the ticket API and Open311.

A consumer walks a feed in ``(updated_at, id)`` order and keeps the last key: a record
changed while it pages moves to the end and is met again, never skipped. Filters on
record fields read the stored JSON (as ``listing.py`` does), counted in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, or_, select, true

from xianban.records import Case, Lead
from xianban.store.store import Store
from xianban.store.tables import Cases, Leads, Verdicts

Order = Literal["asc", "desc"]
LeadStatus = Literal["confirmed", "rejected", "needs_review", "unverified"]


@dataclass(frozen=True, slots=True)
class CaseFeedFilter:
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    district: str | None = None
    street: str | None = None
    priority: str | None = None
    updated_since: datetime | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    case_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LeadFeedFilter:
    statuses: tuple[LeadStatus, ...] = ()
    category: str | None = None
    district: str | None = None
    street: str | None = None
    urgent: bool | None = None
    updated_since: datetime | None = None
    cluster_id: str | None = None


def _after(
    time_col: Any, id_col: Any, after: tuple[datetime, str] | None, order: Order
) -> ColumnElement[bool]:
    if after is None:
        return true()
    at, last = after
    if order == "asc":
        return or_(time_col > at, and_(time_col == at, id_col > last))
    return or_(time_col < at, and_(time_col == at, id_col < last))


def _direction(order: Order) -> Callable[[Any], Any]:
    return (lambda column: column.asc()) if order == "asc" else (lambda column: column.desc())


def _case_conditions(f: CaseFeedFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.statuses:
        conds.append(Cases.status.in_(list(f.statuses)))
    if f.categories:
        conds.append(Cases.data["category"].as_string().in_(list(f.categories)))
    if f.district:
        conds.append(Cases.data[("geo", "district")].as_string() == f.district)
    if f.street:
        conds.append(Cases.data[("geo", "street")].as_string() == f.street)
    if f.priority:
        conds.append(Cases.data["priority"].as_string() == f.priority)
    if f.updated_since is not None:
        conds.append(Cases.updated_at >= f.updated_since)
    if f.opened_from is not None:
        conds.append(Cases.opened_at >= f.opened_from)
    if f.opened_to is not None:
        conds.append(Cases.opened_at <= f.opened_to)
    if f.case_ids:
        conds.append(Cases.case_id.in_(list(f.case_ids)))
    return conds


async def case_feed(
    store: Store,
    flt: CaseFeedFilter,
    *,
    after: tuple[datetime, str] | None = None,
    order: Order = "asc",
    limit: int = 50,
) -> list[tuple[datetime, Case]]:
    """Cases by (updated_at, case_id), each with the time its key is made of."""
    direction = _direction(order)
    query = (
        select(Cases.updated_at, Cases.data)
        .where(
            true(), *_case_conditions(flt), _after(Cases.updated_at, Cases.case_id, after, order)
        )
        .order_by(direction(Cases.updated_at), direction(Cases.case_id))
        .limit(limit)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [(r.updated_at, Case.model_validate(r.data)) for r in rows]


async def requests_page(
    store: Store, flt: CaseFeedFilter, *, offset: int, limit: int
) -> list[Case]:
    """Open311's requests: newest opened first, paged by offset (its ``page`` extension)."""
    query = (
        select(Cases.data)
        .where(true(), *_case_conditions(flt))
        .order_by(Cases.opened_at.desc(), Cases.case_id)
        .offset(offset)
        .limit(limit)
    )
    async with store._tx() as conn:
        rows = await conn.scalars(query)
        return [Case.model_validate(d) for d in rows]


def _latest_decision() -> Any:
    return (
        select(Verdicts.decision)
        .where(Verdicts.cluster_id == Leads.cluster_id)
        .order_by(Verdicts.seq.desc())
        .limit(1)
        .correlate(Leads)
        .scalar_subquery()
    )


def _lead_conditions(f: LeadFeedFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.statuses:
        decision = _latest_decision()
        wanted: list[ColumnElement[bool]] = []
        decided = [s for s in f.statuses if s != "unverified"]
        if decided:
            wanted.append(decision.in_(decided))
        if "unverified" in f.statuses:
            wanted.append(decision.is_(None))
        conds.append(or_(*wanted))
    if f.category:
        conds.append(Leads.category == f.category)
    if f.district:
        conds.append(Leads.data[("geo", "district")].as_string() == f.district)
    if f.street:
        conds.append(Leads.data[("geo", "street")].as_string() == f.street)
    if f.urgent is not None:
        conds.append(Leads.urgent.is_(f.urgent))
    if f.updated_since is not None:
        conds.append(Leads.found_at >= f.updated_since)
    if f.cluster_id:
        conds.append(Leads.cluster_id == f.cluster_id)
    return conds


async def lead_feed(
    store: Store,
    flt: LeadFeedFilter,
    *,
    after: tuple[datetime, str] | None = None,
    order: Order = "asc",
    limit: int = 50,
) -> list[tuple[datetime, Lead, str | None]]:
    """Leads by (found_at, lead_id), each with its cluster's latest verdict decision."""
    direction = _direction(order)
    query = (
        select(Leads.found_at, Leads.data, _latest_decision().label("decision"))
        .where(true(), *_lead_conditions(flt), _after(Leads.found_at, Leads.lead_id, after, order))
        .order_by(direction(Leads.found_at), direction(Leads.lead_id))
        .limit(limit)
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    return [(r.found_at, Lead.model_validate(r.data), r.decision) for r in rows]


async def decisions_of(store: Store, cluster_ids: Sequence[str]) -> dict[str, str]:
    """The latest verdict decision per cluster (for the ones that have one)."""
    if not cluster_ids:
        return {}
    query = select(Verdicts.cluster_id, Verdicts.decision, Verdicts.seq).where(
        Verdicts.cluster_id.in_(list(cluster_ids))
    )
    async with store._tx() as conn:
        rows = (await conn.execute(query)).all()
    latest: dict[str, tuple[int, str]] = {}
    for r in rows:
        if r.cluster_id not in latest or r.seq > latest[r.cluster_id][0]:
            latest[r.cluster_id] = (r.seq, r.decision)
    return {k: v[1] for k, v in latest.items()}
