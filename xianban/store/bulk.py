"""Multi-row writes and reads for batched stages, on one connection (one transaction).

Each write leaves the database exactly as the one-record methods of ``Store`` would after
the same records one by one, in order: rows are deduplicated by natural id keeping the
last occurrence (an upsert's last write wins), a cluster's row is folded once from all
its leads in the batch, and verdicts, case events, outbox items and dead letters keep
the first occurrence (``ON CONFLICT DO NOTHING``). Statements run as executemany of one
compiled ``INSERT ... ON CONFLICT`` (SQLite and PostgreSQL alike), in chunks that stay
under both databases' bound-parameter limits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Text, bindparam, case, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from xianban.records import Case, DeadLetter, Lead, Post, Verdict, stable_id
from xianban.store.tables import (
    Base,
    CaseEvents,
    Cases,
    Clusters,
    DeadLetters,
    Leads,
    Outbox,
    Posts,
    Verdicts,
)

InsertFor = Callable[[type[Base]], Any]
"""The store's dialect INSERT (the one that knows ON CONFLICT)."""
T = TypeVar("T")
CHUNK = 500
"""Rows per statement: 500 x 9 columns stays far under SQLite's 32,766 and asyncpg's
32,767 bound parameters."""


def text_of(column: Any) -> ColumnElement[str]:
    """A record's stored JSON as its text, for ``model_validate_json``: half the cost of
    the JSON column's ``json.loads`` and ``model_validate`` of the dict."""
    return cast(column, Text)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def last_by(items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """One item per key, the last one, in the order of each key's first appearance."""
    out: dict[str, T] = {}
    for item in items:
        out[key(item)] = item
    return list(out.values())


def _first_by(items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """One item per key, the first one, in order."""
    out: dict[str, T] = {}
    for item in items:
        out.setdefault(key(item), item)
    return list(out.values())


def _larger(current: Any, new: Any) -> ColumnElement[Any]:
    """GREATEST on every backend (SQLite has no GREATEST, PostgreSQL no two-argument MAX)."""
    return case((new > current, new), else_=current)


def _smaller(current: Any, new: Any) -> ColumnElement[Any]:
    return case((new < current, new), else_=current)


@functools.cache
def _upsert(insert: InsertFor, table: type[Base], key: str, columns: tuple[str, ...]) -> Any:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` of ``columns``, made once per dialect:
    built per call, and its cache key worked out again for each new statement object,
    it took ~5 % of the bench's store CPU."""
    ins = insert(table)
    return ins.on_conflict_do_update(
        index_elements=[key], set_={c: ins.excluded[c] for c in columns}
    )


@functools.cache
def _insert_new(insert: InsertFor, table: type[Base], keys: tuple[str, ...]) -> Any:
    """``INSERT … ON CONFLICT (keys) DO NOTHING``, made once per dialect."""
    return insert(table).on_conflict_do_nothing(index_elements=list(keys))


IDS = "ids"
"""The expanding parameter of the batch reads: each is one statement object, made once.
Built per call, a ``select`` and its cache key cost ~80 µs (the ranked verifier read
more), several times a batch; a statement object keeps its cache key."""


def _among(column: Any) -> ColumnElement[bool]:
    among: ColumnElement[bool] = column.in_(bindparam(IDS, expanding=True))
    return among


_KNOWN_LEADS = select(Leads.lead_id).where(_among(Leads.lead_id))
_LEADS = select(text_of(Leads.data)).where(_among(Leads.lead_id))
_MEMBERS = select(Leads.cluster_id, Leads.lead_id).where(_among(Leads.cluster_id))
_VERDICT_SEQS = (
    select(Verdicts.cluster_id, Verdicts.seq, Verdicts.verdict_id)
    .where(_among(Verdicts.cluster_id))
    .order_by(Verdicts.cluster_id, Verdicts.seq)
)
_VERDICTS_AT = select(Verdicts.cluster_id, text_of(Verdicts.data)).where(_among(Verdicts.seq))
_CASES_OF = (
    select(Cases.cluster_id, text_of(Cases.data))
    .where(_among(Cases.cluster_id))
    .order_by(Cases.opened_at)
)
_CASES = select(text_of(Cases.data)).where(_among(Cases.case_id))


async def _run(conn: AsyncConnection, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    for part in chunks(rows):
        await conn.execute(statement, list(part))


# -- posts ----------------------------------------------------------------------------


def post_row(post: Post) -> dict[str, Any]:
    return {
        "post_id": post.post_id,
        "platform": post.platform,
        "source": post.source,
        "created_at": post.created_at,
        "fetched_at": post.fetched_at,
        "data": post,
    }


async def upsert_posts(conn: AsyncConnection, insert: InsertFor, posts: Sequence[Post]) -> None:
    rows = [post_row(p) for p in last_by(posts, lambda p: p.post_id)]
    if not rows:
        return
    columns = ("platform", "source", "created_at", "fetched_at", "data")
    await _run(conn, _upsert(insert, Posts, "post_id", columns), rows)


# -- leads and their clusters ---------------------------------------------------------


def lead_row(lead: Lead) -> dict[str, Any]:
    return {
        "lead_id": lead.lead_id,
        "cluster_id": lead.cluster_id,
        "category": lead.category,
        "urgent": lead.urgent,
        "score": lead.score,
        "found_at": lead.found_at,
        "data": lead,
    }


@dataclass
class _Fold:
    """A cluster's row folded from its leads of one batch, in order."""

    newest: Lead
    urgent: bool
    max_score: float
    corroboration: int
    first_seen: datetime
    last_seen: datetime
    first_new: bool
    later_new: int
    """New leads after the first occurrence (the first one inserts the row with 1)."""

    def add(self, lead: Lead, new: bool) -> None:
        if lead.found_at >= self.last_seen:
            self.newest = lead  # the newest lead (the last of equals) names category/place
        self.urgent = self.urgent or lead.urgent
        self.max_score = max(self.max_score, lead.score)
        self.corroboration = max(self.corroboration, lead.corroboration)
        self.first_seen = min(self.first_seen, lead.found_at)
        self.last_seen = max(self.last_seen, lead.found_at)
        self.later_new += new

    def row(self, cluster_id: str) -> dict[str, Any]:
        return {
            "cluster_id": cluster_id,
            "category": self.newest.category,
            "geo": self.newest.geo,
            "urgent": self.urgent,
            "max_score": self.max_score,
            "corroboration": self.corroboration,
            # Inserted: the first lead's 1 plus the later new ones. On conflict the
            # statement adds this minus one unless the first lead was new itself.
            "leads": 1 + self.later_new,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


async def upsert_leads(conn: AsyncConnection, insert: InsertFor, leads: Sequence[Lead]) -> set[str]:
    """Upsert leads and fold them into their clusters; returns the ids that were new."""
    if not leads:
        return set()
    ids = list(dict.fromkeys(lead.lead_id for lead in leads))
    existing: set[str] = set()
    for part in chunks(ids):
        existing.update(await conn.scalars(_KNOWN_LEADS, {IDS: list(part)}))
    rows = [lead_row(x) for x in last_by(leads, lambda x: x.lead_id)]
    columns = ("cluster_id", "category", "urgent", "score", "found_at", "data")
    await _run(conn, _upsert(insert, Leads, "lead_id", columns), rows)

    seen = set(existing)
    folds: dict[str, _Fold] = {}
    for lead in leads:
        new = lead.lead_id not in seen
        seen.add(lead.lead_id)
        fold = folds.get(lead.cluster_id)
        if fold is None:
            folds[lead.cluster_id] = _Fold(
                newest=lead,
                urgent=lead.urgent,
                max_score=lead.score,
                corroboration=lead.corroboration,
                first_seen=lead.found_at,
                last_seen=lead.found_at,
                first_new=new,
                later_new=0,
            )
        else:
            fold.add(lead, new)
    for first_new in (True, False):
        rows = [f.row(cid) for cid, f in folds.items() if f.first_new is first_new]
        if rows:
            await _run(conn, _cluster_fold(insert, first_new=first_new), rows)
    return set(ids) - existing


@functools.cache
def _cluster_fold(insert: InsertFor, *, first_new: bool) -> Any:
    ins = insert(Clusters)
    incoming = ins.excluded
    added = incoming.leads if first_new else incoming.leads - 1
    return ins.on_conflict_do_update(
        index_elements=["cluster_id"], set_=cluster_fold(incoming, added)
    )


def cluster_fold(incoming: Any, added: Any) -> dict[str, Any]:
    """How a cluster row takes in an incoming one (``excluded``) that brings ``added``
    leads: the newest category and place, urgent if either is, the larger scores, the
    wider time span. One definition for the one-lead upsert and the batch fold."""
    newest = incoming.last_seen >= Clusters.last_seen
    return {
        "category": case((newest, incoming.category), else_=Clusters.category),
        "geo": case((newest, incoming.geo), else_=Clusters.geo),
        "urgent": or_(Clusters.urgent, incoming.urgent),
        "max_score": _larger(Clusters.max_score, incoming.max_score),
        "corroboration": _larger(Clusters.corroboration, incoming.corroboration),
        "leads": Clusters.leads + added,
        "first_seen": _smaller(Clusters.first_seen, incoming.first_seen),
        "last_seen": _larger(Clusters.last_seen, incoming.last_seen),
    }


async def get_leads(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, Lead]:
    wanted = list(dict.fromkeys(ids))
    out: dict[str, Lead] = {}
    for part in chunks(wanted):
        rows = await conn.execute(_LEADS, {IDS: list(part)})
        for (data,) in rows:
            lead = Lead.model_validate_json(data)
            out[lead.lead_id] = lead
    return out


async def cluster_members(conn: AsyncConnection, cluster_ids: Iterable[str]) -> dict[str, set[str]]:
    wanted = list(dict.fromkeys(cluster_ids))
    out: dict[str, set[str]] = {c: set() for c in wanted}
    for part in chunks(wanted):
        for cluster_id, lead_id in await conn.execute(_MEMBERS, {IDS: list(part)}):
            out[cluster_id].add(lead_id)
    return out


# -- verdicts -------------------------------------------------------------------------


async def verdicts_of_clusters(
    conn: AsyncConnection, cluster_ids: Iterable[str]
) -> tuple[dict[str, Verdict], set[str]]:
    """Each cluster's latest verdict (highest ``seq``), for the clusters that have one, and
    the ids of every verdict of the clusters: the ids come with the seqs, in one statement
    (a statement of its own for them was a third of the verifier's reads)."""
    wanted = list(dict.fromkeys(cluster_ids))
    out: dict[str, Verdict] = {}
    ids: set[str] = set()
    for part in chunks(wanted):
        newest: dict[str, int] = {}
        for cluster_id, seq, verdict_id in await conn.execute(_VERDICT_SEQS, {IDS: list(part)}):
            newest[cluster_id] = seq
            ids.add(verdict_id)
        if not newest:
            continue
        rows = await conn.execute(_VERDICTS_AT, {IDS: list(newest.values())})
        for cluster_id, data in rows:
            out[cluster_id] = Verdict.model_validate_json(data)
    return out, ids


async def record_verdicts(
    conn: AsyncConnection, insert: InsertFor, verdicts: Sequence[Verdict]
) -> None:
    """In order (``seq`` follows the batch); a verdict id recorded before stays as it was."""
    rows = [
        {
            "verdict_id": v.verdict_id,
            "cluster_id": v.cluster_id,
            "decision": v.decision,
            "decided_at": v.decided_at,
            "data": v,
            "district": v.lead.geo.district,
            "duplicate_of": v.duplicate_of,
        }
        for v in _first_by(verdicts, lambda v: v.verdict_id)
    ]
    if rows:
        await _run(conn, _insert_new(insert, Verdicts, ("verdict_id",)), rows)


# -- cases and the outbox ---------------------------------------------------------------


def case_row(case: Case) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "cluster_id": case.cluster_id,
        "status": case.status,
        "opened_at": case.opened_at,
        "updated_at": case.history[-1].at if case.history else case.opened_at,
        "data": case,
    }


async def save_cases(conn: AsyncConnection, insert: InsertFor, cases: Sequence[Case]) -> None:
    """Upsert the cases (the last version of each); every history event becomes a row
    once, by position, the first version of a position kept."""
    rows = [case_row(c) for c in last_by(cases, lambda c: c.case_id)]
    if not rows:
        return
    columns = ("cluster_id", "status", "opened_at", "updated_at", "data")
    await _run(conn, _upsert(insert, Cases, "case_id", columns), rows)
    events: dict[tuple[str, int], dict[str, Any]] = {}
    for c in cases:
        for position, event in enumerate(c.history):
            events.setdefault(
                (c.case_id, position),
                {
                    "case_id": c.case_id,
                    "position": position,
                    "at": event.at,
                    "status": event.status,
                    "note": event.note,
                    "by": event.by,
                },
            )
    if events:
        statement = _insert_new(insert, CaseEvents, ("case_id", "position"))
        await _run(conn, statement, list(events.values()))


async def cases_by_cluster(conn: AsyncConnection, cluster_ids: Iterable[str]) -> dict[str, Case]:
    """Each cluster's most recently opened case, for the clusters that have one."""
    wanted = list(dict.fromkeys(cluster_ids))
    out: dict[str, Case] = {}
    for part in chunks(wanted):
        for cluster_id, data in await conn.execute(_CASES_OF, {IDS: list(part)}):
            out[cluster_id] = Case.model_validate_json(data)  # later rows are newer
    return out


async def get_cases(conn: AsyncConnection, case_ids: Iterable[str]) -> dict[str, Case]:
    wanted = list(dict.fromkeys(case_ids))
    out: dict[str, Case] = {}
    for part in chunks(wanted):
        for (data,) in await conn.execute(_CASES, {IDS: list(part)}):
            case_ = Case.model_validate_json(data)
            out[case_.case_id] = case_
    return out


async def outbox_put_many(
    conn: AsyncConnection, insert: InsertFor, keys: Sequence[str], *, kind: str, now: datetime
) -> None:
    rows = [
        {
            "key": key,
            "kind": kind,
            "payload": {},
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for key in dict.fromkeys(keys)
    ]
    if rows:
        await _run(conn, _insert_new(insert, Outbox, ("key",)), rows)


# -- dead letters -----------------------------------------------------------------------


def letter_id(dl: DeadLetter) -> str:
    return stable_id(
        dl.stage,
        dl.source_topic,
        str(dl.partition),
        str(dl.offset),
        dl.record_key or "",
        "\x00null" if dl.original_b64 is None else dl.original_b64,
        length=32,
    )


async def add_dead_letters(
    conn: AsyncConnection, insert: InsertFor, letters: Sequence[DeadLetter]
) -> None:
    rows: dict[str, dict[str, Any]] = {}
    for dl in letters:
        key = letter_id(dl)
        rows.setdefault(
            key,
            {
                "letter_id": key,
                "stage": dl.stage,
                "source_topic": dl.source_topic,
                "error_type": dl.error_type,
                "failed_at": dl.failed_at,
                "data": dl,
            },
        )
    if rows:
        statement = _insert_new(insert, DeadLetters, ("letter_id",))
        await _run(conn, statement, list(rows.values()))
