"""The written pool the simulator serves: labelled to the guide, and apart from both the
calibration set and the training corpus (a near copy would make the simulator's truth
measure what was learnt or tuned, not the leadfinder)."""

from __future__ import annotations

import json
from pathlib import Path

from leadfinder.labelled import (
    CALIBRATION,
    Example,
    LeakIndex,
    check_row,
    read_examples,
    streets_by_district,
)
from sim.platforms.pool_posts import HELD_OUT_SEED, load_pool, pool_files
from tests.services import require_service

ROOT = Path(__file__).resolve().parents[2]
TRAINING = sorted((ROOT / "corpus" / "train").glob("*.jsonl"))


def test_the_pool_ships_as_package_data_and_is_not_empty() -> None:
    files = pool_files()
    assert files and all(f.parent.name == "pool" and f.suffix == ".jsonl" for f in files)
    pool = load_pool()
    assert len(pool.posts) >= 100
    assert pool.half(7) and pool.half(HELD_OUT_SEED)
    assert not {p.id for p in pool.half(7)} & {p.id for p in pool.half(HELD_OUT_SEED)}


def test_every_complete_pool_line_follows_the_label_schema() -> None:
    streets = streets_by_district()
    problems = []
    for path in pool_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    continue  # the writer's line being appended right now
                raise
            problems += [f"{path.name}:{number}: {e}" for e in check_row(row, streets)]
    assert problems == []


def test_no_pool_post_is_a_near_copy_of_a_calibration_post() -> None:
    require_service("the calibration set", CALIBRATION.exists(), str(CALIBRATION))
    index = LeakIndex(read_examples(CALIBRATION))
    leaks = {p.id: len(index.copies(p.text)) for p in load_pool().posts if index.copies(p.text)}
    assert leaks == {}, "pool posts sharing a 12-character run with a calibration post"


def _texts(path: Path) -> list[Example]:
    """Id and text of every complete line (writers append to these files as we read)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        out.append(Example(str(row["id"]), "", str(row["text"]), False, False, None, (),
                           None, None, None, None))  # fmt: skip
    return out


def test_no_pool_post_is_a_near_copy_of_a_training_post() -> None:
    require_service("the training corpus", bool(TRAINING), str(ROOT / "corpus" / "train"))
    index = LeakIndex(e for path in TRAINING for e in _texts(path))
    leaks = {p.id: sorted(index.copies(p.text))[:3] for p in load_pool().posts}
    assert {k: v for k, v in leaks.items() if v} == {}


def test_every_pool_post_was_read_twice_blind_by_the_guide() -> None:
    """scripts/pool_agreement.py reads each post's two readings against the writer's labels:
    a post read once, or a reading in codes the guide does not have, would skew the ceiling."""
    from xianban.records import CATEGORIES

    readings = [
        json.loads(line)
        for line in (ROOT / "sim" / "pool_readings" / "s1.jsonl").read_text("utf-8").splitlines()
    ]
    ids = {p.id for p in load_pool().posts}
    by_post: dict[str, set[str]] = {}
    for row in readings:
        by_post.setdefault(row["id"], set()).add(row["reading"])
        if row["is_lead"]:
            assert row["category"] in CATEGORIES and set(row["also"]) <= set(CATEGORIES), row
        else:
            assert (row["urgent"], row["category"], row["also"]) == (False, None, []), row
    assert set(by_post) == ids
    assert all(r == {"a", "b"} for r in by_post.values())
    assert len(readings) == 2 * len(ids)
