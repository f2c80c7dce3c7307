"""``xianban sources ...`` and ``xianban crawl`` as ops and scripts use them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawlers.sessions import SessionPool
from tests.crawlers.conftest import WIDE, xianban
from xianban.records import Post


def test_sources_list_as_json(env: dict[str, str]) -> None:
    done = xianban(env, "sources", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    (source,) = json.loads(done.stdout)
    assert source["id"] == "weibo-test" and source["politeness"]["retries"] == 2


def test_pause_resume_rerun_show_in_status(env: dict[str, str]) -> None:
    assert xianban(env, "sources", "pause", "weibo-test").returncode == 0
    (row,) = json.loads(xianban(env, "sources", "status", "--format", "json").stdout)
    assert row["paused"] is True and row["source"] == "weibo-test"
    table = xianban(env, "sources", "status")
    assert table.returncode == 0 and "已暂停" in table.stdout
    assert xianban(env, "sources", "resume", "weibo-test").returncode == 0
    rerun = xianban(env, "sources", "rerun", "weibo-test")
    assert rerun.returncode == 0 and "下一轮" in rerun.stderr
    (row,) = json.loads(xianban(env, "sources", "status", "--format", "json").stdout)
    assert row["paused"] is False and row["state"] == "queued"


@pytest.mark.parametrize(
    "args", [["crawl", "nope"], ["sources", "pause", "nope"], ["sources", "rerun", "nope"]]
)
def test_an_unknown_source_is_a_usage_error_naming_the_known_ones(
    env: dict[str, str], args: list[str]
) -> None:
    done = xianban(env, *args)
    assert done.returncode == 2
    assert "nope" in done.stderr and "weibo-test" in done.stderr


def test_crawl_prints_posts_as_jsonl_and_starts_the_simulator(env: dict[str, str]) -> None:
    done = xianban(env, "crawl", "weibo-test", "--query", WIDE, "--pages", "2")
    assert done.returncode == 0, done.stderr
    posts = [Post.model_validate_json(line) for line in done.stdout.splitlines()]
    assert len(posts) >= 10 and all(WIDE in p.text for p in posts)
    assert len({p.post_id for p in posts}) == len(posts)
    assert "模拟器" in done.stderr


def test_login_on_a_source_without_qr_login_is_a_usage_error(env: dict[str, str]) -> None:
    done = xianban(env, "sources", "login", "weibo-test")
    assert done.returncode == 2 and "不支持扫码登录" in done.stderr


def test_status_counts_the_session_pool(env: dict[str, str]) -> None:
    pool = SessionPool.for_source(Path(env["XIANBAN_DATA_DIR"]), "weibo-test")
    pool.add("a")
    pool.add("b")
    pool.retire("b", "banned")
    (row,) = json.loads(xianban(env, "sources", "status", "--format", "json").stdout)
    assert row["accounts"] == {"live": 1, "expired": 0, "banned": 1}
    assert "封禁 1" in xianban(env, "sources", "status").stdout
