"""Exit codes and the one-line error for every failure a user can cause.

A cron job or a script reads the exit code; a person reads one line on stderr, in Chinese,
that says what went wrong and which setting or flag fixes it. Never a traceback for a
failure of the input, the settings or the machine (docs/cli.md has the table).

=====  ==========================================================================
0      done; every input record had its answer
1      done, but some input records were bad (each has its error line), or the
       work failed part-way (a crawl interrupted, a filing refused)
2      usage: a bad flag or argument, an unknown source or stage, an input file that
       cannot be read, an invalid setting
3      not available: the database, the Kafka brokers, the port to listen on, the data
       directory, or a part of the system that is not built
130    interrupted (Ctrl-C)
=====  ==========================================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import typer
import yaml
from pydantic import ValidationError

from xianban.errors import (
    BrokerUnavailableError,
    ConfigError,
    DatabaseUnavailableError,
    InputError,
    NotBuiltError,
    PortInUseError,
    UnavailableError,
    XianbanError,
)
from xianban.settings import Settings

EXIT_OK, EXIT_BAD_RECORDS, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_FAILURE = EXIT_BAD_RECORDS

EXIT_CODES_HELP = (
    "退出码 / exit codes: 0 成功 ok; 1 部分记录有误（每条都有输出）或中途失败 some records "
    "bad; 2 用法或设置错误 usage; 3 数据库、Kafka、端口、数据目录不可用 not available; "
    "130 中断 interrupted. See docs/cli.md."
)

_PYDANTIC = {
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "url_parsing": "不是合法的 URL",
    "path_type": "应为路径",
}
_SOCKET_REASONS = {
    "Address already in use": "端口已被占用",
    "Permission denied": "没有权限监听该端口",
    "Cannot assign requested address": "本机没有这个地址",
}


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``错误：message`` as one line on stderr and exit with ``code``."""
    typer.echo(f"错误：{' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def env_name(loc: tuple[Any, ...]) -> str:
    """The environment variable that sets a field: ``kafka.bootstrap`` →
    ``XIANBAN_KAFKA__BOOTSTRAP``."""
    return "XIANBAN_" + "__".join(str(p).upper() for p in loc)


def load(**overrides: Any) -> Settings:
    """The settings, or exit 2 with a message naming the variable to fix."""
    path = os.environ.get("XIANBAN_CONFIG")
    if path and not Path(path).is_file():
        fail(f"设置文件 XIANBAN_CONFIG={path} 不存在：改正该变量，或删去它", EXIT_USAGE)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = [_problem(e) for e in exc.errors(include_url=False)]
        fail("设置无效：" + "；".join(problems), EXIT_USAGE)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        name = path or "xianban.yaml"
        fail(f"设置文件 {name} {at}不是合法的 YAML：改正它或设置 XIANBAN_CONFIG", EXIT_USAGE)


def _problem(error: Any) -> str:
    loc = tuple(error["loc"])
    what = _PYDANTIC.get(error["type"])
    ctx = error.get("ctx") or {}
    if error["type"] == "extra_forbidden":
        key = ".".join(str(p) for p in loc)
        return f"设置文件中的 {key} 不是已知的设置项（每项设置见 xianban/settings.py）"
    if what is None and "expected" in ctx:
        what = f"应为 {str(ctx['expected']).replace(' or ', ' 或 ')}"
    elif what is None and "ge" in ctx:
        what = f"应不小于 {ctx['ge']}"
    elif what is None and "le" in ctx:
        what = f"应不大于 {ctx['le']}"
    elif what is None and "gt" in ctx:
        what = f"应大于 {ctx['gt']}"
    value = error.get("input")
    shown = f"，现在是 {value!r}" if isinstance(value, str | int | float) else ""
    key = ".".join(str(p) for p in loc)
    return f"{env_name(loc)}（设置文件中的 {key}）{what or error['msg']}{shown}"


def explain(exc: BaseException, *, ports: dict[int, str] | None = None) -> tuple[str, int]:
    """The one-line message and exit code for an error a command let out.

    ``ports`` names the setting or flag behind each port the command listens on, so a
    port in use names the one to change."""
    if isinstance(exc, PortInUseError):
        fix = (ports or {}).get(exc.port, "XIANBAN_CONSOLE_PORT")
        reason = _SOCKET_REASONS.get(exc.reason, exc.reason)
        return (
            f"无法监听 {exc.host}:{exc.port}（{reason}）：停掉占用它的进程，或用 {fix} "
            "换一个端口（0 = 任选空闲端口）",
            EXIT_UNAVAILABLE,
        )
    if isinstance(exc, DatabaseUnavailableError):
        return (
            f"无法连接数据库（{exc}）：确认数据库已启动，"
            "或用 XIANBAN_DATABASE_URL 指向可用的数据库",
            EXIT_UNAVAILABLE,
        )
    if isinstance(exc, BrokerUnavailableError):
        return (
            f"无法连接 Kafka（{exc}）：确认 broker 已启动，或用 XIANBAN_KAFKA__BOOTSTRAP=host:port "
            "指向可用的 broker",
            EXIT_UNAVAILABLE,
        )
    if isinstance(exc, NotBuiltError):
        return f"尚不可用：{exc}", EXIT_UNAVAILABLE
    if isinstance(exc, UnavailableError):
        return str(exc), EXIT_UNAVAILABLE
    if isinstance(exc, ConfigError):
        return f"配置错误：{exc}", EXIT_USAGE
    if isinstance(exc, InputError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, XianbanError):
        return str(exc), EXIT_FAILURE
    if isinstance(exc, KeyboardInterrupt):
        return "已中断", EXIT_INTERRUPTED
    raise exc


def require_data_dir(settings: Settings) -> bool:
    """For commands that only read state: the data directory must exist (they never make
    one). True when there is a database to read: PostgreSQL, or the SQLite file (a data
    directory without it has simply not run yet)."""
    if settings.database_url:
        return True
    if not settings.data_dir.is_dir():
        raise UnavailableError(
            f"数据目录 {settings.data_dir} 不存在：用 XIANBAN_DATA_DIR 指向 xianban run 使用的"
            "数据目录，或用 XIANBAN_DATABASE_URL 指向数据库；新部署先运行 xianban db upgrade"
        )
    return (settings.data_dir / "xianban.db").is_file()
