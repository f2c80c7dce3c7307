"""Progress on stderr for a person, nothing for cron; times in Asia/Shanghai with the offset
in everything the CLI prints."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xianban.cli import app
from xianban.clock import iso, localise, shown
from xianban.store import Store

runner = CliRunner()
LABELLED = {
    "id": "p1",
    "platform": "weibo",
    "text": "龙华区民治街道路灯冒火花，有没有人管",
    "is_lead": True,
    "urgent": True,
    "category": "municipal_facilities",
}
UTC_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00:00)")


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(LABELLED, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "drawn"),
    [
        (["eval", "{set}"], "识别线索并核验"),
        (["bench", "leadfinder", "--posts", "200"], "基准：线索识别"),
        (["db", "upgrade"], "迁移数据库"),
    ],
)
def test_progress_is_drawn_for_a_person_and_never_in_cron(
    args: list[str], drawn: str, labelled: Path, tmp_path: Path
) -> None:
    argv = [a.format(set=labelled) for a in args]
    env = {"XIANBAN_DATA_DIR": str(tmp_path / "data")}
    cron = runner.invoke(app, argv, env=env | {"XIANBAN_PROGRESS": ""})  # not a terminal
    assert cron.exit_code == 0, cron.output
    assert drawn not in cron.stderr
    person = runner.invoke(app, argv, env=env | {"XIANBAN_PROGRESS": "1"})
    assert person.exit_code == 0, person.output
    assert drawn in person.stderr
    assert isinstance(json.loads(person.stdout), dict)  # stdout stays pure JSON


def test_times_are_shown_in_shenzhen_with_the_offset() -> None:
    at = datetime(2026, 12, 1, 9, 28, 57, tzinfo=UTC)
    assert shown(at) == "2026-12-01 17:28 +08:00"
    assert iso(at) == "2026-12-01T17:28:57+08:00"
    assert localise({"a": [at], "b": "x"}) == {"a": ["2026-12-01T17:28:57+08:00"], "b": "x"}


def test_sources_status_shows_shenzhen_time(tmp_path: Path) -> None:
    async def seed() -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'xianban.db'}")
        try:
            await store.set_source_state(
                "weibo-search",
                state="healthy",
                last_success=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
            )
        finally:
            await store.close()

    asyncio.run(seed())
    env = {"XIANBAN_DATA_DIR": str(tmp_path)}
    as_json = runner.invoke(app, ["sources", "status", "--format", "json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    row = next(r for r in json.loads(as_json.stdout) if r["source"] == "weibo-search")
    assert row["last_success"] == "2026-12-01T09:00:00+08:00"
    assert not UTC_TIME.search(as_json.stdout)
    table = runner.invoke(app, ["sources", "status"], env=env)
    assert "2026-12-01 09:00 +08:00" in table.stdout and "北京时间" in table.stdout


def test_db_upgrade_and_run_summaries_carry_no_utc_times(tmp_path: Path) -> None:
    done = runner.invoke(app, ["db", "upgrade"], env={"XIANBAN_DATA_DIR": str(tmp_path)})
    assert done.exit_code == 0 and not UTC_TIME.search(done.stdout)
