"""The bench's posts: deterministic, social-media length, mostly chatter (no timing here)."""

from __future__ import annotations

from leadfinder.commands import bench_command, bench_posts
from leadfinder.extract import Extractor
from xianban.settings import ROOT

CONFIGS = ROOT / "configs"


def test_bench_posts_are_deterministic_and_realistic() -> None:
    extractor = Extractor.load(CONFIGS)
    posts = bench_posts(extractor, 400)
    assert [p.text for p in posts] == [p.text for p in bench_posts(extractor, 400)]
    assert 80 <= sum(len(p.text) for p in posts) / len(posts) <= 140
    leads = sum(extractor.extract(p).is_lead for p in posts)
    assert 0 < leads < len(posts) / 2


def test_bench_reports_both_sides_on_the_posts_asked_for() -> None:
    result = bench_command(200, CONFIGS)
    assert result["posts"] == 200 and result["cores"] == 1
    for key in ("ours_posts_per_s", "baseline_posts_per_s", "ratio"):
        assert result[key] > 0
    assert result["us_per_post_ours"] > 0 and result["us_per_post_baseline"] > 0
