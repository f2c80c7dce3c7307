"""eval_command's report: counts and the misses with what differed, on a tiny labelled set."""

from __future__ import annotations

import json
from pathlib import Path

from leadfinder.commands import eval_command
from xianban.settings import ROOT

CONFIGS = ROOT / "configs"


def test_eval_reports_what_differed(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "text": "龙华民治路灯冒火花，有没有人管", "is_lead": True, "urgent": True,
         "category": "noise", "geo": {"district": "福田区"}},
        {"id": "b", "text": "深圳湾日落好美", "is_lead": True, "urgent": False},
        {"id": "c", "text": "今天加班好累", "is_lead": False, "urgent": False},
    ]  # fmt: skip
    path = tmp_path / "labelled.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + ["{broken"]
    path.write_text("\n".join(lines), encoding="utf-8")
    metrics = eval_command(path, CONFIGS)
    assert metrics["posts"] == 3 and len(metrics["bad_lines"]) == 1
    assert metrics["is_lead"] | {"precision": 0, "recall": 0, "f1": 0} == {
        "precision": 0, "recall": 0, "f1": 0, "tp": 1, "fp": 0, "fn": 1, "tn": 1,
    }  # fmt: skip
    assert metrics["is_lead"]["recall"] == 0.5 and metrics["is_lead"]["precision"] == 1.0
    assert metrics["urgent"] == {"precision": 1.0, "recall": 1.0}
    assert metrics["category_accuracy"] == 0.0 and metrics["district_accuracy"] == 0.0
    diffs = {m["id"]: m["diff"] for m in metrics["misses"]}
    assert diffs["a"] == {
        "category": ["noise", "municipal_facilities"],
        "district": ["福田区", "龙华区"],
    }
    assert diffs["b"] == {"is_lead": [True, False]}
    assert "c" not in diffs
