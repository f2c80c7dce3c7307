"""The crawler bench runs ours, the bare aiohttp loop and Scrapy on the same static pages
and reports comparable rates."""

from __future__ import annotations

from crawlers.bench import bench_command
from xianban.settings import Settings


def test_bench_reports_three_crawlers_on_the_same_pages() -> None:
    result = bench_command(Settings(), pages=40, concurrency=4)

    assert result["pages"] == 40
    for name in ("ours", "bare_aiohttp", "scrapy"):
        assert result[f"{name}_pages_per_s"] > 0, name
        assert result[f"{name}_cpu_ms_per_page"] > 0, name
        # every page is a full search page: each parsed the same ten posts from each
        assert result[f"{name}_posts"] == 40 * 10, name
    assert result["ours_vs_bare"] > 0 and result["ours_vs_scrapy"] > 0
