from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import defaultdict

import pytest

from sim.platforms import generate
from sim.platforms.corpus import ANCHOR
from sim.platforms.places import DISTRICT_NAMES
from xianban.records import CATEGORIES


def test_same_seed_gives_the_same_corpus() -> None:
    assert generate(11, 500).items == generate(11, 500).items


def test_another_seed_gives_another_corpus() -> None:
    assert [i.text for i in generate(11, 200).items] != [i.text for i in generate(12, 200).items]


def test_corpus_covers_every_category_district_and_kind() -> None:
    corpus = generate(7, 3000)
    problems = [i.truth for i in corpus.items if i.truth.is_problem]
    assert {t.category for t in problems} == set(CATEGORIES)
    assert {t.district for t in problems} == set(DISTRICT_NAMES)
    assert any(t.urgent for t in problems) and not all(t.urgent for t in problems)
    kinds = {i.truth.kind for i in corpus.items}
    assert kinds >= {
        "problem",
        "chatter",
        "praise",
        "ad",
        "spam",
        "rental",
        "out_of_city",
        "repost",
    }


def test_non_problems_carry_no_district_and_out_of_city_is_not_a_problem() -> None:
    corpus = generate(7, 3000)
    for item in corpus.items:
        if item.truth.kind in ("chatter", "ad", "spam", "rental", "praise", "out_of_city"):
            assert not item.truth.is_problem
            assert item.truth.district is None
    assert all(
        any(city in i.text for city in ("广州", "东莞", "惠州", "佛山", "香港"))
        for i in corpus.items
        if i.truth.kind == "out_of_city"
    )


def test_the_same_incident_is_reported_on_several_platforms() -> None:
    corpus = generate(7, 3000)
    platforms: dict[str, set[str]] = defaultdict(set)
    for item in corpus.items:
        if item.truth.kind == "problem" and item.truth.incident:
            platforms[item.truth.incident].add(item.platform)
    assert sum(len(p) >= 2 for p in platforms.values()) >= 50


def test_texts_are_varied() -> None:
    corpus = generate(7, 3000)
    assert len({i.text for i in corpus.items}) >= 2500


def test_reposts_point_to_an_earlier_weibo_post() -> None:
    corpus = generate(7, 3000)
    reposts = [i for i in corpus.items if i.repost_of]
    assert reposts
    for repost in reposts:
        original = corpus.get(repost.repost_of or "")
        assert original is not None and original.platform == "weibo"
        assert original.created_at < repost.created_at
        assert "//@" in repost.text
        assert repost.truth.is_problem == original.truth.is_problem


def test_ids_are_unique_and_times_span_the_anchor() -> None:
    corpus = generate(7, 3000)
    assert len({i.native_id for i in corpus.items}) == len(corpus.items)
    assert any(i.created_at > ANCHOR for i in corpus.items)
    assert min(i.created_at for i in corpus.items).tzinfo is not None


def test_truth_of_an_unknown_id_names_it() -> None:
    with pytest.raises(KeyError, match="nope"):
        generate(7, 50).truth("nope")


def test_truth_by_the_pipeline_post_id() -> None:
    corpus = generate(7, 300)
    item = corpus.items[0]
    assert corpus.truth(f"{item.platform}:{item.native_id}") == corpus.truth(item.native_id)
    other = next(p for p in ("weibo", "forum") if p != item.platform)
    with pytest.raises(KeyError):
        corpus.truth(f"{other}:{item.native_id}")


DIGEST = (
    "import hashlib; from sim.platforms import generate; "
    "print(hashlib.sha256(repr(generate(7, 800).items).encode()).hexdigest())"
)


def test_the_corpus_is_identical_across_processes_and_hash_seeds() -> None:
    digests = {
        subprocess.run(
            [sys.executable, "-c", DIGEST],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    here = hashlib.sha256(repr(generate(7, 800).items).encode()).hexdigest()
    assert digests == {here}
