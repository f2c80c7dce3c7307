"""``xianban fleet``: the commands over ``xianban.fleet`` (kept apart from ``cli.py``,
which only mounts them)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from xianban.exits import EXIT_CODES_HELP, EXIT_UNAVAILABLE, EXIT_USAGE, fail
from xianban.wiring import STAGES

FLEET_HELP = (
    "The loop on Kafka + PostgreSQL as separate processes on this machine: the broker "
    "(tansu, when XIANBAN_KAFKA__BOOTSTRAP is unset), the simulator, the scheduler, N "
    "workers per stage, the supervision sweep and the console. Needs "
    "XIANBAN_DATABASE_URL=postgresql+asyncpg://...; pids, ports and logs under "
    "<XIANBAN_DATA_DIR>/fleet/."
)

fleet_app = typer.Typer(help=FLEET_HELP, no_args_is_help=True)

FORMATS = ("table", "json")


def _settings() -> Any:
    from xianban.cli import settings

    return settings()


def _run(make: Any) -> Any:
    from xianban.cli import run_async

    return run_async(make)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        fail(f"--format {fmt!r} 无法识别：可选 {'、'.join(FORMATS)}", EXIT_USAGE)


@fleet_app.command(epilog=EXIT_CODES_HELP)
def up(
    workers: Annotated[
        list[str] | None,
        typer.Option(
            "--workers",
            metavar="STAGE=N",
            help="Workers of a stage (repeat, or comma-separate: leadfinder=2,verifier=1); "
            "every other stage gets 1, 0 runs none. Stages: " + ", ".join(STAGES) + ".",
        ),
    ] = None,
    sim: Annotated[
        bool,
        typer.Option(
            "--sim/--no-sim",
            help="Start the platform and work-order simulator (skipped anyway when "
            "XIANBAN_SIM_URL and XIANBAN_WORKORDER_URL point elsewhere).",
        ),
    ] = True,
    console: Annotated[
        bool,
        typer.Option(
            "--console/--no-console",
            help="Start the console (XIANBAN_CONSOLE_PORT; 0 = any free port).",
        ),
    ] = True,
    seed: Annotated[int, typer.Option(help="The simulator's corpus seed.")] = 7,
    corpus_size: Annotated[
        int, typer.Option(min=1, help="Posts in the simulated world (fewer: a shorter crawl).")
    ] = 3000,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Start the fleet and wait until every process answers; refuses if one is up here.

    A process that exits while starting stops the others and shows its log's tail."""
    from xianban import fleet

    _check_format(fmt)
    s = _settings()
    try:
        counts = fleet.parse_workers(workers or [])
    except Exception as exc:  # an InputError: a usage error with its own words
        fail(str(exc), EXIT_USAGE)
    _run(
        lambda: fleet.up(
            s, workers=counts, sim=sim, console=console, seed=seed, corpus_size=corpus_size
        )
    )
    _show(s, fmt)


@fleet_app.command(epilog=EXIT_CODES_HELP)
def status(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Each process (alive, pid, stage, port, log) and each stage's consumer lag.

    The lag is what the stage's consumer group has not committed yet on its topic, read
    from outside the group (asking does not rebalance it)."""
    _check_format(fmt)
    _show(_settings(), fmt)


@fleet_app.command(epilog=EXIT_CODES_HELP)
def down(
    timeout: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds a process has after SIGTERM to finish its batch and commit "
            "before SIGKILL.",
        ),
    ] = 15.0,
) -> None:
    """Stop every process of the fleet (SIGTERM, then SIGKILL after --timeout).

    The scheduler first, then the workers, the supervisor and the console, then the
    simulator and the broker."""
    from xianban import fleet
    from xianban.cli import print_json

    s = _settings()
    result = _run(lambda: fleet.down(s, timeout_s=timeout))
    if result["state_file"] is None:
        typer.echo("没有记录在案的舰队：无需停止", err=True)
    else:
        typer.echo(
            f"已停止 {len(result['stopped'])} 个进程"
            + (f"，其中强制结束 {'、'.join(result['killed'])}" if result["killed"] else ""),
            err=True,
        )
    print_json(result)


@fleet_app.command(epilog=EXIT_CODES_HELP)
def scale(
    stage: Annotated[
        str,
        typer.Argument(
            metavar="STAGE", help="One of: " + " | ".join(STAGES) + ".", show_default=False
        ),
    ],
    count: Annotated[
        int, typer.Argument(metavar="N", min=0, help="Workers to run.", show_default=False)
    ],
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Run N workers of STAGE (start the missing ones, stop the newest extra ones).

    New ones join the stage's consumer group; extra ones finish their batch, commit and
    leave it; Kafka hands the partitions over either way, and nothing is lost."""
    from xianban import fleet

    _check_format(fmt)
    if stage not in STAGES:
        fail(f"未知的阶段 {stage!r}：可选 {'、'.join(STAGES)}", EXIT_USAGE)
    s = _settings()
    _run(lambda: fleet.scale(s, stage, count))
    _show(s, fmt)


def _show(s: Any, fmt: str) -> None:
    from xianban import fleet
    from xianban.cli import STEP_LABELS, print_json

    shown = _run(lambda: fleet.status(s))
    if shown is None:
        fail(
            f"没有记录在案的舰队（{fleet.state_path(s)} 不存在）：先 xianban fleet up",
            EXIT_UNAVAILABLE,
        )
    if fmt == "json":
        print_json(shown)
        return
    out = Console(width=None if sys.stdout.isatty() else 200)
    out.print(
        f"舰队 启动于 {shown['started_at']}  Kafka {shown['bootstrap']}"
        + (f"  控制台 {shown['console_url']}" if shown["console_url"] else "")
        + (f"  模拟器 {shown['sim_url']}" if shown["sim_url"] else "")
    )
    table = Table("名称", "角色", "阶段", "PID", "状态", "端口", "已读记录", "持有分区积压", "日志")
    for p in shown["processes"]:
        table.add_row(
            p["name"],
            p["role_label"],
            STEP_LABELS.get(p["stage"], p["stage"] or "—"),
            str(p["pid"]),
            "[green]运行中[/]" if p["alive"] else "[red]已退出[/]",
            str(p["port"] or "—"),
            "—" if p["records_in"] is None else str(p["records_in"]),
            "—" if p["owned_lag"] is None else str(p["owned_lag"]),
            p["log"],
        )
    out.print(table)
    stages = Table("阶段", "运行中的进程", "积压（未提交的记录）")
    for stage, row in shown["stages"].items():
        lag = row["lag"]
        stages.add_row(
            f"{STEP_LABELS.get(stage, stage)}（{stage}）",
            str(row["workers"]),
            "未知（broker 无应答）" if lag is None else str(lag),
        )
    out.print(stages)
