"""Check labelled posts against the label guide's schema, and against the calibration set.

    python scripts/check_corpus.py corpus/train/w1.jsonl [...]

Prints, per file, every line that breaks the schema (with the reason), the counts a
datasheet needs (leads, urgent, negatives, categories, districts, platforms, kinds,
lengths), and the ids of posts that share a long run of characters with a calibration
post (a near copy). It never prints calibration text. Exit 1 when anything is wrong.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from leadfinder.labelled import (
    CALIBRATION,
    ROOT,
    LeakIndex,
    check_row,
    flat,
    read_examples,
    streets_by_district,
)

TRAIN = ROOT / "corpus" / "train"
POOL = ROOT / "sim" / "platforms" / "pool"


def main(paths: list[str]) -> int:
    streets = streets_by_district()
    calibration = LeakIndex(read_examples(CALIBRATION) if CALIBRATION.exists() else [])
    # Training text and the simulator's pool are kept apart both ways, so each side is
    # checked against the other (only ids are printed, never the other side's text).
    pool = LeakIndex(e for p in sorted(POOL.glob("*.jsonl")) for e in read_examples(p))
    training = LeakIndex(e for p in sorted(TRAIN.glob("*.jsonl")) for e in read_examples(p))
    bad = 0
    seen_ids: set[str] = set()
    seen_texts: dict[str, str] = {}
    for path in paths:
        rows = []
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"{path}:{number}: bad JSON: {exc}")
                bad += 1
                continue
            errors = check_row(row, streets)
            if isinstance(row, dict) and row.get("id") in seen_ids:
                errors.append(f"duplicate id {row.get('id')}")
            if isinstance(row, dict):
                seen_ids.add(str(row.get("id")))
                text = flat(str(row.get("text", "")))
                if text in seen_texts:
                    errors.append(f"same text as {seen_texts[text]}")
                seen_texts.setdefault(text, str(row.get("id")))
            for error in errors:
                print(f"{path}:{number}: {error}")
            bad += bool(errors)
            if not errors:
                rows.append(row)
            if isinstance(row, dict) and isinstance(row.get("text"), str):
                text = row["text"]
                if calibration.copies(text):
                    print(f"{path}:{number}: near copy of a calibration post")
                    bad += 1
                # Any file not in the pool is training text in the making (writers work in a
                # folder of their round before the second reading moves posts into train/).
                other = training if Path(path).resolve().parent == POOL else pool
                if other.copies(text):
                    side = "simulator pool" if other is pool else "training"
                    print(f"{path}:{number}: shares a 12-character run with a {side} post")
                    bad += 1
        leads = [r for r in rows if r["is_lead"]]
        lengths = sorted(len(r["text"]) for r in rows) or [0]
        print(f"== {path}: {len(rows)} valid posts")
        print(f"   leads {len(leads)}, urgent {sum(r['urgent'] for r in rows)}, "
              f"negatives {len(rows) - len(leads)}")  # fmt: skip
        print(f"   length min {lengths[0]} median {lengths[len(lengths) // 2]} max {lengths[-1]}")
        print(f"   categories {dict(Counter(r['category'] for r in leads).most_common())}")
        print(f"   districts {dict(Counter(r['district'] for r in rows).most_common())}")
        print(f"   platforms {dict(Counter(r['platform'] for r in rows).most_common())}")
        print(f"   kinds {dict(Counter(r['kind'] for r in rows).most_common())}")
    print(f"{bad} bad lines" if bad else "all lines valid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
