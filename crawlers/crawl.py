"""One crawl task, start to finish: pages, time windows, dedupe, watermark, silent blocks.

A windowed adapter (the platform filters by publication time) is crawled from the
query's watermark: windows oldest first, each read to its last page before the
watermark moves past it, so a crawl cut short (page budget, an error) resumes where it
stopped and a finished one never re-reads what it has. A window whose total exceeds the
source's result cap, or than the task's pages left can read, is split in two until each
half fits. Other adapters are read from the first page until the listing ends, the page
budget runs out, or, when the previous crawl of the query read to its end, a page holds
nothing new (caught up); a crawl cut short by an error reads on past the known pages next
time instead of stopping at them.

An explicit window (``xianban crawl --since/--until``, a re-crawl of an outage's gap)
replaces the watermark's: a windowed adapter asks the platform for exactly that span; any
other is read page by page keeping only posts inside it (and the comments of those), and
a time-ordered listing (an account, a board, a channel) stops at its first page older
than ``since``.

An empty first page is judged against the query's history: a windowed query starts at
its watermark, inclusive, so the watermark's own post must come back; if it does not
and the unfiltered first page is empty too, or a paged query that used to list posts
lists none, the platform is answering "200, nothing" on purpose: a silent block.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crawlers.base import Adapter, Fetcher, Page, Window, WindowedAdapter
from crawlers.checkpoint import Checkpoint, QueryMark
from crawlers.errors import CrawlError, LayoutChanged, SilentBlock
from crawlers.sources import Source
from crawlers.urls import absolute_post
from xianban.records import CrawlTask, Post

Known = Callable[[Sequence[str]], Awaitable[Set[str]]]
"""Which of a page's post ids are already known downstream (``store.known_posts``: one
query a page, not one a post)."""
OnPage = Callable[[int, int], None]
"""Told (pages so far, new posts so far) after each page: the CLI's progress bar."""
SMALLEST_WINDOW = timedelta(seconds=2)
PARSE_ERRORS = (
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    AttributeError,
    ArithmeticError,
    OSError,
)
"""What an adapter raises on an answer not in the shape it knows (ValueError includes
pydantic's ValidationError and ``int("…")``; ArithmeticError and OSError a timestamp out
of range: ``datetime.fromtimestamp(10**20)``). Adapters do no I/O of their own (the
fetcher's errors are ``CrawlError``s already), so an OSError here is a parse error."""


@dataclass
class Crawled:
    """What a task produced: the new posts (even when it failed part-way), pages read, and
    the error that stopped it, if one did."""

    posts: list[Post] = field(default_factory=list)
    pages: int = 0
    error: CrawlError | None = None
    listed: int = 0
    """Posts the pages listed, known ones included (0 with no error: the source is empty)."""
    rotated: bool = False
    """The error was an account's, retired from the pool while others remain live: the
    source itself need not rest."""


@dataclass
class _Run:
    task: CrawlTask
    source: Source
    fetch: Fetcher
    known: Known
    on_page: OnPage | None
    mark: QueryMark
    window: Window | None = None
    found: dict[str, Post] = field(default_factory=dict)
    pages: int = 0
    listed: int = 0

    def inside(self, posts: Sequence[Post]) -> list[Post]:
        """The posts inside the window, and the comments of those (or of kept ones)."""
        assert self.window is not None
        kept: list[Post] = []
        ids: set[str] = set(self.found)
        for post in posts:
            own = post.reply_to is None and _within(post, self.window)
            if own or post.reply_to in ids:
                kept.append(post)
                ids.add(post.post_id)
        return kept

    @property
    def budget_left(self) -> bool:
        return self.pages < self.task.pages

    async def read(self, page: Awaitable[Page]) -> Page:
        try:
            result = await page
        except PARSE_ERRORS as exc:
            raise LayoutChanged(f"{self.source.id}: page does not parse: {exc!r}") from exc
        self.pages += 1
        return result

    async def keep(self, posts: Sequence[Post]) -> int:
        """Keep the posts not seen in this task nor downstream; how many were new."""
        new = 0
        self.listed += len(posts)
        if self.window is not None:
            posts = self.inside(posts)
        unseen = [post for post in posts if post.post_id not in self.found]
        known = await self.known([post.post_id for post in unseen]) if unseen else set()
        for post in unseen:
            if post.post_id not in self.found and post.post_id not in known:
                self.found[post.post_id] = absolute_post(post, self.fetch.base_url)
                new += 1
        if self.on_page:
            self.on_page(self.pages, len(self.found))
        return new


def _times(page: Page) -> list[datetime]:
    """Publication times of the page's own posts: a comment's time says nothing about how
    far the listing is read (it comes after its post), so it never moves a watermark."""
    return [p.created_at for p in page.posts if p.created_at and p.reply_to is None]


def _within(post: Post, window: Window) -> bool:
    at = post.created_at
    if at is None:
        return True  # no time to judge by: kept, as the platform listed it
    return (window.since is None or at >= window.since) and (
        window.until is None or at <= window.until
    )


def _older(posts: Sequence[Post], since: datetime | None) -> bool:
    """Every post of the page (comments aside) was published before ``since``."""
    own = [p for p in posts if p.reply_to is None and p.created_at is not None]
    return (
        since is not None and bool(own) and all(p.created_at < since for p in own if p.created_at)
    )


async def crawl_task(
    adapter: Adapter,
    source: Source,
    task: CrawlTask,
    checkpoint: Checkpoint,
    fetch: Fetcher,
    known: Known,
    *,
    now: datetime,
    on_page: OnPage | None = None,
    window: Window | None = None,
) -> Crawled:
    """Crawl ``task``, moving ``checkpoint`` forward only past what was read completely;
    ``window`` limits it to posts published inside (both ends inclusive)."""
    run = _Run(task, source, fetch, known, on_page, checkpoint.mark(task.query or ""), window)
    error: CrawlError | None = None
    try:
        if isinstance(adapter, WindowedAdapter):
            await _windowed(run, adapter, now)
        else:
            await _paged(run, adapter)
    except CrawlError as exc:
        error = exc
    return Crawled(posts=list(run.found.values()), pages=run.pages, error=error, listed=run.listed)


async def _windowed(run: _Run, adapter: WindowedAdapter, now: datetime) -> None:
    start = run.mark.watermark or now - timedelta(days=run.source.lookback_days)
    if run.window is not None and run.window.since is not None:
        start = run.window.since
    windows = [Window(start, run.window.until if run.window is not None else None)]
    first_window = True
    while windows and run.budget_left:
        window = windows.pop(0)
        page = await run.read(adapter.window_page(run.task, window, None, run.fetch))
        end = window.until or now
        if (
            page.total is not None
            and page.total >= _capacity(run, page)  # a count stopped at the cap hides more
            and window.since is not None
            and end - window.since > SMALLEST_WINDOW
        ):
            middle = window.since + (end - window.since) / 2
            windows[0:0] = [Window(window.since, middle), Window(middle, window.until)]
            await run.keep(page.posts)  # the newest of the later half: shown now, deduped later
            continue
        if first_window:
            await _check_not_blocked(run, adapter, page)
            first_window = False
        newest: list[datetime] = _times(page)
        await run.keep(page.posts)
        cursor = page.next_cursor
        while cursor is not None and run.budget_left:
            page = await run.read(adapter.window_page(run.task, window, cursor, run.fetch))
            newest += _times(page)
            await run.keep(page.posts)
            cursor = page.next_cursor
        if cursor is not None:
            return  # the budget ran out inside this window: resume from its start next time
        if run.mark.watermark is not None:
            newest.append(run.mark.watermark)
        if newest:
            run.mark.watermark = max(newest)


def _capacity(run: _Run, first: Page) -> int:
    """How many results a window may hold and still be read to its end in this task: the
    platform's cap, and what the pages left can carry (so the budget never runs out inside
    a window, and every task moves the watermark on)."""
    pages_left = run.task.pages - run.pages + 1
    per_page = sum(p.reply_to is None for p in first.posts)
    return min(run.source.result_cap, per_page * pages_left) if per_page else run.source.result_cap


async def _check_not_blocked(run: _Run, adapter: WindowedAdapter, page: Page) -> None:
    if page.posts:
        run.mark.first_page = len(page.posts)
        return
    if run.mark.watermark is None and run.mark.first_page == 0:
        return  # no history yet: an empty answer is just an empty answer
    latest = await run.read(adapter.page(run.task, None, run.fetch))
    if not latest.posts:
        raise SilentBlock(
            f"{run.source.id}: query {run.task.query!r} lists nothing, not even the post it "
            f"listed at {run.mark.watermark} (its first page held {run.mark.first_page} posts)"
        )


async def _paged(run: _Run, adapter: Adapter) -> None:
    cursor = run.task.cursor
    caught_up_is_safe = run.mark.complete
    run.mark.complete = False
    while run.budget_left:
        page = await run.read(adapter.page(run.task, cursor, run.fetch))
        if run.pages == 1 and cursor is None:
            if not page.posts and run.mark.first_page > 0:
                raise SilentBlock(
                    f"{run.source.id}: query {run.task.query!r} lists nothing; its first page "
                    f"held {run.mark.first_page} posts last time"
                )
            run.mark.first_page = len(page.posts)
        new = await run.keep(page.posts)
        cursor = page.next_cursor
        past = run.window is not None and run.source.query_kind != "keyword"
        if past and run.window is not None and _older(page.posts, run.window.since):
            return  # a time-ordered listing has gone past the window's start
        if cursor is None or (page.posts and new == 0 and caught_up_is_safe):
            run.mark.complete = True
            return
