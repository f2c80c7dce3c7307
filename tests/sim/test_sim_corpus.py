from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from sim.platforms import generate
from sim.platforms.corpus import ANCHOR, PLATFORM_OF
from sim.platforms.places import DISTRICT_NAMES
from sim.platforms.pool_posts import FIXED_SEED, HELD_OUT_SEED, load_pool, read_pool
from sim.platforms.state import SimState
from xianban.records import CATEGORIES


def test_same_seed_gives_the_same_corpus() -> None:
    assert generate(11, 500).items == generate(11, 500).items


def test_another_seed_gives_another_corpus() -> None:
    assert [i.text for i in generate(11, 200).items] != [i.text for i in generate(12, 200).items]


def test_every_written_post_of_the_half_is_one_original_with_its_labels() -> None:
    pool = load_pool()
    corpus = generate(7, 10**6)
    originals = [i for i in corpus.items if i.truth.duplicate is None and i.truth.pool_id]
    written = {p.id: p for p in pool.half(7)}
    assert sorted(i.truth.pool_id or "" for i in originals) == sorted(written)
    for item in originals:
        post = written[item.truth.pool_id or ""]
        assert item.text == post.text
        assert item.platform == PLATFORM_OF.get(post.platform, item.platform)
        assert (item.truth.is_lead, item.truth.urgent, item.truth.kind) == (
            post.is_lead,
            post.urgent,
            post.kind,
        )
        assert item.truth.category == (post.category if post.is_lead else None)
        assert (item.truth.district, item.truth.street, item.truth.road) == (
            post.district,
            post.street,
            post.road,
        )
        assert item.truth.also == post.also
    for truth in (i.truth for i in corpus.items):
        assert truth.category in CATEGORIES if truth.is_lead else truth.category is None
        assert truth.district is None or truth.district in DISTRICT_NAMES


def test_the_never_tuned_seed_is_built_from_the_other_half_of_the_pool() -> None:
    fixed = {i.truth.pool_id for i in generate(FIXED_SEED, 10**6).items}
    held = {i.truth.pool_id for i in generate(HELD_OUT_SEED, 10**6).items}
    other = {i.truth.pool_id for i in generate(12, 10**6).items}
    assert fixed == other, "every seed but the never-tuned one shares the open half"
    assert not (fixed & held) - {None}
    assert (fixed | held) - {None} == {p.id for p in load_pool().posts}


def test_size_caps_the_corpus_and_a_written_post_is_never_a_second_original() -> None:
    whole = generate(7, 10**6)
    assert len(generate(7, 40).items) == 40
    assert len(generate(7, 10**7).items) == len(whole.items)
    pool_ids = [i.truth.pool_id for i in whole.items if i.truth.pool_id and not i.truth.duplicate]
    assert len(pool_ids) == len(set(pool_ids))


def test_copies_share_the_incident_and_labels_of_their_original() -> None:
    corpus = generate(7, 10**6)
    first = {
        i.truth.incident: i for i in corpus.items if i.truth.duplicate is None and i.truth.pool_id
    }
    copies = [i for i in corpus.items if i.truth.duplicate]
    assert {i.truth.duplicate for i in copies} == {"repost", "near_duplicate"}
    for copy in copies:
        original = first[copy.truth.incident]
        assert copy.created_at > original.created_at
        assert replace(copy.truth, kind=original.truth.kind, duplicate=None) == original.truth
        if copy.truth.duplicate == "near_duplicate":
            assert copy.platform != original.platform
            assert copy.text != original.text
            assert (
                copy.text.replace(",", "，")
                .replace("!", "！")
                .replace("?", "？")
                .find(original.text.replace(",", "，").replace("!", "！").replace("?", "？"))
                >= 0
            )
        else:
            assert copy.platform == original.platform == "weibo"
            assert copy.repost_of == original.native_id and "//@" in copy.text
    incidents: dict[str, set[str]] = defaultdict(set)
    for item in corpus.items:
        incidents[item.truth.incident or ""].add(item.platform)
    assert sum(len(p) >= 2 for p in incidents.values()) >= 10


def _pool_file(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "p.jsonl"
    blank: dict[str, object] = {"also": [], "category": None, "urgent": False, "district": None,
                                "street": None, "road": None, "is_lead": False}  # fmt: skip
    lines = [json.dumps(blank | row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join([*lines, '{"id": "cut-off", "text": "半行']), encoding="utf-8")
    return path


def test_filler_kinds_only_where_the_pool_lacks_them(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [
        {"id": f"x-{n}", "platform": "kuaishou", "text": f"第{n}条：今天吃了碗面", "kind": "meme"}
        for n in range(300)
    ]
    pool = read_pool([_pool_file(tmp_path, rows)])
    assert pool.skipped == 1 and len(pool.posts) == 300
    corpus = generate(7, 10**6, pool=pool)
    assert corpus.pool_skipped == 1
    fillers = {i.truth.kind for i in corpus.items if i.truth.pool_id is None}
    assert fillers == {"out_of_city", "spam"}
    assert all(
        i.platform == "douyin" for i in corpus.items if i.truth.pool_id and not i.truth.duplicate
    )
    for row in rows[:20]:
        row["kind"] = "other_city"
    for row in rows[20:40]:
        row["kind"] = "spam"
    with_both = read_pool([_pool_file(tmp_path, rows)])
    for seed in (7, HELD_OUT_SEED):
        assert all(i.truth.pool_id for i in generate(seed, 10**6, pool=with_both).items)


def test_texts_are_varied() -> None:
    corpus = generate(7, 10**6)
    originals = [i.text for i in corpus.items if not i.truth.duplicate]
    assert len(set(originals)) == len(originals)


def test_reposts_point_to_an_earlier_weibo_post() -> None:
    corpus = generate(7, 10**6)
    reposts = [i for i in corpus.items if i.repost_of]
    assert reposts
    for repost in reposts:
        original = corpus.get(repost.repost_of or "")
        assert original is not None and original.platform == "weibo"
        assert original.created_at < repost.created_at
        assert "//@" in repost.text
        assert repost.truth.is_lead == original.truth.is_lead
        assert repost.truth.incident == original.truth.incident


def test_ids_are_unique_and_times_span_the_anchor() -> None:
    corpus = generate(7, 10**6)
    assert len({i.native_id for i in corpus.items}) == len(corpus.items)
    assert any(i.created_at > ANCHOR for i in corpus.items)
    assert min(i.created_at for i in corpus.items).tzinfo is not None


def test_another_anchor_moves_every_time_and_nothing_else() -> None:
    """A live simulator anchors the world at the machine's clock: the same posts, ids and
    truth, every time moved by the same amount, and the simulator's clock starts there."""
    fixed = generate(7, 400)
    later = ANCHOR + timedelta(days=400, minutes=7)
    moved = generate(7, 400, anchor=later)
    assert moved.anchor == later and SimState(corpus=moved).now() == later
    assert [i.native_id for i in moved.items] == [i.native_id for i in fixed.items]
    assert [i.text for i in moved.items] == [i.text for i in fixed.items]
    assert {b.created_at - a.created_at for a, b in zip(fixed.items, moved.items, strict=True)} == {
        later - ANCHOR
    }
    assert [i.truth for i in moved.items] == [i.truth for i in fixed.items]


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
    "import hashlib, sys; from sim.platforms import generate; "
    "print(hashlib.sha256(repr(generate(int(sys.argv[1]), 800).items).encode()).hexdigest())"
)


@pytest.mark.parametrize("seed", [FIXED_SEED, HELD_OUT_SEED])
def test_the_corpus_is_identical_across_processes_and_hash_seeds(seed: int) -> None:
    digests = {
        subprocess.run(
            [sys.executable, "-c", DIGEST, str(seed)],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    here = hashlib.sha256(repr(generate(seed, 800).items).encode()).hexdigest()
    assert digests == {here}
