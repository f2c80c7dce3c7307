"""The command line as cron jobs and scripts use it: exit codes, JSON on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xianban.cli import app

runner = CliRunner()


def xianban(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xianban", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["worker"],
        ["sim"],
        ["extract"],
        ["eval"],
        ["bench"],
        ["db", "upgrade"],
        ["report", "weekly"],
        ["report", "monthly"],
        ["sources"],
        ["crawl"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_report_refuses_bad_options_with_exit_2() -> None:
    bad_format = runner.invoke(app, ["report", "weekly", "--format", "docx"])
    assert bad_format.exit_code == 2 and "--format 'docx'" in bad_format.output
    bad_day = runner.invoke(app, ["report", "monthly", "--from", "2026-13-01"])
    assert bad_day.exit_code == 2 and "not a date" in bad_day.output
    backwards = runner.invoke(
        app, ["report", "weekly", "--from", "2026-11-30", "--to", "2026-11-01"]
    )
    assert backwards.exit_code == 2 and "is after --to" in backwards.output


def test_worker_refuses_unknown_stage_and_the_memory_bus() -> None:
    unknown = runner.invoke(app, ["worker", "bogus"], env={"XIANBAN_BUS": "kafka"})
    assert unknown.exit_code == 2 and "未知的阶段 'bogus'" in unknown.output
    memory = runner.invoke(app, ["worker", "verifier"])
    assert memory.exit_code == 2 and "XIANBAN_BUS=kafka" in memory.output


def test_bad_settings_are_a_usage_error() -> None:
    result = runner.invoke(app, ["db", "upgrade"], env={"XIANBAN_BUS": "carrier-pigeon"})
    assert result.exit_code == 2 and "bus" in result.output


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env={"XIANBAN_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["revision"]
    assert (tmp_path / "xianban.db").is_file()


def test_run_once_prints_the_summary_as_json(tmp_path: Path) -> None:
    done = xianban("run", "--once", env={"XIANBAN_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["posts"] > summary["leads"] >= summary["cases"] > 0
    assert {"verdicts", "dlq", "store", "elapsed_s"} <= set(summary)
    assert summary["produced"]["posts"] == summary["posts"] >= summary["stored"]["posts"] > 0
    assert summary["waiting_for_review"] >= 0
