"""The training corpus: valid to the label guide, big and hard enough, and no calibration leak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leadfinder.labelled import (
    CALIBRATION,
    Example,
    LeakIndex,
    check_row,
    read_examples,
    streets_by_district,
)
from tests.services import require_service
from xianban.records import CATEGORIES

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "corpus" / "train").glob("*.jsonl"))
DISTRICTS = (
    "福田区",
    "罗湖区",
    "南山区",
    "盐田区",
    "宝安区",
    "龙岗区",
    "龙华区",
    "坪山区",
    "光明区",
    "大鹏新区",
)


def _examples() -> list[Example]:
    return [e for path in CORPUS for e in read_examples(path)]


def test_every_line_follows_the_label_schema() -> None:
    streets = streets_by_district()
    problems = []
    for path in CORPUS:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            problems += [f"{path.name}:{number}: {e}" for e in check_row(json.loads(line), streets)]
    assert problems == []


def test_the_corpus_is_as_big_and_as_hard_as_the_issue_asks() -> None:
    examples = _examples()
    negatives = [e for e in examples if not e.is_lead]
    assert len(examples) >= 6000
    assert len(negatives) / len(examples) >= 0.40
    assert sum(e.urgent for e in examples) >= 1500
    assert {e.category for e in examples if e.is_lead} == set(CATEGORIES)
    assert {e.district for e in examples} >= set(DISTRICTS)
    assert min(len(e.text) for e in examples) <= 12 and max(len(e.text) for e in examples) >= 300
    assert len({e.platform for e in examples}) >= 10


def test_ids_and_texts_are_unique() -> None:
    examples = _examples()
    assert len({e.id for e in examples}) == len(examples)
    assert len({e.text for e in examples}) == len(examples)


def test_no_post_is_a_near_copy_of_a_calibration_post() -> None:
    require_service("the calibration set", CALIBRATION.exists(), str(CALIBRATION))
    index = LeakIndex(read_examples(CALIBRATION))
    leaks = {e.id: sorted(index.copies(e.text)) for e in _examples() if index.copies(e.text)}
    assert leaks == {}


def test_the_leak_check_catches_a_lightly_edited_copy() -> None:
    require_service("the calibration set", CALIBRATION.exists(), str(CALIBRATION))
    original = read_examples(CALIBRATION)[7]
    edited = "转发一下：" + original.text.replace("，", " ").replace("。", "!!") + " #深圳#"
    assert original.id in LeakIndex([original]).copies(edited)


def test_the_datasheet_counts_are_the_files_counts() -> None:
    from scripts.datasheet import render  # the generator the datasheet was written by

    assert render() == (ROOT / "corpus" / "DATASHEET.md").read_text(encoding="utf-8"), (
        "run python scripts/datasheet.py"
    )


FIRST_ROUND = [p for p in CORPUS if p.stem in {"t1", "t2", "t3", "t4"}]


@pytest.mark.parametrize("path", FIRST_ROUND, ids=lambda p: p.name)
def test_each_first_round_writer_covers_every_category(path: Path) -> None:
    """(The second round, t5 and t6, writes the boundary categories only; see BRIEF.md.)"""
    assert {e.category for e in read_examples(path) if e.is_lead} == set(CATEGORIES)


@pytest.mark.parametrize(
    ("round_", "posts"),
    [
        ("first_rounds", 5000),
        ("fourth_round", 2700),
        ("fifth_round", 2410),
        ("sixth_round", 2260),
        ("seventh_round", 1380),
        ("eighth_round", 2100),
        ("ninth_round", 1800),
        ("tenth_round", 1200),
        ("eleventh_round", 3600),
        ("twelfth_round", 2700),
        ("thirteenth_round", 2100),
        ("fourteenth_round", 2400),
        ("fifteenth_round", 900),
    ],
)
def test_twice_read_rounds_keep_only_posts_both_readings_agree_on(round_: str, posts: int) -> None:
    from scripts.second_reading import misplaced, report

    assert misplaced(round_) == [], "run python scripts/second_reading.py --check"
    agreement = report(round_)
    assert agreement["posts"] == posts
    # The guide's lead line reads the same to two (the first rounds had only their leads read:
    # one class on the writers' side, so agreement instead of kappa).
    assert agreement["is_lead"]["agreement"] >= 0.98
    assert agreement["is_lead"]["kappa"] is None or agreement["is_lead"]["kappa"] >= 0.9
