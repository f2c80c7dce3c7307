"""Which crawl tasks are due: one per enabled source and query.

``due_tasks`` is the store-aware form the loop should use: it leaves out sources ops
paused, sources resting after a refusal (their circuit is open), and sources crawled
less than ``interval_s`` ago. Task ids are stable per source, query and due time, so a
scheduler that runs twice in one slot puts the same task on the bus twice and the
ledger shows one task.

``Scheduler`` is ``xianban worker scheduler`` on Kafka: due tasks every tick, sent only
by the holder of a lease in the store, so any number may run and one schedules.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime

import structlog

from crawlers.checkpoint import Checkpoint
from crawlers.sources import Source
from xianban import metrics
from xianban.bus import Bus
from xianban.records import CrawlTask, stable_id, utcnow
from xianban.store import Store

log = structlog.get_logger(__name__)


def tasks_for(source: Source, now: datetime) -> list[CrawlTask]:
    slot = int(now.timestamp() // source.interval_s)
    return [
        CrawlTask(
            task_id=stable_id(source.id, query, str(slot)),
            source=source.id,
            query=query or None,
            pages=source.pages,
            scheduled_at=now,
        )
        for query in source.queries
    ]


def tasks_for_all_sources(sources: Iterable[Source]) -> list[CrawlTask]:
    """Every enabled source's tasks, regardless of its state (tests, ``rerun``)."""
    now = utcnow()
    return [task for source in sources if source.enabled for task in tasks_for(source, now)]


async def due_tasks(
    store: Store,
    sources: Iterable[Source],
    *,
    now: datetime | None = None,
    ignore_interval: bool = False,
) -> list[CrawlTask]:
    """Tasks of the enabled sources that are neither paused, resting, nor crawled within
    their interval (``ignore_interval``: ``run --once`` crawls whatever is not paused or
    resting)."""
    now = now or utcnow()
    states = {state.source: state for state in await store.list_source_states()}
    tasks: list[CrawlTask] = []
    for source in sources:
        if not source.enabled:
            continue
        state = states.get(source.id)
        if state is not None:
            if state.paused or Checkpoint.parse(state.cursor).is_open(now):
                continue
            last = state.last_success
            fresh = last is not None and (now - last).total_seconds() < source.interval_s
            if fresh and not ignore_interval:
                continue
        tasks.extend(tasks_for(source, now))
    return tasks


LEASE = "scheduler"
"""The store lease the active scheduler holds (``xianban worker scheduler``)."""


class Scheduler:
    """Puts due crawl tasks on ``crawl.tasks`` while it holds the scheduler lease.

    Start as many as you like (one per machine, for failover): each tick takes or renews
    the lease in the store, and only its holder schedules. The lease outlives a tick
    (``lease_s`` > the tick interval), so a holder that dies is replaced once it runs
    out. Task ids are stable per source, query and slot, and a task is sent once: the
    store remembers what was sent (after the bus acknowledged it, so a holder dying in
    between leaves the task to be sent again by the next one, never lost).
    """

    def __init__(
        self,
        store: Store,
        bus: Bus,
        sources: Iterable[Source],
        *,
        holder: str,
        lease_s: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.bus = bus
        self.sources = list(sources)
        self.holder = holder
        self.lease_s = lease_s
        self.clock = clock
        self.holding = False

    async def tick(self) -> list[CrawlTask] | None:
        """One round; the tasks sent, or ``None`` when another scheduler holds the lease."""
        now = self.clock()
        held = await self.store.acquire_lease(LEASE, self.holder, ttl_s=self.lease_s, now=now)
        if held != self.holding:
            log.info(
                "scheduler.lease_taken" if held else "scheduler.lease_lost",
                holder=self.holder,
            )
            self.holding = held
            metrics.SCHEDULER_HOLDING.set(1 if held else 0)
        if not held:
            return None
        due = await due_tasks(self.store, self.sources, now=now)
        known = await self.store.known_task_ids(t.task_id for t in due)
        tasks = [t for t in due if t.task_id not in known]
        for task in tasks:
            await self.bus.produce(task.topic, task.to_bytes(), key=task.key())
        await self.bus.flush()
        await self.store.mark_scheduled([(t.task_id, t.source) for t in tasks], at=now)
        for task in tasks:
            metrics.SCHEDULED.labels(task.source).inc()
        if tasks:
            log.info(
                "scheduler.scheduled", tasks=len(tasks), sources=len({t.source for t in tasks})
            )
        return tasks

    async def run(self, *, every_s: float, stop: asyncio.Event) -> None:
        """Tick every ``every_s`` until ``stop`` is set, then give the lease up."""
        try:
            while not stop.is_set():
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=every_s)
        finally:
            await self.release()

    async def release(self) -> None:
        """Give the lease up (a clean stop), so a standby takes over at its next tick."""
        if self.holding:
            await self.store.release_lease(LEASE, self.holder)
            self.holding = False
            metrics.SCHEDULER_HOLDING.set(0)
