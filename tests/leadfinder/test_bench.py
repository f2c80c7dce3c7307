"""The bench's posts: deterministic, social-media length, mostly chatter (no timing here)."""

from __future__ import annotations

from leadfinder.commands import bench_command, bench_posts
from leadfinder.extract import EXPLAIN_FROM, Extractor
from xianban.settings import ROOT

CONFIGS = ROOT / "configs"


def test_bench_posts_are_deterministic_and_realistic() -> None:
    extractor = Extractor.load(CONFIGS)
    posts = bench_posts(extractor, 400)
    assert [p.text for p in posts] == [p.text for p in bench_posts(extractor, 400)]
    assert 80 <= sum(len(p.text) for p in posts) / len(posts) <= 140
    found = extractor.extract_many(posts)
    # Some posts reach the model's explanation (the costly path a lead's reasons take); whether
    # it files a problem told amid chatter with no place is the model's call (one in 400 was,
    # before the fourth round's retraining; none since), not the bench's.
    assert any(f.score >= EXPLAIN_FROM for f in found)
    assert sum(f.is_lead for f in found) < len(posts) / 2


def test_bench_reports_both_sides_on_the_posts_asked_for() -> None:
    result = bench_command(200, CONFIGS)
    assert result["posts"] == 200 and result["cores"] == 1
    for key in ("ours_posts_per_s", "baseline_posts_per_s", "ratio"):
        assert result[key] > 0
    assert result["us_per_post_ours"] > 0 and result["us_per_post_baseline"] > 0
