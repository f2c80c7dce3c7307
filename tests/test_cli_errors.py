"""Every failure a user can cause is one Chinese line naming the fix, with the documented
exit code and no traceback (docs/cli.md, "Errors"): one table, one test per row."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xianban.cli import app
from xianban.exits import EXIT_UNAVAILABLE, EXIT_USAGE

runner = CliRunner()


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Failure:
    name: str
    args: list[str]
    env: Callable[[Path, int], dict[str, str]]
    code: int
    names: list[str]
    """What the line must say: the setting or flag that fixes it, and what failed."""
    subprocess: bool = False
    files: dict[str, str] = field(default_factory=dict)


def data(tmp: Path, _: int) -> dict[str, str]:
    return {"XIANBAN_DATA_DIR": str(tmp / "data")}


FAILURES = [
    Failure(
        "run: console port in use",
        ["run"],
        lambda tmp, port: data(tmp, port) | {"XIANBAN_CONSOLE_PORT": str(port)},
        EXIT_UNAVAILABLE,
        ["XIANBAN_CONSOLE_PORT", "端口已被占用"],
        subprocess=True,
    ),
    Failure(
        "sim: --port in use",
        ["sim", "--port", "{port}"],
        data,
        EXIT_UNAVAILABLE,
        ["--port", "端口已被占用"],
    ),
    Failure(
        "sim: --anchor without an offset",
        ["sim", "--port", "0", "--anchor", "2026-11-22T12:00"],
        data,
        EXIT_USAGE,
        ["--anchor", "带时区的 ISO 时间"],
    ),
    Failure(
        "sources status: no data dir",
        ["sources", "status"],
        lambda tmp, _: {"XIANBAN_DATA_DIR": str(tmp / "nowhere")},
        EXIT_UNAVAILABLE,
        ["XIANBAN_DATA_DIR", "不存在", "xianban db upgrade"],
    ),
    Failure(
        "db upgrade: database unreachable",
        ["db", "upgrade"],
        lambda tmp, _: {
            "XIANBAN_DATABASE_URL": f"postgresql+asyncpg://u@127.0.0.1:{closed_port()}/x"
        },
        EXIT_UNAVAILABLE,
        ["XIANBAN_DATABASE_URL", "无法连接数据库"],
    ),
    Failure(
        "sources status: database unreachable",
        ["sources", "status"],
        lambda tmp, _: {
            "XIANBAN_DATABASE_URL": f"postgresql+asyncpg://u@127.0.0.1:{closed_port()}/x"
        },
        EXIT_UNAVAILABLE,
        ["XIANBAN_DATABASE_URL"],
    ),
    Failure(
        "worker: broker unreachable",
        ["worker", "verifier"],
        lambda tmp, _: (
            data(tmp, 0)
            | {"XIANBAN_BUS": "kafka", "XIANBAN_KAFKA__BOOTSTRAP": f"127.0.0.1:{closed_port()}"}
        ),
        EXIT_UNAVAILABLE,
        ["XIANBAN_KAFKA__BOOTSTRAP", "无法连接 Kafka"],
    ),
    Failure(
        "worker: memory bus",
        ["worker", "verifier"],
        data,
        EXIT_USAGE,
        ["XIANBAN_BUS=kafka"],
    ),
    Failure(
        "crawl: unknown source",
        ["crawl", "weibo-serch"],
        data,
        EXIT_USAGE,
        ["未知的数据源", "weibo-search", "xianban sources list"],
    ),
    Failure(
        "sources pause: unknown source",
        ["sources", "pause", "nope"],
        data,
        EXIT_USAGE,
        ["未知的数据源", "xianban sources list"],
    ),
    Failure(
        "worker: unknown stage",
        ["worker", "crawlers"],
        lambda tmp, _: {"XIANBAN_BUS": "kafka"},
        EXIT_USAGE,
        ["未知的阶段", "crawler", "supervisor"],
    ),
    Failure(
        "bench: unknown bench",
        ["bench", "verifier"],
        data,
        EXIT_USAGE,
        ["未知的基准", "leadfinder"],
    ),
    Failure(
        "bad settings value: a port that is no number",
        ["sources", "list"],
        lambda tmp, _: {"XIANBAN_CONSOLE_PORT": "eighty"},
        EXIT_USAGE,
        ["XIANBAN_CONSOLE_PORT", "应为整数", "eighty"],
    ),
    Failure(
        "bad settings value: no such bus",
        ["db", "upgrade"],
        lambda tmp, _: {"XIANBAN_BUS": "carrier-pigeon"},
        EXIT_USAGE,
        ["XIANBAN_BUS", "memory", "kafka"],
    ),
    Failure(
        "bad settings value: out of range",
        ["db", "upgrade"],
        lambda tmp, _: {"XIANBAN_KAFKA__LINGER_MS": "-5"},
        EXIT_USAGE,
        ["XIANBAN_KAFKA__LINGER_MS", "kafka.linger_ms", "不小于 0"],
    ),
    Failure(
        "settings file missing",
        ["db", "upgrade"],
        lambda tmp, _: {"XIANBAN_CONFIG": str(tmp / "missing.yaml")},
        EXIT_USAGE,
        ["XIANBAN_CONFIG", "不存在"],
    ),
    Failure(
        "settings file not YAML",
        ["db", "upgrade"],
        lambda tmp, _: {"XIANBAN_CONFIG": str(tmp / "broken.yaml")},
        EXIT_USAGE,
        ["broken.yaml", "第 2 行", "YAML"],
        files={"broken.yaml": "bus: memory\n  partitions: [3\n"},
    ),
    Failure(
        "settings file with an unknown key",
        ["db", "upgrade"],
        lambda tmp, _: {"XIANBAN_CONFIG": str(tmp / "typo.yaml")},
        EXIT_USAGE,
        ["data_directory", "不是已知的设置项", "xianban/settings.py"],
        files={"typo.yaml": "data_directory: /srv/xianban\n"},
    ),
    Failure(
        "extract: no such file",
        ["extract", "{tmp}/posts.jsonl"],
        data,
        EXIT_USAGE,
        ["posts.jsonl", "不存在"],
    ),
    Failure(
        "eval: a folder",
        ["eval", "{tmp}"],
        data,
        EXIT_USAGE,
        ["是一个目录"],
    ),
]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f.name)
def test_a_user_caused_failure_is_one_line_naming_the_fix(
    failure: Failure, tmp_path: Path, busy_port: int
) -> None:
    for name, text in failure.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = failure.env(tmp_path, busy_port)
    args = [a.format(port=busy_port, tmp=tmp_path) for a in failure.args]
    if failure.subprocess:
        done = subprocess.run(
            [sys.executable, "-m", "xianban", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **env, "XIANBAN_PROGRESS": "0"},
            timeout=240,
            check=False,
        )
        code, stderr = done.returncode, done.stderr
    else:
        result = runner.invoke(app, args, env=env)
        code, stderr = result.exit_code, result.stderr
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), result.exception
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("错误：")]
    assert len(errors) == 1, stderr[-2000:]
    assert code == failure.code, stderr[-2000:]
    for part in failure.names:
        assert part in errors[0], (part, errors[0])
    if failure.name == "sources status: no data dir":
        assert not (tmp_path / "nowhere").exists()  # nothing made up
