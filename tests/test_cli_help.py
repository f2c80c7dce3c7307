"""Truthful help and docs: every command's --help against what it accepts, docs/cli.md and
docs/ARCHITECTURE.md against the code and the configs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from crawlers.cli import qr_text
from crawlers.sources import load_sources
from leadfinder.gazetteer import load_gazetteer
from xianban import exits
from xianban.cli import BENCHES, WORKER_STAGES, app
from xianban.settings import ROOT
from xianban.wiring import STAGES

runner = CliRunner()
CLI_DOC = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
ARCHITECTURE = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
DESIGN_COMMANDS = [
    ["run"],
    ["worker"],
    ["sources", "list"],
    ["crawl"],
    ["extract"],
    ["eval"],
    ["sim"],
    ["db", "upgrade"],
    ["bench"],
    ["report", "weekly"],
]


def leaf_commands() -> list[tuple[list[str], Any]]:
    """Every command that runs (not a group), with its path: typer's click objects."""
    root: Any = typer.main.get_command(app)
    found: list[tuple[list[str], Any]] = []

    def walk(cmd: Any, path: list[str], ctx: Any) -> None:
        if hasattr(cmd, "list_commands"):  # typer's groups are its own click's
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                walk(sub, [*path, name], type(ctx)(sub, parent=ctx))
        else:
            found.append((path, cmd))

    walk(root, [], root.make_context("xianban", ["--help"], resilient_parsing=True))
    return found


LEAVES = leaf_commands()


def raw_help(path: list[str]) -> str:
    shown = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    return shown.output


def help_of(path: list[str]) -> str:
    """The help as one line of words: rich's boxes and wrapping taken out."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", raw_help(path)).split())


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=" ".join)
def test_help_shows_every_parameter_once_and_truthfully(path: list[str]) -> None:
    cmd = dict((tuple(p), c) for p, c in LEAVES)[tuple(path)]
    raw = raw_help(path)
    text = help_of(path)
    assert "<bool>" not in text  # a flag takes no value
    usage = next(line for line in raw.splitlines() if "Usage:" in line)
    assert "{" not in usage  # a required argument is not a set of choices
    for param in cmd.params:
        is_option = getattr(param, "param_type_name", "") == "option"
        shown = param.opts[0] if is_option else (param.metavar or "")
        assert (shown or param.name or "").lower() in text.lower(), (path, param.name)
        choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
        helptext = getattr(param, "help", "") or ""
        if choices:  # the type column lists them: the help must not again
            assert " | ".join(map(str, choices)) not in helptext, (path, param.name)
    assert "not built" not in text.lower() and "尚不可用" not in text


def test_every_command_design_promises_exists_and_docs_name_them_all() -> None:
    paths = {" ".join(p) for p, _ in LEAVES}
    for command in DESIGN_COMMANDS:
        assert " ".join(command) in paths
    for path in paths:
        assert f"xianban {path}" in CLI_DOC or f"`{path.split()[-1]}`" in CLI_DOC, path
    for named in re.findall(r"`xianban ([a-z-]+(?: [a-z-]+)?)", CLI_DOC):
        first = named.split()[0]
        assert any(p == named or p.startswith(first) for p in paths), named


def test_exit_codes_in_docs_and_help_are_the_code() -> None:
    table = dict(re.findall(r"^\| (\d+) \| ([^|]+) \|$", CLI_DOC, re.M))
    assert set(map(int, table)) == {
        exits.EXIT_OK,
        exits.EXIT_BAD_RECORDS,
        exits.EXIT_USAGE,
        exits.EXIT_UNAVAILABLE,
        exits.EXIT_INTERRUPTED,
    }
    root = help_of([])
    assert "0 成功" in root and "3 数据库" in root and "docs/cli.md" in root
    for path in (["extract"], ["eval"], ["route"], ["crawl"], ["worker"], ["bench"]):
        assert "退出码" in help_of(path), path


def test_worker_accepts_exactly_the_stages_its_help_lists() -> None:
    listed = re.search(r"One of: ([a-z| -]+)\.", help_of(["worker"]))
    assert listed is not None
    stages = [s.strip() for s in listed.group(1).split("|")]
    assert stages == [*STAGES, "supervisor", "scheduler", "console"] == list(WORKER_STAGES)
    for stage in stages:  # accepted: it gets as far as asking for Kafka
        memory = runner.invoke(app, ["worker", stage], env={"XIANBAN_BUS": "memory"})
        assert memory.exit_code == 2 and "XIANBAN_BUS=kafka" in memory.output, stage
    refused = runner.invoke(app, ["worker", "cron"], env={"XIANBAN_BUS": "kafka"})
    assert refused.exit_code == 2 and "未知的阶段 'cron'" in refused.output


def test_bench_accepts_what_it_lists_and_honours_posts() -> None:
    listed = re.search(r"One of: ([a-z0-9| -]+)\.", help_of(["bench"]))
    assert listed is not None
    assert [s.strip() for s in listed.group(1).split("|")] == [*BENCHES, "all"]
    refused = runner.invoke(app, ["bench", "verifier"])
    assert refused.exit_code == 2 and "未知的基准" in refused.output
    done = runner.invoke(app, ["bench", "leadfinder", "--posts", "300"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["posts"] == 300


def test_crawl_takes_the_configured_sources_and_refuses_others() -> None:
    listed = runner.invoke(app, ["sources", "list", "--format", "json"])
    ids = [s["id"] for s in json.loads(listed.stdout)]
    assert ids == list(load_sources(ROOT / "configs"))
    refused = runner.invoke(app, ["crawl", "no-such-source"])
    assert refused.exit_code == 2
    assert all(i in refused.stderr for i in ids) and "xianban sources list" in refused.stderr


def test_sources_login_draws_the_code_it_asks_to_scan() -> None:
    assert "QR code is drawn" in help_of(["sources", "login"])
    drawn = qr_text("https://passport.example.cn/qr/abc123")
    assert drawn.count("\n") > 10 and "█" in drawn


def _count(pattern: str) -> list[int]:
    found = re.search(pattern, ARCHITECTURE)
    assert found is not None, pattern
    return [int(n) for n in found.groups()]


def test_architecture_counts_come_from_the_configs() -> None:
    sources = load_sources(ROOT / "configs")
    assert _count(r"`sources\.yaml` \((\d+) sources on (\d+) platforms") == [
        len(sources),
        len({s.platform for s in sources.values()}),
    ]
    taxonomy: dict[str, Any] = __import__("yaml").safe_load(
        (ROOT / "configs" / "taxonomy.yaml").read_text(encoding="utf-8")
    )
    assert _count(r"`taxonomy\.yaml` \((\d+) categories") == [len(taxonomy)]
    gaz = load_gazetteer(ROOT / "configs")
    assert _count(
        r"\((\d+) districts, (\d+) streets with official codes, (\d+) communities, "
        r"(\d+) metro stations, (\d+) roads, (\d+) POIs"
    ) == [
        len(gaz.shenzhen.districts),
        sum(len(d.streets) for d in gaz.shenzhen.districts.values()),
        len(gaz.communities.communities),
        len(gaz.metro.stations),
        len(gaz.places.roads),
        len(gaz.places.pois),
    ]
