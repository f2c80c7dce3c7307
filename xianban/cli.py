"""The ``xianban`` command line: a contract that tests, cron jobs and scripts rely on.

Output meant for programs (summaries, posts, extraction results, benchmarks) goes to
stdout as JSON or JSONL; logs and progress go to stderr. Exit codes: 0 ok, 1 failure,
2 bad usage or configuration, 3 not built yet.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from xianban import logs
from xianban.errors import ConfigError, NotBuiltError, XianbanError
from xianban.settings import Settings, load_settings

T = TypeVar("T")

app = typer.Typer(
    name="xianban",
    help="先办 (未诉先办): find city problems online, verify, file and follow work orders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
report_app = typer.Typer(help="Briefings for leadership.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(report_app, name="report")

EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_BUILT = 1, 2, 3


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        s = load_settings()
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    logs.configure(s.log_level)
    return s


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine, turning the system's errors into a message and an exit code."""
    try:
        return asyncio.run(make())
    except NotBuiltError as exc:
        fail(f"not built yet: {exc}", EXIT_NOT_BUILT)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    except XianbanError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@app.command()
def run(
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Crawl every source once, drain every stage, print a JSON summary, exit.",
        ),
    ] = False,
) -> None:
    """Run the whole loop embedded: simulators, memory bus, SQLite, console on localhost."""
    from xianban.embedded import run_forever, run_once

    s = settings()
    if once:
        print_json(run_async(lambda: run_once(s)))
    else:
        typer.echo(
            f"xianban: console on http://{s.console_host}:{s.console_port}  (Ctrl-C stops)",
            err=True,
        )
        run_async(lambda: run_forever(s))


@app.command()
def worker(
    stage: Annotated[
        str,
        typer.Argument(help="crawler | leadfinder | verifier | case-opener | supervisor"),
    ],
) -> None:
    """Run one stage as a consumer-group member on Kafka (XIANBAN_BUS=kafka)."""
    from xianban.workers import run_worker

    s = settings()
    run_async(lambda: run_worker(s, stage))


@app.command()
def sim(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Corpus seed (same seed, same posts).")] = 7,
) -> None:
    """Serve the simulators alone: the platforms and the work-order system."""
    from sim.server import SimServer

    settings()

    async def serve() -> None:
        server = SimServer(host=host, port=port, seed=seed)
        await server.start()
        typer.echo(f"platforms: {server.url}/  work orders: {server.workorder_url}", err=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    run_async(serve)


@app.command()
def extract(
    file: Annotated[
        Path | None, typer.Argument(help="JSONL posts; stdin when omitted.", dir_okay=False)
    ] = None,
) -> None:
    """Run the leadfinder on JSONL posts: one JSON result per input line, same order."""
    from leadfinder.commands import extract_command

    s = settings()
    if file is not None and not file.is_file():
        fail(f"{file}: no such file", EXIT_USAGE)
    with file.open(encoding="utf-8") if file else sys.stdin as src:
        ok, bad = extract_command(src, sys.stdout, s.configs_dir)
    typer.echo(f"extract: {ok} ok, {bad} bad lines", err=True)


@app.command()
def route(
    file: Annotated[
        Path | None,
        typer.Argument(help="JSONL posts or leads; stdin when omitted.", dir_okay=False),
    ] = None,
) -> None:
    """Which unit would receive the case, and why: one JSON answer per input line.

    A line with ``category`` is a lead (``geo``, ``text`` as a Lead has them); any other
    line is a post, run through the leadfinder first. Each answer has unit, unit_level,
    district, street, community, category, item and why; a bad line is {"id", "error"}.
    """
    from case_opener.commands import route_command

    s = settings()
    if file is not None and not file.is_file():
        fail(f"{file}: no such file", EXIT_USAGE)
    try:
        with file.open(encoding="utf-8") if file else sys.stdin as src:
            ok, bad = route_command(src, sys.stdout, s.configs_dir)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    typer.echo(f"route: {ok} routed, {bad} bad lines", err=True)


@app.command("eval")
def eval_(
    file: Annotated[
        Path | None,
        typer.Argument(help="Labelled JSONL (the calibration schema, or the dev set's geo)."),
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
    """Score the leadfinder (and what the verifier would file) against labels; JSON metrics."""
    s = settings()
    if sim == (file is not None):
        fail("give a labelled FILE or --sim (one of the two)", EXIT_USAGE)
    if file is not None:
        from leadfinder.commands import eval_command

        if not file.is_file():
            fail(f"{file}: no such file", EXIT_USAGE)
        print_json(eval_command(file, s.configs_dir))
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


@app.command()
def bench(
    stage: Annotated[str, typer.Argument(help="crawler | leadfinder | all")],
    out: Annotated[
        Path | None, typer.Option(help="Also write <stage>.json into this directory.")
    ] = None,
    posts: Annotated[int, typer.Option(help="leadfinder: posts to run.")] = 20_000,
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
    }
    if stage != "all" and stage not in benches:
        fail(f"unknown bench {stage!r}; choose from: {', '.join([*benches, 'all'])}", EXIT_USAGE)
    if stage in ("all", "quality") and not (calibration or CALIBRATION).is_file():
        fail(
            f"quality bench: calibration set not found at {calibration or CALIBRATION} "
            "(it lives outside the project; pass --calibration PATH)",
            EXIT_USAGE,
        )
    results = {}
    for name in benches if stage == "all" else [stage]:
        results[name] = benches[name]()
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}.json").write_text(json.dumps(results[name], indent=2) + "\n")
    print_json(results if stage == "all" else results[stage])


def _bench_leadfinder(posts: int, s: Settings) -> dict[str, Any]:
    from leadfinder.commands import bench_command

    return bench_command(posts, s.configs_dir)


def _bench_quality(s: Settings, calibration: Path) -> dict[str, Any]:
    from xianban.quality import quality_report

    try:
        return quality_report(s, calibration=calibration)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


def _bench_crawler(s: Settings) -> dict[str, Any]:
    from crawlers.bench import bench_command

    return bench_command(s)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations to the configured database (SQLite or PostgreSQL)."""
    from xianban.store import upgrade

    s = settings()
    head = run_async(lambda: upgrade(s.db_url))
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
            fail(f"crawl runtime unavailable: {reason}", EXIT_NOT_BUILT)

        for name in ("sources", "crawl"):
            app.command(name, context_settings={"ignore_unknown_options": True})(unavailable)
        return
    app.add_typer(sources_app, name="sources")
    app.command("crawl")(crawl)


_mount_crawler_commands()


def main() -> None:
    app()
