"""``xianban report weekly`` on the store a ``run --once`` leaves: the funnel is the store."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import func, select

from xianban.embedded import run_once
from xianban.settings import Settings
from xianban.store import Store
from xianban.store.tables import Verdicts


async def _confirmed_clusters(store: Store) -> int:
    """Counted here without the report's queries: clusters whose latest verdict confirms."""
    latest = select(func.max(Verdicts.seq).label("seq")).group_by(Verdicts.cluster_id).subquery()
    query = (
        select(func.count())
        .select_from(Verdicts)
        .join(latest, Verdicts.seq == latest.c.seq)
        .where(Verdicts.decision == "confirmed")
    )
    async with store._tx() as conn:
        return int(await conn.scalar(query) or 0)


async def test_the_weekly_briefing_of_a_run_once_counts_what_the_store_holds(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, retry_backoff_s=0.01, poll_timeout_s=0.1)
    summary = await run_once(settings)
    assert summary["cases"] > 0, summary
    out = tmp_path / "briefings"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "xianban", "report", "weekly", "--format", "html", "--out", str(out),
        env={**os.environ, "XIANBAN_DATA_DIR": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, stderr.decode()
    [path] = json.loads(stdout)["files"]
    html = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    tree = LexborHTMLParser(html)
    shown = {
        row.attributes["data-row"]: row.css("td")[1].text().strip()
        for row in tree.css("#funnel tr[data-row]")
    }
    store = await Store.open(settings.db_url)
    try:
        counts = await store.counts()
        confirmed = await _confirmed_clusters(store)
    finally:
        await store.close()
    assert shown["posts"] == str(counts["posts"])
    assert shown["leads"] == str(counts["leads"])
    assert shown["verified"] == str(confirmed)
    assert shown["cases"] == str(counts["cases"])
    assert counts["cases"] == summary["store"]["cases"] > 0
