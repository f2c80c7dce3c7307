"""Agreement between a writing round's writers and its blind second readers, and the split it
decides: a post stays training text only when both readings agree.

    python scripts/second_reading.py          # print each round's agreement (Cohen's kappa)
    python scripts/second_reading.py --check  # exit 1 when a training post disagrees with its
                                              # reading or a disputed post agrees with it

Rounds four to nine were read twice. Three to seven readers per round (in the eighth and
ninth one per writer's file), each given a share of the posts (id, platform, text only) and
docs/LABELS.md, labelled is_lead, urgent, category and also without seeing the writer's
labels (corpus/second_reading/). The first three rounds (t1-t8, written before second
readings began) had their leads read the same way afterwards ("first_rounds"): urgency and
the category are where readings part, and a lead read as no lead is disputed too; their
negatives were not read. Two readings agree when is_lead is the same and, for a lead, urgent
is the same and each primary category is acceptable to the other reading (its category or
its `also`). Disagreements are not adjudicated: they leave training for corpus/disputed/,
each with its second reading, because neither reading can be preferred without a third.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Collection, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from leadfinder.labelled import ROOT

ROUNDS = (
    "first_rounds",
    "fourth_round",
    "fifth_round",
    "sixth_round",
    "seventh_round",
    "eighth_round",
    "ninth_round",
)
TRAIN = ROOT / "corpus" / "train"


def _readings(round_: str) -> Path:
    return ROOT / "corpus" / "second_reading" / f"{round_}.jsonl"


def _disputed(round_: str) -> Path:
    return ROOT / "corpus" / "disputed" / f"{round_}.jsonl"


def _excluded(round_: str) -> dict[str, dict[str, Any]]:
    """Posts read twice but kept out of training for another reason (each row says which:
    a run shared with the simulator's pool, which must stay a test)."""
    path = ROOT / "corpus" / "excluded" / f"{round_}.jsonl"
    return _rows(path) if path.exists() else {}


def _rows(path: Path) -> dict[str, dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return {row["id"]: row for row in map(json.loads, lines)}


def agree(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    if first["is_lead"] != second["is_lead"]:
        return False
    if not first["is_lead"]:
        return True
    if first["urgent"] != second["urgent"]:
        return False
    return second["category"] in {first["category"], *first["also"]} or first["category"] in {
        second["category"],
        *second["also"],
    }


def kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa: agreement beyond what the two readings' label rates give by chance."""
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    chance = sum(ca[k] * cb[k] for k in ca) / (n * n)
    return (observed - chance) / (1 - chance) if chance < 1 else 1.0


def written(round_: str, read: Collection[str]) -> dict[str, dict[str, Any]]:
    """A round's posts (``read``: their ids) as their writers labelled them: still
    training, disputed or excluded."""
    rows = _rows(_disputed(round_)) | _excluded(round_)
    for path in sorted(TRAIN.glob("*.jsonl")):
        rows |= {i: row for i, row in _rows(path).items() if i in read}
    return rows


def report(round_: str) -> dict[str, Any]:
    readings = _rows(_readings(round_))
    posts = written(round_, readings.keys())
    ids = sorted(readings)
    leads = [i for i in ids if posts[i]["is_lead"] and readings[i]["is_lead"]]
    written_lead = [posts[i]["is_lead"] for i in ids]
    read_lead = [readings[i]["is_lead"] for i in ids]
    return {
        "posts": len(ids),
        "is_lead": {
            # None where only the writers' leads were read: one class on one side has no kappa.
            "kappa": round(kappa(written_lead, read_lead), 3)
            if len(set(written_lead)) > 1
            else None,
            "agreement": round(
                sum(a == b for a, b in zip(written_lead, read_lead, strict=True)) / len(ids), 3
            ),
        },
        "urgent_where_both_read_a_lead": {
            "kappa": round(
                kappa([posts[i]["urgent"] for i in leads], [readings[i]["urgent"] for i in leads]),
                3,
            ),
            "writer_only": sum(posts[i]["urgent"] and not readings[i]["urgent"] for i in leads),
            "reader_only": sum(readings[i]["urgent"] and not posts[i]["urgent"] for i in leads),
        },
        "category_where_both_read_a_lead": {
            "same_primary": round(
                sum(posts[i]["category"] == readings[i]["category"] for i in leads) / len(leads), 3
            ),
            "acceptable_to_both": round(
                sum(
                    agree({**posts[i], "urgent": False}, {**readings[i], "urgent": False})
                    for i in leads
                )
                / len(leads),
                3,
            ),
        },
        "disputed": sum(not agree(posts[i], readings[i]) for i in ids),
    }


def misplaced(round_: str) -> list[str]:
    """Ids on the wrong side of the split: training that disagrees, or disputed that agrees."""
    readings = _rows(_readings(round_))
    disputed = set(_rows(_disputed(round_)))
    posts = written(round_, readings.keys())
    if set(posts) != set(readings):
        return sorted(set(posts) ^ set(readings))
    return sorted(i for i in readings if agree(posts[i], readings[i]) == (i in disputed))


def main(argv: list[str]) -> int:
    rounds = [r for r in ROUNDS if _readings(r).exists()]
    if "--check" in argv:
        wrong = [(r, i) for r in rounds for i in misplaced(r)]
        for round_, post_id in wrong:
            print(f"{post_id}: on the wrong side of the {round_} second reading's split")
        return 1 if wrong else 0
    print(json.dumps({r: report(r) for r in rounds}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
