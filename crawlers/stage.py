"""Crawler stage: a crawl task in, the posts not seen before out.

Deduplication asks the store whether a post is known (the leadfinder stores every post it
reads), so a crawler that dies before producing re-produces on the retry instead of
losing posts it had only marked as seen. Every task ends in the task ledger as done or
failed, with why.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from crawlers.base import HttpFetcher
from crawlers.platforms import load_adapter
from crawlers.sources import Source, load_sources
from xianban.errors import PermanentError, TransientError
from xianban.records import CrawlTask, Post, Record, utcnow
from xianban.stage import StageContext


class CrawlerStage:
    name = "crawler"
    input = CrawlTask

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.sources: dict[str, Source] = {}
        self.fetchers: dict[str, HttpFetcher] = {}

    async def start(self) -> None:
        self.sources = load_sources(self.ctx.settings.configs_dir)

    def _fetcher(self, source: Source) -> HttpFetcher:
        if source.id not in self.fetchers:
            self.fetchers[source.id] = HttpFetcher(source.url(self.ctx.settings))
        return self.fetchers[source.id]

    async def handle(self, record: CrawlTask) -> Sequence[Record]:
        store = self.ctx.store
        source = self.sources.get(record.source)
        if source is None:
            raise PermanentError(f"unknown source {record.source!r}")
        adapter = load_adapter(source.adapter)
        fetch = self._fetcher(source)
        await store.record_task(
            task_id=record.task_id, source=source.id, status="running", attempt=record.attempt
        )
        posts: dict[str, Post] = {}
        cursor = record.cursor
        try:
            for _ in range(record.pages):
                page = await adapter.page(record, cursor, fetch)
                for post in page.posts:
                    if post.post_id not in posts and not await store.has_post(post.post_id):
                        posts[post.post_id] = post
                cursor = page.next_cursor
                if cursor is None:
                    break
        except (httpx.HTTPError, ValueError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            await store.record_task(
                task_id=record.task_id, source=source.id, status="failed", reason=reason
            )
            raise TransientError(f"crawl {source.id} failed: {reason}") from exc
        await store.record_task(
            task_id=record.task_id, source=source.id, status="done", posts=len(posts)
        )
        await store.set_source_state(source.id, state="healthy", last_success=utcnow())
        return list(posts.values())

    async def close(self) -> None:
        for fetcher in self.fetchers.values():
            await fetcher.close()
