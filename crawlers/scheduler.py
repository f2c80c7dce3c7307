"""Which crawl tasks are due: one per enabled source and query.

``due_tasks`` is the store-aware form the loop should use: it leaves out sources ops
paused, sources resting after a refusal (their circuit is open), and sources crawled
less than ``interval_s`` ago. Task ids are stable per source, query and due time, so a
scheduler that runs twice in one slot puts the same task on the bus twice and the
ledger shows one task.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crawlers.checkpoint import Checkpoint
from crawlers.sources import Source
from xianban.records import CrawlTask, stable_id, utcnow
from xianban.store import Store


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
    tasks: list[CrawlTask] = []
    for source in sources:
        if not source.enabled:
            continue
        state = await store.get_source_state(source.id)
        if state is not None:
            if state.paused or Checkpoint.parse(state.cursor).is_open(now):
                continue
            last = state.last_success
            fresh = last is not None and (now - last).total_seconds() < source.interval_s
            if fresh and not ignore_interval:
                continue
        tasks.extend(tasks_for(source, now))
    return tasks
