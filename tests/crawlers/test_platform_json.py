"""Bilibili and Zhihu adapters on the simulator: every listed post found, fields mapped,
and a changed layout marked as such."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from crawlers.fetch import HttpFetcher
from crawlers.platforms import zhihu
from crawlers.platforms.zhihu import ZhihuSearch
from tests.crawlers.conftest import WIDE, Rig, native_ids, open_rig, task_for

PLATFORMS = {
    "bilibili": {"base_url": "{sim}/bilibili", "result_cap": 200},
    "zhihu": {"base_url": "{sim}/zhihu", "result_cap": 200},
}


def source(platform: str, query: str) -> dict[str, Any]:
    return {
        "id": f"{platform}-test",
        "adapter": platform,
        "queries": [query],
        **PLATFORMS[platform],
    }


def listed(rig: Rig, platform: str, query: str) -> list[str]:
    return sorted(i.native_id for i in rig.sim.corpus.search(platform, query, now=rig.sim.now()))


@pytest.mark.parametrize("platform", ["bilibili", "zhihu"])
async def test_every_listed_post_is_found_once_with_its_fields(
    tmp_path: Path, platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zhihu, "LIMIT", 5)  # bilibili's simulator pages hold 20
    async with open_rig(tmp_path, **source(platform, WIDE)) as rig:
        expected = listed(rig, platform, WIDE)
        assert len(expected) > (20 if platform == "bilibili" else 5), "several pages"
        posts = await rig.crawl(await rig.stage(), task_for(rig))
        assert native_ids(posts) == expected
        for post in posts:
            truth = next(
                i
                for i in rig.sim.corpus.search(platform, WIDE, now=rig.sim.now())
                if i.native_id == post.native_id
            )
            assert post.platform == platform and post.source == f"{platform}-test"
            assert post.text == truth.text
            assert post.created_at == truth.created_at
            assert "<em" not in (post.title or "")
            assert post.author.name


@pytest.mark.parametrize("platform", ["bilibili", "zhihu"])
async def test_a_layout_change_marks_the_source_and_produces_nothing(
    tmp_path: Path, platform: str
) -> None:
    async with open_rig(tmp_path, **source(platform, WIDE)) as rig:
        spec = {"platform": platform, "fault": "layout_changed", "times": None}
        (await rig.admin.post("/_admin/faults", json=spec)).raise_for_status()
        assert await rig.crawl(await rig.stage(), task_for(rig)) == []
        state = await rig.store.get_source_state(f"{platform}-test")
        assert state is not None and state.state == "layout_changed"
        row = await rig.store.get_task(task_for(rig).task_id)
        assert row is not None and row.status == "failed" and row.reason


async def test_zhihu_cursor_is_the_next_offset_and_resumes_there(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpointed cursor must not pin the host of the day it was stored."""
    monkeypatch.setattr(zhihu, "LIMIT", 5)
    adapter = ZhihuSearch()
    task = task_for(rig).model_copy(update={"query": WIDE})
    transport = httpx.ASGITransport(app=rig.app)
    async with HttpFetcher("http://sim/zhihu", transport=transport) as fetch:
        first = await adapter.page(task, None, fetch)
        assert first.next_cursor == str(len(first.posts))
        second = await adapter.page(task, first.next_cursor, fetch)
    assert first.posts and second.posts
    assert not {p.native_id for p in first.posts} & {p.native_id for p in second.posts}
