"""Ops commands for the crawler fleet: ``xianban sources ...`` and ``xianban crawl``.

Mounted by ``xianban.cli``; this module does not import it (that module imports this
one while it loads). Text for people is in Chinese on stderr or in tables; data for
programs is JSON/JSONL on stdout, times in Asia/Shanghai with the offset. Exit codes and
error lines are ``xianban.exits``'s: 1 failure, 2 bad usage (an unknown source names the
known ones), 3 not available (no data directory, database or broker unreachable).
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import segno
import typer
from rich.console import Console
from rich.table import Table

from crawlers.base import QrCode, QrLoginAdapter, Window
from crawlers.checkpoint import Checkpoint
from crawlers.crawl import Crawled, crawl_task
from crawlers.errors import CrawlError
from crawlers.fetch import HttpFetcher
from crawlers.login import qr_login
from crawlers.ops import rerun as ops_rerun
from crawlers.ops import set_paused, status_row, status_rows
from crawlers.platforms import close_adapter, load_adapter
from crawlers.scheduler import tasks_for
from crawlers.sessions import SessionPool
from crawlers.sources import Source, load_sources
from crawlers.states import label as state_label
from crawlers.timeparse import parse_cn_time
from xianban import exits
from xianban.clock import localise, shown
from xianban.errors import ConfigError, XianbanError
from xianban.exits import EXIT_USAGE
from xianban.progress import progress_bar
from xianban.records import utcnow
from xianban.settings import Settings
from xianban.store import Store

T = TypeVar("T")
ACTOR = "cli"

sources_app = typer.Typer(help="Crawl sources: list, health, pause, resume, rerun, login.")
stderr = Console(stderr=True)


def _fail(message: str, code: int = exits.EXIT_FAILURE) -> NoReturn:
    exits.fail(message, code)


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(make())
    except CrawlError as exc:
        _fail(str(exc))
    except (XianbanError, KeyboardInterrupt) as exc:
        _fail(*exits.explain(exc))


def _settings() -> Settings:
    return exits.load()


def _sources(settings: Settings) -> dict[str, Source]:
    try:
        return load_sources(settings.configs_dir)
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE)


def _source(settings: Settings, source_id: str) -> Source:
    sources = _sources(settings)
    if source_id not in sources:
        _fail(
            f"未知的数据源 {source_id!r}：可选 {'、'.join(sorted(sources))}"
            f"（见 xianban sources list，配置在 {settings.configs_dir / 'sources.yaml'}）",
            EXIT_USAGE,
        )
    return sources[source_id]


@asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[Store]:
    store = await Store.open(settings.db_url)
    try:
        yield store
    finally:
        await store.close()


Format = Literal["table", "json"]


@sources_app.command("list")
def list_sources(
    fmt: Annotated[
        Format, typer.Option("--format", help="A table for people, or JSON for programs.")
    ] = "table",
) -> None:
    """The configured sources."""
    sources = _sources(_settings())
    if fmt == "json":
        rows = [s.model_dump(mode="json") for s in sources.values()]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("数据源", "名称", "适配器", "地址", "查询", "间隔(秒)", "启用")
    for s in sources.values():
        queries = "、".join(q or "（全部）" for q in s.queries)
        if s.watch:
            queries = "关注：" + "、".join(a.name for a in s.watch)
        row = (s.id, s.name, s.adapter, s.base_url, queries, f"{s.interval_s:g}", _yes(s.enabled))
        table.add_row(*row)
    _print_table(table)


@sources_app.command("status")
def status(
    fmt: Annotated[
        Format, typer.Option("--format", help="A table for people, or JSON for programs.")
    ] = "table",
) -> None:
    """Each source's health: state, last success, posts/h, errors by kind, cursor lag.

    Reads the store of `xianban run` (XIANBAN_DATA_DIR or XIANBAN_DATABASE_URL); it never
    makes one: without the data directory it says so and exits 3."""
    settings = _settings()
    sources = _sources(settings)
    try:
        has_store = exits.require_data_dir(settings)
    except XianbanError as exc:
        _fail(*exits.explain(exc))

    async def rows() -> list[dict[str, Any]]:
        if not has_store:
            return [
                status_row(s, None, utcnow(), SessionPool.for_source(settings.data_dir, s.id))
                for s in sources.values()
            ]
        async with _store(settings) as store:
            return await status_rows(store, sources, utcnow(), settings.data_dir)

    data = _run(rows)
    if fmt == "json":
        text = json.dumps(localise(data), ensure_ascii=False, indent=2, default=str)
        sys.stdout.write(text + "\n")
        return
    table = Table(
        "数据源",
        "名称",
        "状态",
        "最近成功（北京时间）",
        "帖子/小时",
        "累计",
        "24 小时错误",
        "游标滞后",
        "账号",
    )
    for row in data:
        errors = "，".join(f"{state_label(k)}×{v}" for k, v in row["errors_24h"].items()) or "—"
        table.add_row(
            row["source"],
            row["name"],
            row["label"],
            shown(row["last_success"]),
            f"{row['posts_per_hour']:g}",
            str(row["posts_total"]),
            errors,
            _duration(row["cursor_lag_s"]),
            _accounts(row["accounts"]),
        )
    _print_table(table)


def _set(source_id: str, paused: bool) -> None:
    settings = _settings()
    _source(settings, source_id)

    async def apply() -> None:
        async with _store(settings) as store:
            await set_paused(store, source_id, paused, actor=ACTOR)

    _run(apply)


@sources_app.command()
def pause(source: Annotated[str, typer.Argument(help="source id")]) -> None:
    """Stop scheduling a source until it is resumed."""
    _set(source, True)
    stderr.print(f"已暂停 {source}：调度器不再为它安排抓取。")


@sources_app.command()
def resume(source: Annotated[str, typer.Argument(help="source id")]) -> None:
    """Schedule a paused source again."""
    _set(source, False)
    stderr.print(f"已恢复 {source}。")


@sources_app.command()
def rerun(
    source: Annotated[str, typer.Argument(help="source id")],
    from_scratch: Annotated[
        bool,
        typer.Option(
            "--from-scratch",
            help="Forget the watermarks: re-read the lookback window (dedupe drops what is known).",
        ),
    ] = False,
) -> None:
    """Crawl a source again at the next round: end its rest, and on Kafka queue its tasks now.

    Its last success is kept: when it last worked is what ops need while it does not."""
    settings = _settings()
    configured = _source(settings, source)

    async def apply() -> int:
        async with _store(settings) as store:
            await ops_rerun(store, source, actor=ACTOR, from_scratch=from_scratch)
        if settings.bus != "kafka":
            return 0
        return await _queue(settings, configured)

    queued = _run(apply)
    if queued:
        stderr.print(f"已为 {source} 排入 {queued} 个抓取任务。")
    else:
        stderr.print(f"{source} 将在下一轮调度时重新抓取。")


@sources_app.command()
def login(
    source: Annotated[str, typer.Argument(help="source id of a login-walled platform")],
    timeout: Annotated[float, typer.Option(help="seconds to wait for the scan")] = 180.0,
) -> None:
    """QR-code login from a headless server: the QR code is drawn on stderr (with the link
    it encodes); scan it with the platform's app and the session joins the pool."""
    settings = _settings()
    configured = _source(settings, source)
    adapter = load_adapter(configured.adapter, configured.options)
    if not isinstance(adapter, QrLoginAdapter):
        _fail(f"{source} 的适配器 {configured.adapter} 不支持扫码登录", EXIT_USAGE)

    def show(qr: QrCode) -> None:
        stderr.print(f"请用 App 扫描二维码登录 {source}（{timeout:g} 秒内）：")
        sys.stderr.write(qr_text(qr.url))
        stderr.print(f"二维码内容：{qr.url}")

    async def run() -> str:
        async with _simulator_if_needed(settings, configured) as ready:
            pool = SessionPool.for_source(ready.data_dir, source)
            async with HttpFetcher(configured.url(ready), configured.politeness) as fetch:
                account = await qr_login(adapter, fetch, pool, show=show, timeout_s=timeout)
        async with _store(settings) as store:
            await store.audit(actor=ACTOR, action="source.login", target=source)
        return account.token

    token = _run(run)
    stderr.print(f"登录成功：{source} 新增账号 …{token[-6:]}")


async def _queue(settings: Settings, source: Source) -> int:
    from xianban.bus import make_bus

    bus = make_bus(settings)
    await bus.start()
    try:
        tasks = tasks_for(source, utcnow())
        for task in tasks:
            await bus.produce(task.topic, task.to_bytes(), key=task.key())
        await bus.flush()
    finally:
        await bus.close()
    return len(tasks)


def crawl(
    source: Annotated[
        str, typer.Argument(metavar="SOURCE", help="Source id (xianban sources list).")
    ],
    query: Annotated[
        str | None,
        typer.Option(
            "--query", help="What to search for; default: each of the source's configured queries."
        ),
    ] = None,
    pages: Annotated[
        int | None,
        typer.Option("--pages", min=1, help="Most pages per query; default: the source's `pages`."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only posts published from then on: 2026-11-20, '2026-11-20 08:00', 3天前, "
            "昨天 12:00 (Asia/Shanghai). Default: the source's look-back for windowed sources.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Only posts published up to then (same forms as --since)."),
    ] = None,
) -> None:
    """Crawl one source now: posts as JSONL on stdout (what `xianban extract` reads), one
    line per post, each post once; progress on stderr when it is a terminal.

    Exits 1 when the platform stopped the crawl part-way (the posts read so far are
    written), 2 for an unknown source."""
    settings = _settings()
    configured = _source(settings, source)
    window = _window(since, until)
    crawled = _run(lambda: _crawl(settings, configured, query, pages, window))
    if crawled.error is not None:
        _fail(f"{source} 抓取中断（{crawled.error.state}）：{crawled.error}")


def _window(since: str | None, until: str | None) -> Window | None:
    """The --since/--until window; an unreadable time is a usage error naming it."""
    if since is None and until is None:
        return None
    now = utcnow()
    ends: list[datetime | None] = []
    for flag, text in (("--since", since), ("--until", until)):
        moment = parse_cn_time(text, now=now) if text is not None else None
        if text is not None and moment is None:
            forms = "2026-11-20、'2026-11-20 08:00'、3天前、昨天 12:00"
            _fail(f"{flag} {text!r} 不是时间：可写 {forms}", EXIT_USAGE)
        ends.append(moment)
    first, last = ends
    if first is not None and last is not None and first > last:
        _fail(f"--since {since} 晚于 --until {until}", EXIT_USAGE)
    return Window(first, last)


async def _crawl(
    settings: Settings,
    source: Source,
    query: str | None,
    pages: int | None,
    window: Window | None = None,
) -> Crawled:
    async with _simulator_if_needed(settings, source) as ready:
        queries = [query] if query is not None else source.queries
        tasks = tasks_for(source.model_copy(update={"queries": queries}), utcnow())
        tasks = [t.model_copy(update={"pages": pages or source.pages}) for t in tasks]
        adapter = load_adapter(source.adapter, source.options)
        seen: set[str] = set()
        done = Crawled()
        total = sum(t.pages for t in tasks)
        async with (
            HttpFetcher(source.url(ready), source.politeness) as fetcher,
            _closing(adapter),
        ):
            with progress_bar(f"抓取 {source.id}", total=total) as bar:
                for task in tasks:
                    before = done.pages

                    def on_page(pages_read: int, posts: int, before: int = before) -> None:
                        bar.update(completed=before + pages_read, note=f"帖子 {len(seen) + posts}")

                    crawled = await crawl_task(
                        adapter,
                        source,
                        task,
                        Checkpoint(),
                        fetcher,
                        _unknown,
                        now=utcnow(),
                        on_page=on_page,
                        window=window,
                    )
                    for post in crawled.posts:
                        if post.post_id not in seen:
                            seen.add(post.post_id)
                            done.posts.append(post)
                            sys.stdout.write(_post_line(post) + "\n")
                    sys.stdout.flush()
                    done.pages += crawled.pages
                    if crawled.error is not None:
                        done.error = crawled.error
                        break
    stderr.print(f"{source.id}：{len(tasks)} 个查询，{done.pages} 页，{len(done.posts)} 条帖子。")
    return done


@asynccontextmanager
async def _closing(adapter: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await close_adapter(adapter)


def _post_line(post: Any) -> str:
    """A post as crawl writes it: the record's JSON, times in Asia/Shanghai."""
    return json.dumps(localise(post.model_dump()), ensure_ascii=False)


async def _unknown(post_ids: Sequence[str]) -> set[str]:
    """A one-off crawl shows everything it reads; dedupe is the loop's business."""
    return set()


@asynccontextmanager
async def _simulator_if_needed(settings: Settings, source: Source) -> AsyncIterator[Settings]:
    if not source.base_url.startswith("{sim}") or settings.sim_url:
        yield settings
        return
    from sim.server import SimServer

    async with SimServer(host=settings.sim_host, port=settings.sim_port) as sim:
        stderr.print(f"未配置 sim_url：已在本进程内启动平台模拟器 {sim.url}")
        yield settings.model_copy(update={"sim_url": sim.url})


def qr_text(url: str) -> str:
    """The QR code of ``url`` drawn with block characters, for a terminal."""
    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def _print_table(table: Table) -> None:
    """Full width on a terminal; unclipped when piped (a log or a script reads it)."""
    Console(width=None if sys.stdout.isatty() else 240).print(table)


def _accounts(counts: dict[str, int] | None) -> str:
    if counts is None:
        return "—"
    return f"可用 {counts['live']}，过期 {counts['expired']}，封禁 {counts['banned']}"


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds // 60} 分钟"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f} 小时"
    return f"{seconds / 86_400:.1f} 天"
