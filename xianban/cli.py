"""The ``xianban`` command line: a contract that tests, cron jobs and scripts rely on.

Output meant for programs (summaries, posts, extraction results, benchmarks) goes to
stdout as JSON or JSONL, times in Asia/Shanghai with their offset; logs, progress and
errors go to stderr. Exit codes (``xianban.exits``, docs/cli.md): 0 ok, 1 some records
bad, 2 usage, 3 not available, 130 interrupted.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from xianban import exits, logs, progress
from xianban.clock import localise
from xianban.errors import ConfigError, XianbanError
from xianban.exits import EXIT_BAD_RECORDS, EXIT_CODES_HELP, EXIT_UNAVAILABLE, EXIT_USAGE, fail
from xianban.fleet_cli import fleet_app
from xianban.help_format import plain_help
from xianban.jsonl import open_input
from xianban.settings import Settings
from xianban.wiring import STAGES

T = TypeVar("T")
plain_help()

app = typer.Typer(
    name="xianban",
    help="先办 (未诉先办): find city problems online, verify, file and follow work orders.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
report_app = typer.Typer(help="Briefings for leadership.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(report_app, name="report")
app.add_typer(fleet_app, name="fleet")


def settings() -> Settings:
    s = exits.load()
    logs.configure(s.log_level)
    return s


def run_async(
    make: Callable[[], Coroutine[Any, Any, T]], *, ports: dict[int, str] | None = None
) -> T:
    """Run a coroutine, turning the system's errors into one line and an exit code
    (``ports``: the setting or flag behind each port the command listens on)."""
    try:
        return asyncio.run(make())
    except (XianbanError, KeyboardInterrupt) as exc:
        fail(*exits.explain(exc, ports=ports))


def guarded(call: Callable[[], T]) -> T:
    """``run_async`` for work that is not a coroutine."""
    try:
        return call()
    except (XianbanError, KeyboardInterrupt) as exc:
        fail(*exits.explain(exc))


def print_json(data: Any) -> None:
    """JSON on stdout; every time in it in Asia/Shanghai with the offset."""
    text = json.dumps(localise(data), ensure_ascii=False, indent=2, default=str)
    sys.stdout.write(text + "\n")


@app.command()
def run(
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Crawl every source once, drain every stage, print a JSON summary, exit: "
            "`produced` (what each stage emitted this run), `stored` (what the store holds "
            "after it, deduplicated), `waiting_for_review` (clusters in the analysts' queue).",
        ),
    ] = False,
) -> None:
    """Run the whole loop embedded: simulators, memory bus, SQLite, console on localhost.

    Progress goes to stderr when it is a terminal (XIANBAN_PROGRESS=0|1 overrides)."""
    from xianban.embedded import run_forever

    s = settings()
    ports = {s.console_port: "XIANBAN_CONSOLE_PORT"}
    if s.sim_port:
        ports[s.sim_port] = "XIANBAN_SIM_PORT"
    if once:
        summary = run_async(lambda: _run_once_shown(s), ports=ports)
        print_json(summary)
        if progress.shown():
            typer.echo(_once_in_words(summary), err=True)
        # What the run built (dictionaries, automata, the simulators' corpus) is left to
        # the exit: without the collector walking it once more, ~1 s sooner (1.1 -> 0.1 s)
        gc.freeze()
    else:
        typer.echo(
            f"xianban：控制台 http://{s.console_host}:{s.console_port}（Ctrl-C 停止）", err=True
        )
        run_async(lambda: run_forever(s), ports=ports)


WORKER_STAGES = (*STAGES, "supervisor", "scheduler", "console")
"""What ``xianban worker`` runs: every registered consumer stage, the supervisor, the
scheduler and the console (on the store and the bus, as ``xianban fleet`` starts it)."""


STEP_LABELS = {
    "schedule": "调度抓取任务",
    "crawler": "抓取",
    "leadfinder": "识别线索",
    "weak-signals": "弱信号",
    "verifier": "核验",
    "case-opener": "立案派单",
    "supervisor": "督办巡查",
    "webhooks": "推送",
}


async def _run_once_shown(s: Settings) -> dict[str, Any]:
    from xianban.embedded import run_once

    with progress.progress_bar("run --once") as bar:
        return await run_once(s, on_stage=lambda name: bar.step(STEP_LABELS.get(name, name)))


def _once_in_words(summary: dict[str, Any]) -> str:
    made, kept = summary.get("produced", {}), summary.get("stored", {})
    return (
        f"本次产出：帖子 {made.get('posts', 0)}、线索 {made.get('leads', 0)}、"
        f"研判 {made.get('verdicts', 0)}、工单 {made.get('cases', 0)}（含重复抓取）；"
        f"库中现有：帖子 {kept.get('posts', 0)}、线索 {kept.get('leads', 0)}、"
        f"工单 {kept.get('cases', 0)}；待人工审核 {summary.get('waiting_for_review', 0)}；"
        f"死信 {summary.get('dlq', 0)}；用时 {summary.get('elapsed_s', 0)} 秒"
    )


@app.command(epilog=EXIT_CODES_HELP)
def worker(
    stage: Annotated[
        str,
        typer.Argument(
            metavar="STAGE",
            help="One of: " + " | ".join(WORKER_STAGES) + ".",
            show_default=False,
        ),
    ],
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Cron and timers: the scheduler ticks once, the supervisor sweeps once, "
            "a stage drains its group's lag; then exit.",
        ),
    ] = False,
) -> None:
    """Run one stage as a consumer-group member on Kafka (XIANBAN_BUS=kafka).

    The supervisor is no consumer: it sweeps (outbox, status sync, 督办) on a timer. Nor is
    the scheduler: it puts due crawl tasks on crawl.tasks while it holds the store's lease.
    Nor is the console: it serves the analysts and the ticket API on XIANBAN_CONSOLE_PORT."""
    from xianban.workers import run_worker

    if stage not in WORKER_STAGES:
        fail(f"未知的阶段 {stage!r}：可选 {'、'.join(WORKER_STAGES)}", EXIT_USAGE)
    s = settings()
    run_async(lambda: run_worker(s, stage, once=once))


@app.command()
def sim(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Corpus seed (same seed, same posts).")] = 7,
    corpus_size: Annotated[
        int, typer.Option(min=1, help="Posts in the simulated world (fewer: a shorter crawl).")
    ] = 3000,
    anchor: Annotated[
        str | None,
        typer.Option(
            help="Where the world's history ends, an ISO time with offset "
            "(2026-11-22T12:00+08:00); default now, where crawlers' lookback reaches back from."
        ),
    ] = None,
) -> None:
    """Serve the simulators alone: the platforms and the work-order system."""
    from sim.server import SimServer

    settings()
    if not 0 <= port <= 65535:
        fail(f"--port {port} 不是端口号：应在 0 到 65535 之间（0 = 任选空闲端口）", EXIT_USAGE)
    ends = None if anchor is None else _aware(anchor)

    async def serve() -> None:
        server = SimServer(host=host, port=port, seed=seed, corpus_size=corpus_size, anchor=ends)
        await server.start()
        typer.echo(f"platforms: {server.url}/  work orders: {server.workorder_url}", err=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    run_async(serve, ports={port: "--port"})


def _aware(value: str) -> datetime:
    """``--anchor``'s time; a usage error unless it is ISO with an offset."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        fail(f"--anchor {value!r} 不是带时区的 ISO 时间，例如 2026-11-22T12:00+08:00", EXIT_USAGE)
    return at


ERRORS_SHOWN = 5
"""Bad lines whose message is repeated on stderr (all of them are on stdout)."""

INPUT_HELP = (
    "Input: UTF-8 JSONL, with or without a BOM, one JSON object per line; a line that "
    "cannot be read (bad encoding, bad JSON, blank, too long) gets an error naming file, "
    "line and column. "
)


def _report_bad(command: str, ok: int, bad: int, errors: list[str]) -> None:
    for message in errors[:ERRORS_SHOWN]:
        typer.echo(f"{command}：{message}", err=True)
    if len(errors) > ERRORS_SHOWN:
        typer.echo(f"{command}：另有 {len(errors) - ERRORS_SHOWN} 行有误（见标准输出）", err=True)
    typer.echo(f"{command}：{ok + bad} 行，成功 {ok}，有误 {bad}", err=True)


@app.command(epilog=INPUT_HELP + EXIT_CODES_HELP)
def extract(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="JSONL posts (what `xianban crawl` writes, or any {id, text} lines); "
            "stdin when omitted.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the leadfinder on JSONL posts: one JSON result per input line, same order.

    A line's id is its `id`, else `platform:native_id`. A bad line is {"id", "error"} in
    its place; the run goes on and exits 1."""
    from leadfinder.commands import extract_command

    s = settings()
    src, name = guarded(lambda: open_input(file))
    errors: list[str] = []
    with src:
        ok, bad = guarded(
            lambda: extract_command(src, sys.stdout, s.configs_dir, name=name, errors=errors)
        )
    _report_bad("extract", ok, bad, errors)
    if bad:
        raise typer.Exit(EXIT_BAD_RECORDS)


@app.command(epilog=INPUT_HELP + EXIT_CODES_HELP)
def route(
    file: Annotated[
        Path | None,
        typer.Argument(help="JSONL posts or leads; stdin when omitted.", show_default=False),
    ] = None,
) -> None:
    """Which unit would receive the case, and why: one JSON answer per input line.

    A line with ``category`` is a lead (``geo``, ``text`` as a Lead has them); any other
    line is a post, run through the leadfinder first. Each answer has unit, unit_level,
    district, street, community, category, item and why; a bad line is {"id", "error"}
    and the run exits 1.
    """
    from case_opener.commands import route_command

    s = settings()
    src, name = guarded(lambda: open_input(file))
    errors: list[str] = []
    with src:
        ok, bad = guarded(
            lambda: route_command(src, sys.stdout, s.configs_dir, name=name, errors=errors)
        )
    _report_bad("route", ok, bad, errors)
    if bad:
        raise typer.Exit(EXIT_BAD_RECORDS)


@app.command("eval", epilog=INPUT_HELP + EXIT_CODES_HELP)
def eval_(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="Labelled JSONL (the calibration schema, or the dev set's geo).",
            show_default=False,
        ),
    ] = None,
    sim: Annotated[
        bool,
        typer.Option(
            "--sim",
            help="Crawl the simulator's world on localhost through the real adapters and "
            "score it against the corpus truth instead of a file.",
        ),
    ] = False,
    seed: Annotated[
        int,
        typer.Option(help="--sim: corpus seed (7 is the fixed one; 20261201 is never tuned on)."),
    ] = 7,
    size: Annotated[
        int, typer.Option(min=1, help="--sim: most posts in the corpus (the pool bounds it).")
    ] = 1_000_000,
) -> None:
    """Score the leadfinder (and what the verifier would file) against labels; JSON metrics.

    Every line of FILE is a scored post or an entry of `bad_lines` (with its line number);
    `lines` counts them all. Exits 1 when some line is bad, 2 when FILE is empty."""
    s = settings()
    if sim == (file is not None):
        fail("给出一个带标注的 FILE，或 --sim（二者选一）", EXIT_USAGE)
    if file is not None:
        from leadfinder.commands import eval_command

        report = guarded(lambda: eval_command(file, s.configs_dir))
        print_json(report)
        if report["bad_lines"]:
            _report_bad(
                "eval",
                report["posts"],
                len(report["bad_lines"]),
                [b["error"] for b in report["bad_lines"]],
            )
            raise typer.Exit(EXIT_BAD_RECORDS)
        return
    from xianban.quality import eval_sim

    report, _ = run_async(lambda: eval_sim(s, seed=seed, size=size))
    print_json(report)


@app.command()
def train(
    out: Annotated[
        Path | None,
        typer.Option(help="Model file to write; default: the shipped model the leadfinder loads."),
    ] = None,
    root: Annotated[
        Path, typer.Option(help="Project checkout holding corpus/train/ and tests/data/.")
    ] = Path("."),
) -> None:
    """Rebuild the leadfinder's model from the written corpus (seeded, reproducible).

    Writes the model file and its card (<model>.card.json: data, cross-validated metrics,
    thresholds, calibration-set metrics when ../shared/eval/calibration.jsonl exists)
    and prints the card as JSON.
    """
    from leadfinder.training import DEFAULT_MODEL, train_and_card

    s = settings()
    if not (root / "corpus" / "train").is_dir():
        fail(f"{root / 'corpus' / 'train'}: no training corpus here; pass --root", EXIT_USAGE)
    card = train_and_card(
        root, s.configs_dir, out or DEFAULT_MODEL, progress=lambda m: typer.echo(m, err=True)
    )
    print_json(card)


BENCHES = ("leadfinder", "crawler", "quality", "e2e")


@app.command(epilog=EXIT_CODES_HELP)
def bench(
    stage: Annotated[
        str,
        typer.Argument(
            metavar="STAGE",
            help="One of: " + " | ".join([*BENCHES, "all"]) + ".",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help="Also write <stage>.json into this directory.")
    ] = None,
    posts: Annotated[int, typer.Option(min=1, help="leadfinder: posts to run.")] = 20_000,
    e2e_posts: Annotated[
        int,
        typer.Option(
            min=10,
            help="e2e: simulated posts through leadfinder, verifier and case opener, per "
            "deployment (embedded; Kafka + PostgreSQL with 2 workers per stage).",
        ),
    ] = 5_000,
    calibration: Annotated[
        Path | None,
        typer.Option(
            help="quality: the calibration set (default ../shared/eval/calibration.jsonl)."
        ),
    ] = None,
) -> None:
    """Benchmark a stage against its baseline measured in the same run; JSON on stdout.

    ``quality`` (also in ``all``) is the leadfinder's quality: eval on the calibration set
    (reported apart), the dev set and the simulator's fixed and never-tuned seeds."""
    from leadfinder.labelled import CALIBRATION

    s = settings()
    benches: dict[str, Callable[[], dict[str, Any]]] = {
        "leadfinder": lambda: _bench_leadfinder(posts, s),
        "crawler": lambda: _bench_crawler(s),
        "quality": lambda: _bench_quality(s, calibration or CALIBRATION),
        "e2e": lambda: _bench_e2e(e2e_posts, s),
    }
    if stage != "all" and stage not in benches:
        fail(f"未知的基准 {stage!r}：可选 {'、'.join([*benches, 'all'])}", EXIT_USAGE)
    if stage in ("all", "quality") and not (calibration or CALIBRATION).is_file():
        fail(
            f"quality 基准：找不到标定集 {calibration or CALIBRATION}"
            "（它放在项目之外）：用 --calibration PATH 指定",
            EXIT_USAGE,
        )
    results = {}
    for name in benches if stage == "all" else [stage]:
        results[name] = guarded(benches[name])
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}.json").write_text(json.dumps(results[name], indent=2) + "\n")
            if name == "e2e":
                from xianban.bench_e2e import chart

                (out / "e2e.png").write_bytes(chart(results[name]))
    print_json(results if stage == "all" else results[stage])


def _bench_leadfinder(posts: int, s: Settings) -> dict[str, Any]:
    from leadfinder.commands import bench_command

    return bench_command(posts, s.configs_dir)


def _bench_e2e(posts: int, s: Settings) -> dict[str, Any]:
    from xianban.bench_e2e import bench_e2e

    result: dict[str, Any] = run_async(lambda: bench_e2e(s, posts=posts))
    return result


def _bench_quality(s: Settings, calibration: Path) -> dict[str, Any]:
    from xianban.quality import quality_report

    try:
        return quality_report(s, calibration=calibration)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


def _bench_crawler(s: Settings) -> dict[str, Any]:
    from crawlers.bench import bench_command

    with progress.progress_bar("基准：采集 vs Scrapy"):
        return bench_command(s)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations to the configured database (SQLite or PostgreSQL)."""
    from xianban.store import upgrade

    s = settings()

    async def migrate() -> str:
        with progress.progress_bar(f"迁移数据库 {_safe_url(s.db_url)}"):
            return await upgrade(s.db_url)

    head = run_async(migrate)
    print_json({"database": _safe_url(s.db_url), "revision": head})


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


ReportFrom = Annotated[
    str | None,
    typer.Option(
        "--from", help="First day, YYYY-MM-DD (Shenzhen); default: 7 days / a month back."
    ),
]
ReportTo = Annotated[
    str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive); default: up to now.")
]
ReportFormat = Annotated[
    list[str] | None,
    typer.Option("--format", help="html | md | pdf; repeat or comma-separate (default html)."),
]
ReportOut = Annotated[
    Path | None, typer.Option("--out", help="Folder to write into (default <data_dir>/reports).")
]


@report_app.command("weekly")
def report_weekly(
    from_: ReportFrom = None, to: ReportTo = None, fmt: ReportFormat = None, out: ReportOut = None
) -> None:
    """The weekly briefing (一周一通报): files in --out, a report.published webhook, JSON."""
    _report("weekly", from_, to, fmt, out)


@report_app.command("monthly")
def report_monthly(
    from_: ReportFrom = None, to: ReportTo = None, fmt: ReportFormat = None, out: ReportOut = None
) -> None:
    """The monthly analysis (月度一分析), like the weekly one over a month."""
    _report("monthly", from_, to, fmt, out)


def _report(
    kind: str, first: str | None, last: str | None, fmt: list[str] | None, out: Path | None
) -> None:
    from reports.cli import parse_report_args, report_command

    s = settings()
    try:
        args = parse_report_args(kind, first, last, fmt or ["html"])
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    print_json(run_async(lambda: report_command(s, args, out or s.data_dir / "reports")))


def _mount_crawler_commands() -> None:
    """Mount ``sources`` and ``crawl`` from the crawl runtime, or explain why they're missing."""
    try:
        from crawlers.cli import crawl, sources_app
    except ImportError as exc:
        reason = str(exc)

        def unavailable(args: Annotated[list[str] | None, typer.Argument()] = None) -> None:
            """Unavailable: the crawl runtime failed to import."""
            fail(f"采集运行时不可用：{reason}", EXIT_UNAVAILABLE)

        for name in ("sources", "crawl"):
            app.command(name, context_settings={"ignore_unknown_options": True})(unavailable)
        return
    app.add_typer(sources_app, name="sources")
    app.command("crawl", epilog=EXIT_CODES_HELP)(crawl)


_mount_crawler_commands()


def main() -> None:
    app()
