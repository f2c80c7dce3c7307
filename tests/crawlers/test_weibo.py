"""The Weibo search adapter on the simulator: long posts come with their full text."""

from __future__ import annotations

from pathlib import Path

from tests.crawlers.conftest import WIDE, open_rig, task_for


async def test_long_posts_come_with_their_full_text(tmp_path: Path) -> None:
    async with open_rig(tmp_path, queries=[WIDE]) as rig:
        listed = rig.sim.corpus.search("weibo", WIDE, now=rig.sim.now())
        long_ids = {i.native_id for i in listed if len(i.text) > 60}
        assert long_ids, "the query must list posts longer than search shows"
        posts = await rig.crawl(await rig.stage(), task_for(rig))
        assert len(posts) == len(listed)
        for post in posts:
            assert "全文" not in post.text and not post.text.endswith("...")
        extended = [r for r in await rig.requests() if r["path"].endswith("/statuses/extend")]
        assert len(extended) == len(long_ids)
        longest = max(len(p.text) for p in posts if p.native_id in long_ids)
        assert longest > 60
