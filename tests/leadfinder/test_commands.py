"""The extract and eval commands as the CLI runs them: one answer per line, bad lines named."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leadfinder.commands import eval_command, extract_command
from xianban.settings import ROOT

CONFIGS = ROOT / "configs"
DEV = ROOT / "tests" / "data" / "leadfinder" / "dev.jsonl"


def run_extract(lines: list[str]) -> tuple[list[dict[str, Any]], tuple[int, int]]:
    dst = io.StringIO()
    counts = extract_command(io.StringIO("\n".join(lines) + "\n"), dst, CONFIGS)
    return [json.loads(line) for line in dst.getvalue().splitlines()], counts


def test_extract_one_result_per_line_in_order_and_bad_lines_named() -> None:
    lines = [
        json.dumps(
            {"id": "ok1", "platform": "weibo", "text": "龙华区民治街道路灯冒火花，有没有人管"}
        ),
        "{not json",
        json.dumps({"id": "notext"}),
        json.dumps({"id": "wrongtype", "text": 42}),
        json.dumps({"id": 7, "text": "宝安西乡这边井盖不见了", "engagement": {"likes": -1}}),
        json.dumps(["a list"]),
        json.dumps({"id": "ok2", "text": "今天天气真好"}),
    ]
    out, counts = run_extract(lines)
    assert counts == (2, 5)
    assert [r["id"] for r in out] == ["ok1", None, "notext", "wrongtype", "7", None, "ok2"]
    first = out[0]
    assert first["is_lead"] is True and first["urgent"] is True
    assert first["category"] == "municipal_facilities"
    assert first["geo"] == {
        "district": "龙华区",
        "street": "民治街道",
        "community": None,
        "road": None,
        "poi": None,
    }
    assert any("冒火花" in r for r in first["reasons"])
    for bad in out[1:6]:
        assert set(bad) == {"id", "error"} and bad["error"]
    assert "engagement" in out[4]["error"]
    assert out[6]["is_lead"] is False and out[6]["category"] is None


# Each names one danger twice, as a trigger and as a combination that start at the same word.
TIED_TRIGGERS = [
    "宝安西乡这边井盖不见了，晚上骑车差点掉下去",
    "南山蛇口路口的井盖丢了，井盖丢了三天都没人管",
    "龙岗布吉小区门口井盖不见了好几天，小孩天天从这里走",
]


def test_extract_is_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    posts = tmp_path / "posts.jsonl"
    rows = [
        json.dumps({"id": str(i), "text": t}, ensure_ascii=False)
        for i, t in enumerate(TIED_TRIGGERS)
    ]
    posts.write_text("\n".join(rows) + "\n", encoding="utf-8")
    outputs = [
        subprocess.run(
            [sys.executable, "-m", "xianban", "extract", str(posts)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    assert all(json.loads(line)["urgent"] for line in outputs[0].splitlines())


def test_extract_output_fields_are_the_cli_contract() -> None:
    out, _ = run_extract([json.dumps({"id": "p1", "text": "福田区梅林一村门口井盖不见了"})])
    assert set(out[0]) == {"id", "is_lead", "score", "category", "urgent", "geo", "reasons"}
    assert 0.0 <= float(out[0]["score"]) <= 1.0


@pytest.fixture(scope="module")
def dev_metrics() -> dict[str, object]:
    return eval_command(DEV, CONFIGS)


def test_dev_set_is_big_and_covers_every_category_and_district() -> None:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 300
    leads = [r for r in rows if r["is_lead"]]
    assert len({r["category"] for r in leads}) == 18
    assert len({r["geo"]["district"] for r in leads if r["geo"].get("district")}) == 10
    assert len(rows) - len(leads) >= 70


def test_dev_set_meets_the_acceptance_thresholds(dev_metrics: dict[str, object]) -> None:
    m = dev_metrics
    misses = json.dumps(m["misses"], ensure_ascii=False, indent=1)
    assert m["bad_lines"] == []
    assert m["is_lead"]["f1"] >= 0.95, misses  # type: ignore[index]
    assert m["urgent"]["recall"] == 1.0, misses  # type: ignore[index]
    assert m["urgent"]["precision"] >= 0.8, misses  # type: ignore[index]
    assert m["district_accuracy"] >= 0.97, misses  # type: ignore[operator]
    assert m["street_accuracy"] >= 0.90, misses  # type: ignore[operator]
    assert m["category_accuracy"] >= 0.90, misses  # type: ignore[operator]


def test_eval_reports_misses_and_bad_lines(tmp_path: Path) -> None:
    labelled = tmp_path / "set.jsonl"
    rows = [
        {"id": "a", "text": "龙华区民治街道路灯冒火花", "is_lead": False, "urgent": False},
        {"id": "b", "text": "今天天气真好", "is_lead": False, "urgent": False},
    ]
    labelled.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{broken\n",
        encoding="utf-8",
    )
    m = eval_command(labelled, CONFIGS)
    assert m["posts"] == 2
    assert m["is_lead"]["fp"] == 1 and m["is_lead"]["tn"] == 1
    assert [miss["id"] for miss in m["misses"]] == ["a"]
    assert m["misses"][0]["diff"]["is_lead"] == [False, True]
    assert len(m["bad_lines"]) == 1
