"""How far people reading the label guide agree with the simulator pool's own labels, beside
the shipped model on the same posts: the ceiling the sim acceptance lines can be read against.

    python scripts/pool_agreement.py           # the table, per half of the pool
    python scripts/pool_agreement.py --json    # the same numbers as JSON

Every pool post (``sim/platforms/pool/s1.jsonl``, written and labelled by one writer) was read
twice, blind, by readers given only docs/LABELS.md and each post's id, platform and text
(``sim/pool_readings/s1.jsonl``: readings ``a`` and ``b``, three readers each, every reader a
third of the pool). Each reading, and the model through ``Extractor.extract_many``, is scored
against the writer's labels as ``xianban eval`` scores (``leadfinder.scoring.Scorer``), on the
pool's originals, per half: the fixed seed's (looked at, tuned on) and the never-tuned seed's.
Only numbers are printed: the never-tuned half's per-post differences stay unread.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from leadfinder.extract import Extraction, Extractor
from leadfinder.labelled import ROOT
from leadfinder.scoring import Label, Scorer
from sim.platforms.pool_posts import FIXED_SEED, HELD_OUT_SEED, PoolPost, pool_files, read_pool
from xianban.records import Geo, Post

READINGS = ROOT / "sim" / "pool_readings" / "s1.jsonl"
KEYS = ("precision", "recall", "urgent_precision", "urgent_recall", "category")


def _label(post: PoolPost) -> Label:
    return Label(post.is_lead, post.urgent, post.category, post.also, kind=post.kind)


def _as_found(reading: dict[str, Any]) -> Extraction:
    """A reading in the shape the scorer takes; places are not read, so none is found."""
    return Extraction(
        is_lead=reading["is_lead"],
        score=float(reading["is_lead"]),
        category=reading["category"],
        urgent=reading["urgent"],
        urgency_triggers=[],
        geo=Geo(),
        reasons=[],
        features={},
    )


def _summary(scorer: Scorer) -> dict[str, float | None]:
    report = scorer.report()
    return {
        "posts": scorer.posts,
        "precision": report["is_lead"]["precision"],
        "recall": report["is_lead"]["recall"],
        "urgent_precision": report["urgent"]["precision"],
        "urgent_recall": report["urgent"]["recall"],
        "category": report["category_accuracy"],
    }


def agreement(readings_path: Path = READINGS) -> dict[str, dict[str, Any]]:
    posts = read_pool(pool_files()).posts
    readings: dict[str, dict[str, dict[str, Any]]] = {}
    for line in readings_path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        readings.setdefault(row["reading"], {})[row["id"]] = row
    extractor = Extractor.load(ROOT / "configs")
    found = extractor.extract_many(
        [Post(platform=p.platform or "unknown", native_id=p.id, text=p.text) for p in posts]
    )
    model = dict(zip((p.id for p in posts), found, strict=True))
    out: dict[str, dict[str, Any]] = {}
    for name, seed in (("fixed", FIXED_SEED), ("never_tuned", HELD_OUT_SEED)):
        half = [p for p in posts if p.held_out == (seed == HELD_OUT_SEED)]
        scorers = {who: Scorer(keep_misses=False) for who in (*sorted(readings), "model")}
        between = Scorer(keep_misses=False)
        for post in half:
            for who, reading in readings.items():
                scorers[who].add(post.id, post.text, _label(post), _as_found(reading[post.id]))
            scorers["model"].add(post.id, post.text, _label(post), model[post.id])
            first, second = (readings[r][post.id] for r in sorted(readings)[:2])
            as_label = Label(first["is_lead"], first["urgent"], first["category"],
                             tuple(first["also"]))  # fmt: skip
            between.add(post.id, post.text, as_label, _as_found(second))
        out[name] = {
            "seed": seed,
            **{f"reading_{who}": _summary(s) for who, s in scorers.items() if who != "model"},
            "model": _summary(scorers["model"]),
            "reading_b_against_a": _summary(between),
        }
    return out


def main(argv: list[str]) -> int:
    table = agreement()
    if "--json" in argv:
        print(json.dumps(table, ensure_ascii=False, indent=2))
        return 0
    print(f"{'half':12} {'against the writer':22} " + " ".join(f"{k:>8}" for k in KEYS))
    for half, rows in table.items():
        for who, row in rows.items():
            if who == "seed":
                continue
            cells = " ".join(f"{row[k]:8.3f}" if row[k] is not None else f"{'-':>8}" for k in KEYS)
            print(f"{half:12} {who:22} {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
