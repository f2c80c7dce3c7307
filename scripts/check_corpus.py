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

import yaml

from leadfinder.labelled import CALIBRATION, ROOT, flat, shingles
from xianban.records import CATEGORIES as ALL_CATEGORIES

CATEGORIES = set(ALL_CATEGORIES)
FIELDS = {"id", "platform", "text", "is_lead", "category", "also", "urgent", "district",
          "street", "road", "kind"}  # fmt: skip


def streets_by_district() -> dict[str, set[str]]:
    data = yaml.safe_load((ROOT / "configs/gazetteer/shenzhen.yaml").read_text(encoding="utf-8"))
    return {d: {f"{s}街道" for s in spec["streets"]} for d, spec in data["districts"].items()}


def check_row(row: object, streets: dict[str, set[str]]) -> list[str]:
    if not isinstance(row, dict):
        return ["not a JSON object"]
    errors = [f"missing {f}" for f in sorted(FIELDS - set(row))]
    errors += [f"unknown field {f}" for f in sorted(set(row) - FIELDS)]
    if errors:
        return errors
    if not isinstance(row["text"], str) or not row["text"].strip():
        errors.append("empty text")
    if not isinstance(row["is_lead"], bool) or not isinstance(row["urgent"], bool):
        errors.append("is_lead and urgent must be true/false")
    if row["is_lead"]:
        if row["category"] not in CATEGORIES:
            errors.append(f"lead needs one of the 18 category codes, got {row['category']!r}")
    elif row["category"] is not None or row["urgent"]:
        errors.append("a negative has category null and urgent false")
    also = row["also"]
    if not isinstance(also, list) or any(a not in CATEGORIES for a in also):
        errors.append(f"also must list category codes, got {also!r}")
    district, street = row["district"], row["street"]
    if district is not None and district not in streets:
        errors.append(f"unknown district {district!r}")
    if street is not None:
        if district is None:
            errors.append("street without district")
        elif street not in streets.get(district, set()):
            errors.append(f"{street!r} is not a street of {district!r}")
    if not isinstance(row["kind"], str) or not row["kind"]:
        errors.append("kind must name what makes the post hard")
    return errors


def main(paths: list[str]) -> int:
    streets = streets_by_district()
    calibration: dict[str, str] = {}
    if CALIBRATION.exists():
        for line in CALIBRATION.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for s in shingles(row["text"]):
                calibration.setdefault(s, row["id"])
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
                hits = {calibration[s] for s in shingles(row["text"]) if s in calibration}
                if hits:
                    print(f"{path}:{number}: near copy of a calibration post ({len(hits)})")
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
