from __future__ import annotations

from pathlib import Path

import pytest

from verifier.rules import load_config, rule_on
from xianban.records import Geo, Lead

CFG = load_config(Path(__file__).resolve().parents[2] / "configs")


def lead(**over: object) -> Lead:
    data: dict[str, object] = {
        "lead_id": "l",
        "cluster_id": "c",
        "post_ids": ["p"],
        "platform": "weibo",
        "text": "t",
        "category": "road_traffic",
        "urgent": False,
        "geo": Geo(district="福田区"),
        "score": 0.8,
    }
    data.update(over)
    return Lead.model_validate(data)


@pytest.mark.parametrize(
    ("over", "decision", "rule"),
    [
        ({}, "confirmed", "clear_problem"),
        ({"geo": Geo()}, "needs_review", "jurisdiction"),
        ({"score": 0.3}, "rejected", "weak_evidence"),
        ({"score": 0.3, "urgent": True}, "needs_review", "review"),
        ({"score": 0.65, "urgent": True}, "confirmed", "urgent_hazard"),
        ({"score": 0.6}, "needs_review", "review"),
        ({"score": 0.6, "corroboration": 1}, "confirmed", "corroborated"),
    ],
)
def test_rules(over: dict[str, object], decision: str, rule: str) -> None:
    ruling = rule_on(lead(**over), CFG)
    assert (ruling.decision, ruling.rule) == (decision, rule)
    assert ruling.reason
