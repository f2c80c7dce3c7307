"""Agreement between a writing round's writers and its blind second readers, and the split it
decides: a post stays training text only when both readings agree.

    python scripts/second_reading.py          # print each round's agreement (Cohen's kappa)
    python scripts/second_reading.py --check  # exit 1 when a training post disagrees with its
                                              # reading or a disputed post agrees with it

Rounds four to fifteen were read twice. Three to seven readers per round (in the eighth to
fifteenth one per writer's file), each given a share of the posts (id, platform, text only) and
docs/LABELS.md, labelled is_lead, urgent, category and also without seeing the writer's
labels (corpus/second_reading/). The first three rounds (t1-t8, written before second
readings began) had their leads read the same way afterwards ("first_rounds"): urgency and
the category are where readings part, and a lead read as no lead is disputed too; their
negatives were not read. Two readings agree when is_lead is the same and, for a lead, urgent
is the same and each primary category is acceptable to the other reading (its category or
its `also`). A post the two readings part on leaves training for corpus/disputed/, with its
second reading, because neither can be preferred without a third.

Every disputed post was then read a third time, the same way, by readers who saw neither
earlier reading (corpus/third_reading/: the third reading, and under "written" the writer's
labels as they were). Two of three decide: a post whose third reading agrees with its
writer's labels goes back to training as written; one whose third reading agrees with the
second reading goes back with the second reading's labels (is_lead, urgent, category,
also; the writer's places); one whose three readings all part stays disputed.

"Training" is corpus/train/ or corpus/pending/: posts the readings keep wait in pending/
until a model trained with them passes the held-out-writer rule.
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
    "tenth_round",
    "eleventh_round",
    "twelfth_round",
    "thirteenth_round",
    "fourteenth_round",
    "fifteenth_round",
)
TRAIN = ROOT / "corpus" / "train"
PENDING = ROOT / "corpus" / "pending"
"""Posts the readings keep that the shipped model was not trained on yet: they join
corpus/train/ with the next model the held-out-writer rule keeps (docs/leadfinder-model.md)."""


def _kept_files() -> list[Path]:
    return sorted(TRAIN.glob("*.jsonl")) + sorted(PENDING.glob("*.jsonl"))


def _readings(round_: str) -> Path:
    return ROOT / "corpus" / "second_reading" / f"{round_}.jsonl"


def _disputed(round_: str) -> Path:
    return ROOT / "corpus" / "disputed" / f"{round_}.jsonl"


def _third(round_: str) -> dict[str, dict[str, Any]]:
    path = ROOT / "corpus" / "third_reading" / f"{round_}.jsonl"
    return _rows(path) if path.exists() else {}


LABELS = ("is_lead", "urgent", "category", "also")


def settle(
    written: Mapping[str, Any], second: Mapping[str, Any], third: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The labels two of the three readings agree on (the writer's first), or None."""
    for reading in (written, second):
        if agree(reading, third):
            return {k: reading[k] for k in LABELS}
    return None


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
    for path in _kept_files():
        rows |= {i: row for i, row in _rows(path).items() if i in read}
    for i, third in _third(round_).items():
        rows[i] = {**rows[i], **third["written"]}
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
        "third_reading": _settled(posts, readings, _third(round_)),
    }


def _settled(
    posts: Mapping[str, Mapping[str, Any]],
    readings: Mapping[str, Mapping[str, Any]],
    thirds: Mapping[str, Mapping[str, Any]],
) -> dict[str, int]:
    """How the third reading settled a round's disputed posts."""
    out = {"read": len(thirds), "as_written": 0, "as_second_reading": 0, "still_disputed": 0}
    for i, third in thirds.items():
        if agree(posts[i], third):
            out["as_written"] += 1
        elif agree(readings[i], third):
            out["as_second_reading"] += 1
        else:
            out["still_disputed"] += 1
    return out


def misplaced(round_: str) -> list[str]:
    """Ids on the wrong side of the split (training that two readings do not back, disputed
    that two do), or back in training with labels other than the ones two readings agree on."""
    readings = _rows(_readings(round_))
    disputed = _rows(_disputed(round_))
    thirds = _third(round_)
    kept = _kept() if thirds else {}
    posts = written(round_, readings.keys())
    if set(posts) != set(readings) or not set(thirds) <= set(readings):
        return sorted(set(posts) ^ set(readings) | set(thirds) - set(readings))
    wrong = []
    for i, second in readings.items():
        if agree(posts[i], second):
            wrong += [i] if i in disputed or i in thirds else []
        elif i not in thirds:
            wrong += [i] if i not in disputed else []
        else:
            settled = settle(posts[i], second, thirds[i])
            if settled is None:
                wrong += [i] if i not in disputed else []
            elif i in disputed or settled != {k: kept.get(i, {}).get(k) for k in LABELS}:
                wrong.append(i)
    return sorted(wrong)


def _kept() -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for path in _kept_files():
        rows |= _rows(path)
    return rows


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
