"""The crawler bench runs both crawlers on the same simulator and reports comparable rates."""

from __future__ import annotations

from crawlers.bench import bench_command
from xianban.settings import Settings


def test_bench_reports_both_crawlers_on_the_same_pages() -> None:
    result = bench_command(Settings(), pages=40, concurrency=4)

    assert result["pages"] == 40
    for key in (
        "ours_pages_per_s",
        "scrapy_pages_per_s",
        "ratio",
        "ours_cpu_s_per_page",
        "scrapy_cpu_s_per_page",
    ):
        assert result[key] > 0, key
    # every page is a full search page: both parsed the same ten posts from each
    assert result["ours_posts"] == result["scrapy_posts"] == 40 * 10
