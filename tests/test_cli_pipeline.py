"""The two halves of the pipeline fit: ``xianban crawl SOURCE --pages 1 | xianban extract``
gives a result (not an error) for every post crawled, in order, as a real shell pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SOURCES = ["weibo-search", "tousu-api"]


@pytest.mark.parametrize("source", SOURCES)
def test_crawl_piped_into_extract_answers_every_post(source: str, tmp_path: Path) -> None:
    env = {**os.environ, "XIANBAN_DATA_DIR": str(tmp_path), "XIANBAN_PROGRESS": "0"}
    env.pop("XIANBAN_SIM_URL", None)
    xianban = f"{sys.executable} -m xianban"
    posts, results = tmp_path / "posts.jsonl", tmp_path / "results.jsonl"
    done = subprocess.run(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f"{xianban} crawl {source} --pages 1 | tee {posts} | {xianban} extract > {results}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    crawled = [json.loads(line) for line in posts.read_text(encoding="utf-8").splitlines()]
    answers = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert crawled, f"{source} crawled nothing: {done.stderr[-2000:]}"
    assert len(answers) == len(crawled)
    assert [a["id"] for a in answers] == [f"{p['platform']}:{p['native_id']}" for p in crawled]
    assert not [a for a in answers if "error" in a]
    assert any(a["is_lead"] for a in answers)
    assert all(p["fetched_at"].endswith("+08:00") for p in crawled)
    assert "Traceback" not in done.stderr
