"""Which crawl tasks are due: one per enabled source and query."""

from __future__ import annotations

from collections.abc import Iterable

from crawlers.sources import Source
from xianban.records import CrawlTask, stable_id, utcnow


def tasks_for_all_sources(sources: Iterable[Source]) -> list[CrawlTask]:
    now = utcnow()
    return [
        CrawlTask(
            task_id=stable_id(source.id, query, now.isoformat()),
            source=source.id,
            query=query or None,
            pages=source.pages,
            scheduled_at=now,
        )
        for source in sources
        if source.enabled
        for query in source.queries
    ]
