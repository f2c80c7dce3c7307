"""The Store: every record the stages keep, on SQLite (embedded) or PostgreSQL (production).

Writes are upserts by natural id (``INSERT ... ON CONFLICT``), so a record delivered twice
changes nothing the second time. Each write starts with its INSERT, which on SQLite takes
the write lock at once (waiting up to the busy timeout) instead of failing when a read
transaction tries to upgrade.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Self

from sqlalchemy import Insert, bindparam, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from xianban.records import Case, CaseEvent, DeadLetter, Lead, Post, Verdict, utcnow
from xianban.store import bulk
from xianban.store.bulk import text_of
from xianban.store.engine import create_engine, parse_url, translate
from xianban.store.migrate import current_revision, migration_lock, upgrade_to_head
from xianban.store.rows import (
    TASK_STATUSES,
    AuditRow,
    ClusterRow,
    OutboxItem,
    RecentLead,
    SourceState,
    TaskRow,
)
from xianban.store.tables import (
    AuditLog,
    Base,
    CaseEvents,
    Cases,
    Clusters,
    DeadLetters,
    Leads,
    Leases,
    Outbox,
    Posts,
    ScheduledTasks,
    SourceStates,
    Tasks,
    Verdicts,
)


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET


class Store:
    """One database, shared by every stage of a process; open it once, close it at exit."""

    def __init__(self, engine: AsyncEngine, url: URL) -> None:
        self._engine = engine
        self._url = url
        self._sqlite = url.get_backend_name() == "sqlite"
        self._dialect_insert: bulk.InsertFor = sqlite.insert if self._sqlite else postgresql.insert

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Self:
        """Connect (and bring the schema to head); a bad URL or a dead database fails here."""
        parsed = parse_url(url)
        store = cls(create_engine(parsed), parsed)
        try:
            if migrate:
                async with migration_lock(), store._tx() as conn:
                    await conn.run_sync(upgrade_to_head)
            else:
                async with store._tx() as conn:
                    await conn.execute(select(1))
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        await self._engine.dispose()

    async def revision(self) -> str:
        """The schema revision the database is at ("" before any migration)."""
        async with self._tx() as conn:
            return await conn.run_sync(current_revision) or ""

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._connection() as conn, conn.begin():
                yield conn
        except (DBAPIError, NoSuchModuleError, OSError, TimeoutError) as exc:
            ours = translate(self._url, exc)
            if ours is None:
                raise
            raise ours from exc
        except StatementError as exc:
            if isinstance(exc.orig, ValueError):  # a value we refused to bind: say which
                raise exc.orig from None
            raise

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection. SQLAlchemy returns a connection to the pool from a task of
        its own, so a cancellation cannot cut that short; the caller waits for the loop
        to run it, behind every task ready meanwhile. On SQLite (``InlineSqlite``) the
        return never waits, so nothing can cut it short and it is done in the caller's
        task: a store call there never yields to the loop (10 % of the embedded bench's
        main-thread CPU went to those tasks and the loop iterations around them)."""
        if not self._sqlite:
            async with self._engine.connect() as conn:
                yield conn
            return
        conn = await self._engine.connect()
        try:
            yield conn
        finally:
            await conn.close()

    def _insert(self, table: type[Base]) -> Any:
        """The dialect's INSERT, the one that knows ON CONFLICT."""
        return self._dialect_insert(table)

    @staticmethod
    async def _inserted(conn: AsyncConnection, stmt: Insert) -> bool:
        return (await conn.execute(stmt)).first() is not None

    # -- posts, leads, clusters -------------------------------------------------------

    async def upsert_post(self, post: Post) -> bool:
        """Keep the latest crawl of a post; True if the post is new."""
        values = {
            "platform": post.platform,
            "source": post.source,
            "created_at": post.created_at,
            "fetched_at": post.fetched_at,
            "data": post,
        }
        insert = self._insert(Posts).values(post_id=post.post_id, **values)
        async with self._tx() as conn:
            if await self._inserted(
                conn,
                insert.on_conflict_do_nothing(index_elements=["post_id"]).returning(Posts.post_id),
            ):
                return True
            await conn.execute(update(Posts).where(Posts.post_id == post.post_id).values(values))
            return False

    async def has_post(self, post_id: str) -> bool:
        return post_id in await self.known_posts([post_id])

    async def known_posts(self, post_ids: Iterable[str]) -> set[str]:
        """Which of these posts the store holds, in one query (a crawled page's worth)."""
        ids = list(set(post_ids))
        if not ids:
            return set()
        async with self._tx() as conn:
            return set(await conn.scalars(select(Posts.post_id).where(Posts.post_id.in_(ids))))

    async def get_post(self, post_id: str) -> Post | None:
        async with self._tx() as conn:
            data = await conn.scalar(select(text_of(Posts.data)).where(Posts.post_id == post_id))
        return None if data is None else Post.model_validate_json(data)

    async def upsert_lead(self, lead: Lead) -> bool:
        """Keep the lead and fold it into its cluster's row; True if the lead is new.

        The cluster keeps the highest score and corroboration and the widest time span, and
        takes category and place from its most recent lead, so replaying any lead (even an
        old one, out of order) leaves the row as it was.
        """
        values = {
            "cluster_id": lead.cluster_id,
            "category": lead.category,
            "urgent": lead.urgent,
            "score": lead.score,
            "found_at": lead.found_at,
            "data": lead,
        }
        insert = self._insert(Leads).values(lead_id=lead.lead_id, **values)
        async with self._tx() as conn:
            new = await self._inserted(
                conn,
                insert.on_conflict_do_nothing(index_elements=["lead_id"]).returning(Leads.lead_id),
            )
            if not new:
                await conn.execute(
                    update(Leads).where(Leads.lead_id == lead.lead_id).values(values)
                )
            await conn.execute(self._fold_into_cluster(lead, new=new))
        return new

    def _fold_into_cluster(self, lead: Lead, *, new: bool) -> Any:
        insert = self._insert(Clusters).values(
            cluster_id=lead.cluster_id,
            category=lead.category,
            geo=lead.geo,
            urgent=lead.urgent,
            max_score=lead.score,
            corroboration=lead.corroboration,
            leads=1,
            first_seen=lead.found_at,
            last_seen=lead.found_at,
        )
        return insert.on_conflict_do_update(
            index_elements=["cluster_id"], set_=bulk.cluster_fold(insert.excluded, int(new))
        )

    async def get_lead(self, lead_id: str) -> Lead | None:
        async with self._tx() as conn:
            data = await conn.scalar(select(text_of(Leads.data)).where(Leads.lead_id == lead_id))
        return None if data is None else Lead.model_validate_json(data)

    async def leads_in_cluster(self, cluster_id: str) -> list[Lead]:
        """Oldest first: the order the reports came in."""
        query = (
            select(text_of(Leads.data))
            .where(Leads.cluster_id == cluster_id)
            .order_by(Leads.found_at, Leads.lead_id)
        )
        async with self._tx() as conn:
            rows = await conn.scalars(query)
            return [Lead.model_validate_json(data) for data in rows]

    async def recent_leads(
        self, *, since: datetime, limit: int = 1000, category: str | None = None
    ) -> list[RecentLead]:
        """Leads found at or after ``since`` (of one category if given), newest first: what
        clustering compares a post with (``RecentLead``; ``get_lead`` for the rest).

        The category filter keeps clustering cheap: near-duplicates share one (only a
        near-identical copy is looked for among all categories)."""
        query = select(
            Leads.lead_id,
            Leads.cluster_id,
            Leads.category,
            Leads.data[("geo", "district")].as_string(),
            Leads.data["posted_at"].as_string(),
            Leads.found_at,
            Leads.data["text"].as_string(),
        ).where(Leads.found_at >= since)
        if category is not None:
            query = query.where(Leads.category == category)
        query = query.order_by(Leads.found_at.desc(), Leads.lead_id).limit(limit)
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RecentLead(
                lead_id=lead_id,
                cluster_id=cluster_id,
                category=category_,
                district=district,
                posted_at=None if posted_at is None else datetime.fromisoformat(posted_at),
                found_at=found_at,
                text=text,
            )
            for lead_id, cluster_id, category_, district, posted_at, found_at, text in rows
        ]

    async def get_cluster(self, cluster_id: str) -> ClusterRow | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(select(Clusters).where(Clusters.cluster_id == cluster_id))
            ).first()
        if row is None:
            return None
        return ClusterRow(
            cluster_id=row.cluster_id,
            category=row.category,
            geo=row.geo,
            urgent=bool(row.urgent),
            max_score=row.max_score,
            corroboration=row.corroboration,
            leads=row.leads,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
        )

    # -- verdicts and the review queue --------------------------------------------------

    async def record_verdict(self, verdict: Verdict) -> bool:
        """Verdicts are facts: the first one recorded under an id stays. True if new."""
        insert = self._insert(Verdicts).values(
            verdict_id=verdict.verdict_id,
            cluster_id=verdict.cluster_id,
            decision=verdict.decision,
            decided_at=verdict.decided_at,
            data=verdict,
            district=verdict.lead.geo.district,
            duplicate_of=verdict.duplicate_of,
        )
        async with self._tx() as conn:
            return await self._inserted(
                conn,
                insert.on_conflict_do_nothing(index_elements=["verdict_id"]).returning(
                    Verdicts.seq
                ),
            )

    async def latest_verdict(self, cluster_id: str) -> Verdict | None:
        query = (
            select(text_of(Verdicts.data))
            .where(Verdicts.cluster_id == cluster_id)
            .order_by(Verdicts.seq.desc())
            .limit(1)
        )
        async with self._tx() as conn:
            data = await conn.scalar(query)
        return None if data is None else Verdict.model_validate_json(data)

    async def review_queue(self, *, limit: int = 100) -> list[Verdict]:
        """Clusters whose latest verdict is ``needs_review``, most recently queued first."""
        latest = (
            select(func.max(Verdicts.seq).label("seq")).group_by(Verdicts.cluster_id).subquery()
        )
        query = (
            select(text_of(Verdicts.data))
            .join(latest, Verdicts.seq == latest.c.seq)
            .where(Verdicts.decision == "needs_review")
            .order_by(Verdicts.seq.desc())
            .limit(limit)
        )
        async with self._tx() as conn:
            rows = await conn.scalars(query)
            return [Verdict.model_validate_json(data) for data in rows]

    # -- cases ---------------------------------------------------------------------------

    async def save_case(self, case: Case) -> None:
        """Upsert the case; its history events become rows once each, by position."""
        values = {
            "cluster_id": case.cluster_id,
            "status": case.status,
            "opened_at": case.opened_at,
            "updated_at": case.history[-1].at if case.history else case.opened_at,
            "data": case,
        }
        insert = self._insert(Cases).values(case_id=case.case_id, **values)
        async with self._tx() as conn:
            await conn.execute(
                insert.on_conflict_do_update(index_elements=["case_id"], set_=values)
            )
            if case.history:
                events = self._insert(CaseEvents).values(
                    [
                        {
                            "case_id": case.case_id,
                            "position": position,
                            "at": event.at,
                            "status": event.status,
                            "note": event.note,
                            "by": event.by,
                        }
                        for position, event in enumerate(case.history)
                    ]
                )
                await conn.execute(
                    events.on_conflict_do_nothing(index_elements=["case_id", "position"])
                )

    async def get_case(self, case_id: str) -> Case | None:
        async with self._tx() as conn:
            data = await conn.scalar(select(text_of(Cases.data)).where(Cases.case_id == case_id))
        return None if data is None else Case.model_validate_json(data)

    async def get_case_by_cluster(self, cluster_id: str) -> Case | None:
        query = (
            select(text_of(Cases.data))
            .where(Cases.cluster_id == cluster_id)
            .order_by(Cases.opened_at.desc())
            .limit(1)
        )
        async with self._tx() as conn:
            data = await conn.scalar(query)
        return None if data is None else Case.model_validate_json(data)

    async def list_cases(
        self, *, statuses: Collection[str] | None = None, limit: int = 100
    ) -> list[Case]:
        """Newest first; ``statuses`` narrows to cases in any of them."""
        query = (
            select(text_of(Cases.data)).order_by(Cases.opened_at.desc(), Cases.case_id).limit(limit)
        )
        if statuses is not None:
            query = query.where(Cases.status.in_(list(statuses)))
        async with self._tx() as conn:
            rows = await conn.scalars(query)
            return [Case.model_validate_json(data) for data in rows]

    async def case_history(self, case_id: str) -> list[CaseEvent]:
        """The stored event rows of a case, in order (what reports and SLA figures read)."""
        query = (
            select(CaseEvents).where(CaseEvents.case_id == case_id).order_by(CaseEvents.position)
        )
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return [CaseEvent(at=r.at, status=r.status, note=r.note, by=r.by) for r in rows]

    # -- outbox --------------------------------------------------------------------------

    async def outbox_put(self, *, key: str, kind: str, payload: dict[str, Any]) -> bool:
        """Queue an item unless one with this key exists (pending or done); True if new."""
        now = utcnow()
        insert = self._insert(Outbox).values(
            key=key,
            kind=kind,
            payload=payload,
            status="pending",
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        async with self._tx() as conn:
            return await self._inserted(
                conn, insert.on_conflict_do_nothing(index_elements=["key"]).returning(Outbox.key)
            )

    async def outbox_pending(self, *, limit: int = 100) -> list[OutboxItem]:
        """Items still to deliver, oldest first (failed ones stay pending and come again)."""
        async with self._tx() as conn:
            rows = (await conn.execute(_PENDING, {"b_limit": limit})).all()
        return [
            OutboxItem(
                key=r.key,
                kind=r.kind,
                payload=r.payload,
                attempts=r.attempts,
                last_error=r.last_error,
                created_at=r.created_at,
            )
            for r in rows
        ]

    async def outbox_done(self, key: str, *, result: dict[str, Any]) -> None:
        await self._outbox_update(key, status="done", result=result, updated_at=utcnow())

    async def outbox_failed(self, key: str, *, error: str) -> None:
        """Count a failed attempt; the item stays pending for the next delivery round."""
        await self._outbox_update(
            key, attempts=Outbox.attempts + 1, last_error=error, updated_at=utcnow()
        )

    async def _outbox_update(self, key: str, **values: Any) -> None:
        async with self._tx() as conn:
            changed = await conn.execute(
                update(Outbox).where(Outbox.key == key).values(values).returning(Outbox.key)
            )
            if changed.first() is None:
                raise LookupError(f"no outbox item with key {key!r}")

    # -- batches: one transaction per call, same end state as the one-record methods -----

    async def store_posts_and_leads(self, posts: Sequence[Post], leads: Sequence[Lead]) -> set[str]:
        """The leadfinder's batch: posts upserted, leads upserted and folded into their
        clusters, in one transaction; returns the lead ids that were new."""
        async with self._tx() as conn:
            await bulk.upsert_posts(conn, self._dialect_insert, posts)
            return await bulk.upsert_leads(conn, self._dialect_insert, leads)

    async def upsert_posts(self, posts: Sequence[Post]) -> None:
        async with self._tx() as conn:
            await bulk.upsert_posts(conn, self._dialect_insert, posts)

    async def upsert_leads(self, leads: Sequence[Lead]) -> set[str]:
        """``upsert_lead`` for each, in order, in one transaction; the new lead ids."""
        async with self._tx() as conn:
            return await bulk.upsert_leads(conn, self._dialect_insert, leads)

    async def get_leads(self, lead_ids: Iterable[str]) -> dict[str, Lead]:
        async with self._tx() as conn:
            return await bulk.get_leads(conn, lead_ids)

    async def cluster_members(self, cluster_ids: Iterable[str]) -> dict[str, set[str]]:
        """The lead ids in each cluster (an empty set for a cluster with none)."""
        async with self._tx() as conn:
            return await bulk.cluster_members(conn, cluster_ids)

    async def newest_leads(self, *, per_category: int) -> list[Lead]:
        """The ``per_category`` newest leads of each category (by found time, then lead
        id, as ``recent_leads`` orders them), in one query: what a clustering window is
        rebuilt from."""
        rank = (
            func.row_number()
            .over(partition_by=Leads.category, order_by=(Leads.found_at.desc(), Leads.lead_id))
            .label("rank")
        )
        ranked = select(text_of(Leads.data).label("data"), rank).subquery()
        query = select(ranked.c.data).where(ranked.c.rank <= per_category)
        async with self._tx() as conn:
            return [Lead.model_validate_json(data) for data in await conn.scalars(query)]

    async def lead_stamps(self, *, since: datetime) -> list[tuple[str, datetime]]:
        """(lead id, found at) of the leads found at or after ``since``: cheap to read
        often, so a worker can fetch in full only the leads it does not know yet."""
        async with self._tx() as conn:
            rows = await conn.execute(_STAMPS, {"b_since": since})
            return [(lead_id, found_at) for lead_id, found_at in rows]

    async def verdicts_for(self, cluster_ids: Iterable[str]) -> tuple[dict[str, Verdict], set[str]]:
        """The verifier's read for a batch: each cluster's latest verdict, and the ids of
        every verdict recorded for the clusters (a verdict id names its cluster)."""
        wanted = list(dict.fromkeys(cluster_ids))
        async with self._tx() as conn:
            return await bulk.verdicts_of_clusters(conn, wanted)

    async def store_leads_and_verdicts(
        self, leads: Sequence[Lead], verdicts: Sequence[Verdict]
    ) -> None:
        """The verifier's batch write: leads (``upsert_lead`` each) and verdicts
        (``record_verdict`` each, in order), in one transaction."""
        async with self._tx() as conn:
            await bulk.upsert_leads(conn, self._dialect_insert, leads)
            await bulk.record_verdicts(conn, self._dialect_insert, verdicts)

    async def cases_by_cluster(self, cluster_ids: Iterable[str]) -> dict[str, Case]:
        """``get_case_by_cluster`` for many clusters at once."""
        async with self._tx() as conn:
            return await bulk.cases_by_cluster(conn, cluster_ids)

    async def get_cases(self, case_ids: Iterable[str]) -> dict[str, Case]:
        async with self._tx() as conn:
            return await bulk.get_cases(conn, case_ids)

    async def save_cases(self, cases: Sequence[Case]) -> None:
        async with self._tx() as conn:
            await bulk.save_cases(conn, self._dialect_insert, cases)

    async def queue_filings(self, cases: Sequence[Case], *, kind: str) -> None:
        """Cases saved and an outbox item (key: case id) queued for each, in one
        transaction; an item queued before is left as it is."""
        async with self._tx() as conn:
            await bulk.save_cases(conn, self._dialect_insert, cases)
            await bulk.outbox_put_many(
                conn, self._dialect_insert, [c.case_id for c in cases], kind=kind, now=utcnow()
            )

    async def outbox_results(
        self,
        *,
        done: Sequence[tuple[str, dict[str, Any]]] = (),
        failed: Sequence[tuple[str, str]] = (),
        cases: Sequence[Case] = (),
    ) -> None:
        """One delivery round's outcome in one transaction: items done (with their
        result), items failed (attempt counted, still pending), and the changed cases."""
        now = utcnow()
        async with self._tx() as conn:
            if done:
                await conn.execute(
                    _OUTBOX_DONE,
                    [{"b_key": key, "b_result": result, "b_now": now} for key, result in done],
                )
            if failed:
                await conn.execute(
                    _OUTBOX_FAILED,
                    [{"b_key": key, "b_error": error, "b_now": now} for key, error in failed],
                )
            await bulk.save_cases(conn, self._dialect_insert, cases)

    # -- crawling: per-source state and the task ledger ------------------------------------

    async def get_source_state(self, source: str) -> SourceState | None:
        query = select(SourceStates).where(SourceStates.source == source)
        async with self._tx() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _source_state(row)

    async def set_source_state(
        self,
        source: str,
        *,
        state: str | _Unset = UNSET,
        cursor: str | _Unset | None = UNSET,
        paused: bool | _Unset = UNSET,
        last_success: datetime | _Unset | None = UNSET,
        last_error: str | _Unset | None = UNSET,
        error_counts: dict[str, int] | _Unset = UNSET,
        posts_total: int | _Unset = UNSET,
    ) -> None:
        """Create or update a source's state; only the fields given change."""
        given = {
            name: value
            for name, value in {
                "state": state,
                "cursor": cursor,
                "paused": paused,
                "last_success": last_success,
                "last_error": last_error,
                "error_counts": error_counts,
                "posts_total": posts_total,
            }.items()
            if value is not UNSET
        }
        given["updated_at"] = utcnow()
        defaults: dict[str, Any] = {
            "state": "idle",
            "cursor": None,
            "paused": False,
            "last_success": None,
            "last_error": None,
            "error_counts": {},
            "posts_total": 0,
        }
        insert = self._insert(SourceStates).values(source=source, **{**defaults, **given})
        async with self._tx() as conn:
            await conn.execute(insert.on_conflict_do_update(index_elements=["source"], set_=given))

    async def list_source_states(self) -> list[SourceState]:
        async with self._tx() as conn:
            rows = (await conn.execute(select(SourceStates).order_by(SourceStates.source))).all()
        return [_source_state(row) for row in rows]

    async def record_task(
        self,
        *,
        task_id: str,
        source: str,
        status: str,
        reason: str | None = None,
        attempt: int = 0,
        posts: int = 0,
    ) -> None:
        """Write where a crawl task stands now (queued → running → done | failed | retried)."""
        if status not in TASK_STATUSES:
            raise ValueError(f"task status {status!r} is not one of {', '.join(TASK_STATUSES)}")
        now = utcnow()
        values = {
            "source": source,
            "status": status,
            "reason": reason,
            "attempt": attempt,
            "posts": posts,
            "updated_at": now,
        }
        insert = self._insert(Tasks).values(task_id=task_id, created_at=now, **values)
        async with self._tx() as conn:
            await conn.execute(
                insert.on_conflict_do_update(index_elements=["task_id"], set_=values)
            )

    async def get_task(self, task_id: str) -> TaskRow | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(Tasks).where(Tasks.task_id == task_id))).first()
        return None if row is None else _task_row(row)

    async def list_tasks(
        self,
        *,
        source: str | None = None,
        statuses: Collection[str] | None = None,
        limit: int = 100,
    ) -> list[TaskRow]:
        """Most recently updated first; e.g. the tasks still ``running`` after a crash."""
        query = select(Tasks).order_by(Tasks.updated_at.desc(), Tasks.task_id).limit(limit)
        if source is not None:
            query = query.where(Tasks.source == source)
        if statuses is not None:
            query = query.where(Tasks.status.in_(list(statuses)))
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return [_task_row(row) for row in rows]

    # -- leases: one holder at a time --------------------------------------------------

    async def acquire_lease(
        self, name: str, holder: str, *, ttl_s: float, now: datetime | None = None
    ) -> bool:
        """Take or renew the lease ``name`` for ``ttl_s`` seconds: True when ``holder``
        holds it now (it was free, expired, or already ``holder``'s). One statement, so
        two contenders cannot both win."""
        now = now or utcnow()
        insert = self._insert(Leases).values(
            name=name,
            holder=holder,
            expires_at=now + timedelta(seconds=ttl_s),
            acquired_at=now,
            renewed_at=now,
        )
        incoming = insert.excluded
        statement = insert.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "holder": incoming.holder,
                "expires_at": incoming.expires_at,
                "renewed_at": incoming.renewed_at,
                "acquired_at": case(
                    (Leases.holder == incoming.holder, Leases.acquired_at),
                    else_=incoming.acquired_at,
                ),
            },
            where=or_(Leases.holder == incoming.holder, Leases.expires_at < incoming.renewed_at),
        ).returning(Leases.holder)
        async with self._tx() as conn:
            return await self._inserted(conn, statement)

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up at once (a clean stop), if ``holder`` has it."""
        async with self._tx() as conn:
            await conn.execute(delete(Leases).where(Leases.name == name, Leases.holder == holder))

    async def lease_holder(self, name: str, *, now: datetime | None = None) -> str | None:
        """Who holds ``name`` now (``None``: nobody, or the lease ran out)."""
        now = now or utcnow()
        query = select(Leases.holder).where(Leases.name == name, Leases.expires_at >= now)
        async with self._tx() as conn:
            holder: str | None = await conn.scalar(query)
        return holder

    async def known_task_ids(self, task_ids: Iterable[str]) -> set[str]:
        """Which of these crawl tasks were scheduled already or are in the ledger
        (started, done or failed)."""
        wanted = list(dict.fromkeys(task_ids))
        found: set[str] = set()
        async with self._tx() as conn:
            for part in bulk.chunks(wanted):
                for table in (ScheduledTasks, Tasks):
                    query = select(table.task_id).where(table.task_id.in_(part))
                    found.update(await conn.scalars(query))
        return found

    async def mark_scheduled(self, tasks: Sequence[tuple[str, str]], *, at: datetime) -> None:
        """Remember (task id, source) pairs as sent; rows older than two days go."""
        async with self._tx() as conn:
            if tasks:
                rows = [{"task_id": t, "source": s, "scheduled_at": at} for t, s in tasks]
                statement = self._insert(ScheduledTasks).on_conflict_do_nothing(
                    index_elements=["task_id"]
                )
                await conn.execute(statement, rows)
            await conn.execute(
                delete(ScheduledTasks).where(ScheduledTasks.scheduled_at < at - timedelta(days=2))
            )

    # -- dead letters, audit, counts ------------------------------------------------------

    async def add_dead_letter(self, dl: DeadLetter) -> None:
        """Keep a dead letter once per failing record, however often it is replayed."""
        await self.add_dead_letters([dl])

    async def add_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """A batch's dead letters in one transaction, each kept once."""
        if not letters:
            return
        async with self._tx() as conn:
            await bulk.add_dead_letters(conn, self._dialect_insert, letters)

    async def list_dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        """Newest first."""
        query = (
            select(text_of(DeadLetters.data))
            .order_by(DeadLetters.failed_at.desc(), DeadLetters.letter_id)
            .limit(limit)
        )
        async with self._tx() as conn:
            rows = await conn.scalars(query)
            return [DeadLetter.model_validate_json(data) for data in rows]

    async def audit(
        self, *, actor: str, action: str, target: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Append to the audit log; every entry is kept, a repeated action included."""
        async with self._tx() as conn:
            await conn.execute(
                self._insert(AuditLog).values(
                    at=utcnow(), actor=actor, action=action, target=target, detail=detail
                )
            )

    async def list_audit(self, *, limit: int = 100) -> list[AuditRow]:
        """Newest first."""
        query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return [
            AuditRow(at=r.at, actor=r.actor, action=r.action, target=r.target, detail=r.detail)
            for r in rows
        ]

    async def counts(self) -> dict[str, int]:
        """Rows per kind, for the run summary and the console overview."""
        tables: dict[str, Any] = {
            "posts": select(func.count()).select_from(Posts),
            "leads": select(func.count()).select_from(Leads),
            "clusters": select(func.count()).select_from(Clusters),
            "verdicts": select(func.count()).select_from(Verdicts),
            "cases": select(func.count()).select_from(Cases),
            "dead_letters": select(func.count()).select_from(DeadLetters),
            "outbox_pending": select(func.count())
            .select_from(Outbox)
            .where(Outbox.status == "pending"),
        }
        query = select(*(q.scalar_subquery().label(name) for name, q in tables.items()))
        async with self._tx() as conn:
            row = (await conn.execute(query)).one()
        return {name: int(value) for name, value in row._mapping.items()}


def _source_state(row: Any) -> SourceState:
    return SourceState(
        source=row.source,
        state=row.state,
        cursor=row.cursor,
        paused=bool(row.paused),
        last_success=row.last_success,
        last_error=row.last_error,
        error_counts=dict(row.error_counts),
        posts_total=row.posts_total,
        updated_at=row.updated_at,
    )


def _task_row(row: Any) -> TaskRow:
    return TaskRow(
        task_id=row.task_id,
        source=row.source,
        status=row.status,
        reason=row.reason,
        attempt=row.attempt,
        posts=row.posts,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# The statements a stage runs every batch or second, made once (a statement object keeps
# its cache key; built per call, each was tens of µs of SQLAlchemy before any SQL).
_PENDING = (
    select(Outbox)
    .where(Outbox.status == "pending")
    .order_by(Outbox.created_at, Outbox.key)
    .limit(bindparam("b_limit"))
)
_STAMPS = select(Leads.lead_id, Leads.found_at).where(Leads.found_at >= bindparam("b_since"))
_OUTBOX_DONE = (
    update(Outbox)
    .where(Outbox.key == bindparam("b_key"))
    .values(status="done", result=bindparam("b_result"), updated_at=bindparam("b_now"))
)
_OUTBOX_FAILED = (
    update(Outbox)
    .where(Outbox.key == bindparam("b_key"))
    .values(
        attempts=Outbox.attempts + 1,
        last_error=bindparam("b_error"),
        updated_at=bindparam("b_now"),
    )
)
