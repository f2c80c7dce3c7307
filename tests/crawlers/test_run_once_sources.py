"""``run --once`` crawls every enabled source: posts per source, comments among them, and
no source silently empty — on a fresh store, and on a second run (nothing new, still
listed)."""

from __future__ import annotations

from pathlib import Path

from crawlers.sources import load_sources
from crawlers.summary import Tally, crawl_summary
from xianban.embedded import run_once
from xianban.settings import Settings

CONFIGS = Path(__file__).parents[2] / "configs"


def test_the_summary_names_empty_and_failed_sources() -> None:
    sources = {k: v for k, v in list(load_sources(CONFIGS).items())[:3]}
    first, second, third = sources
    tally = {first: Tally(), second: Tally()}
    tally[first].add(state="ok", posts=3, comments=1, listed=5, pages=1)
    tally[second].add(state="ok", listed=0)
    summary = crawl_summary(tally, sources)
    assert summary["per_source"][first] | {"name": ""} == {
        "name": "",
        "posts": 3,
        "comments": 1,
        "listed": 5,
        "pages": 1,
        "tasks": 1,
        "state": "ok",
        "label": "正常",
    }
    assert summary["empty_sources"] == [second, third]
    assert summary["per_source"][third]["label"] == "未运行"
    tally[second].add(state="captcha")
    assert crawl_summary(tally, sources)["failed_sources"] == {second: "验证码"}


async def test_run_once_every_enabled_source_listed_posts(tmp_path: Path) -> None:
    summary = await run_once(Settings(data_dir=tmp_path, retry_backoff_s=0.01, poll_timeout_s=0.1))
    crawled = summary["sources"]
    enabled = [s.id for s in load_sources(CONFIGS).values() if s.enabled]
    assert len(enabled) >= 42 and sorted(crawled["per_source"]) == sorted(enabled)
    assert crawled["empty_sources"] == [] and crawled["failed_sources"] == {}
    for source_id, row in crawled["per_source"].items():
        assert row["posts"] > 0 and row["state"] == "ok", (source_id, row)
    assert crawled["comments"] > 0 and crawled["posts"] == summary["produced"]["posts"]
