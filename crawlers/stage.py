"""Crawler stage: a crawl task in, the posts not seen before out.

Deduplication asks the store whether a post is known (the leadfinder stores every post it
reads), so a crawler that dies before producing re-produces on the retry instead of
losing posts it had only marked as seen. Every task ends in the task ledger as done or
failed, with why; a task delivered again after a crash counts its attempt up.

A failed crawl is not raised to the runtime (whose retries would hit the source again
at once): the source's health state, error counts and circuit breaker in the store take
it, and the scheduler's next round probes the source once its rest is over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from crawlers.base import Adapter, SessionAdapter
from crawlers.checkpoint import Checkpoint, RunCounts
from crawlers.crawl import Crawled, crawl_task
from crawlers.errors import Banned, CrawlError, LoginRequired, SourceRefused
from crawlers.fetch import HttpFetcher
from crawlers.platforms import close_adapter, load_adapter
from crawlers.proxies import ProxyPool
from crawlers.sessions import Account, SessionPool
from crawlers.sources import Source, load_sources
from crawlers.summary import Tally
from xianban import metrics
from xianban.errors import PermanentError
from xianban.records import CrawlTask, Record, utcnow
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

FetcherFactory = Callable[[Source, Settings, dict[str, str] | None], HttpFetcher]
"""Makes a source's fetcher, with the cookies of one account when the source logs in."""


def default_fetcher(
    source: Source, settings: Settings, cookies: dict[str, str] | None
) -> HttpFetcher:
    proxies = ProxyPool(list(source.proxies)) if source.proxies else None
    return HttpFetcher(
        source.url(settings), source.politeness, cookies=cookies, proxies=proxies, name=source.id
    )


class CrawlerStage:
    name = "crawler"
    input = CrawlTask

    def __init__(
        self,
        ctx: StageContext,
        *,
        fetcher: FetcherFactory = default_fetcher,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ctx = ctx
        self.make_fetcher = fetcher
        self.clock = clock
        self.sources: dict[str, Source] = {}
        self.fetchers: dict[tuple[str, str], HttpFetcher] = {}
        self.tally: dict[str, Tally] = {}
        """What each source's tasks did in this process (``crawlers.summary``)."""

    async def start(self) -> None:
        self.sources = load_sources(self.ctx.settings.configs_dir)

    def fetcher(self, source: Source, account: Account | None = None) -> HttpFetcher:
        """The source's one pooled fetcher (one per account of a login-walled source)."""
        key = (source.id, account.token if account else "")
        if key not in self.fetchers:
            cookies = {account.cookie: account.token} if account else None
            self.fetchers[key] = self.make_fetcher(source, self.ctx.settings, cookies)
        return self.fetchers[key]

    async def crawl(
        self, source: Source, task: CrawlTask, checkpoint: Checkpoint, now: datetime
    ) -> Crawled:
        """Crawl with the source's fetcher, or with its next live account: an account whose
        login expired is retired before it meets the login wall mid-crawl, a banned one is
        quarantined, and the pool rotates to the next."""
        adapter = load_adapter(source.adapter, source.options)
        try:
            return await self._crawl(adapter, source, task, checkpoint, now)
        finally:
            await close_adapter(adapter)

    async def _crawl(
        self,
        adapter: Adapter,
        source: Source,
        task: CrawlTask,
        checkpoint: Checkpoint,
        now: datetime,
    ) -> Crawled:
        known = self.ctx.store.known_posts
        if not isinstance(adapter, SessionAdapter):
            fetch = self.fetcher(source)
            return await crawl_task(adapter, source, task, checkpoint, fetch, known, now=now)
        pool = SessionPool.for_source(self.ctx.settings.data_dir, source.id)
        while (account := pool.next()) is not None:
            fetch = self.fetcher(source, account)
            try:
                logged_in = await adapter.check_session(fetch)
            except CrawlError as exc:
                return Crawled(error=exc)
            if not logged_in:
                pool.retire(account.token, "expired")
                continue
            crawled = await crawl_task(adapter, source, task, checkpoint, fetch, known, now=now)
            if isinstance(crawled.error, LoginRequired | Banned):
                pool.retire(
                    account.token, "banned" if isinstance(crawled.error, Banned) else "expired"
                )
                crawled.rotated = pool.has_live()
            return crawled
        return Crawled(
            error=LoginRequired(
                f"{source.id}: no live login session (pool {pool.path}); log in again"
            )
        )

    async def handle(self, record: CrawlTask) -> Sequence[Record]:
        store = self.ctx.store
        source = self.sources.get(record.source)
        if source is None:
            reason = f"unknown source {record.source!r}"
            await store.record_task(
                task_id=record.task_id, source=record.source, status="failed", reason=reason
            )
            raise PermanentError(reason)
        prior = await store.get_task(record.task_id)
        attempt = max(record.attempt, prior.attempt + 1 if prior else 0)
        state = await store.get_source_state(source.id)
        checkpoint = Checkpoint.parse(state.cursor if state else None)
        now = self.clock()
        if state is not None and state.paused:
            skip = "source paused by ops"
        elif checkpoint.is_open(now):
            skip = f"source resting until {checkpoint.open_until} after {state and state.state}"
        else:
            skip = ""
        if skip:
            await store.record_task(
                task_id=record.task_id,
                source=source.id,
                status="failed",
                reason=skip,
                attempt=attempt,
            )
            paused = state is not None and state.paused
            self._count(source.id, state="paused" if paused else (state and state.state) or "error")
            return []
        await store.record_task(
            task_id=record.task_id, source=source.id, status="running", attempt=attempt
        )
        try:
            crawled = await self.crawl(source, record, checkpoint, now)
        except Exception as exc:  # a broken adapter or a bug: the ledger says why, then DLQ
            reason = f"{type(exc).__name__}: {exc}"
            await store.record_task(
                task_id=record.task_id,
                source=source.id,
                status="failed",
                reason=reason,
                attempt=attempt,
            )
            raise PermanentError(f"crawl of {source.id} failed: {reason}") from exc
        await record_outcome(
            store, source, record, checkpoint, crawled, now=self.clock(), attempt=attempt
        )
        self._count(
            source.id,
            state=crawled.error.state if crawled.error is not None else "ok",
            posts=len(crawled.posts),
            comments=sum(p.reply_to is not None for p in crawled.posts),
            listed=crawled.listed,
            pages=crawled.pages,
        )
        return crawled.posts

    def _count(self, source: str, **counts: Any) -> None:
        self.tally.setdefault(source, Tally()).add(**counts)

    async def close(self) -> None:
        for fetcher in self.fetchers.values():
            await fetcher.close()


async def record_outcome(
    store: Store,
    source: Source,
    task: CrawlTask,
    checkpoint: Checkpoint,
    crawled: Crawled,
    *,
    now: datetime,
    attempt: int = 0,
) -> None:
    """Write the task's end to the ledger and the source's health and checkpoint."""
    state = await store.get_source_state(source.id)
    posts_total = (state.posts_total if state else 0) + len(crawled.posts)
    checkpoint.count(now, len(crawled.posts))
    error = crawled.error
    checkpoint.last_run = RunCounts(
        at=now,
        posts=len(crawled.posts),
        comments=sum(post.reply_to is not None for post in crawled.posts),
        listed=crawled.listed,
        pages=crawled.pages,
        error=error.state if error is not None else None,
    )
    was = state.state if state else None
    if error is None:
        metrics.source_state(source.id, was, "ok")
        checkpoint.succeeded()
        await store.set_source_state(
            source.id,
            state="ok",
            cursor=checkpoint.model_dump_json(),
            last_success=now,
            posts_total=posts_total,
        )
        await store.record_task(
            task_id=task.task_id,
            source=source.id,
            status="done",
            attempt=attempt,
            posts=len(crawled.posts),
        )
        return
    metrics.source_state(source.id, was, error.state, f"{error.state}: {error}")
    refused = isinstance(error, SourceRefused) and not crawled.rotated
    checkpoint.failed(now, source.politeness, refused=refused)
    checkpoint.count_error(now, error.state)
    counts = dict(state.error_counts) if state else {}
    counts[error.state] = counts.get(error.state, 0) + 1
    await store.set_source_state(
        source.id,
        state=error.state,
        cursor=checkpoint.model_dump_json(),
        last_error=f"{error.state}: {error}",
        error_counts=counts,
        posts_total=posts_total,
    )
    await store.record_task(
        task_id=task.task_id,
        source=source.id,
        status="failed",
        reason=f"{error.state}: {error}",
        attempt=attempt,
        posts=len(crawled.posts),
    )
