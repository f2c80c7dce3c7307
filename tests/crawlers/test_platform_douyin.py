"""The Douyin adapter signs the search XHR itself: every listed video found without a
browser, and a refused signature reported as what it is (签名失效), not a layout change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawlers.errors import SignatureRejected
from crawlers.fetch import HttpFetcher
from crawlers.platforms.douyin import DouyinSearch, fnv1a
from sim.platforms.douyin import fnv1a as sim_fnv1a
from tests.crawlers.conftest import WIDE, Rig, native_ids, open_rig, task_for

QUERY = WIDE


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    source: dict[str, Any] = {"id": "douyin-test", "adapter": "douyin", "base_url": "{sim}/douyin"}
    async with open_rig(tmp_path, queries=[QUERY], **source) as opened:
        yield opened


async def test_every_listed_video_is_found_with_its_fields(rig: Rig) -> None:
    listed = rig.sim.corpus.search("douyin", QUERY, now=rig.sim.now())
    assert len(listed) > 10, "the query must need the signed XHR past the first page"
    posts = await rig.crawl(await rig.stage(), task_for(rig))
    assert native_ids(posts) == sorted(i.native_id for i in listed)
    truth = {i.native_id: i for i in listed}
    for post in posts:
        item = truth[post.native_id]
        assert post.text == item.text and post.created_at == item.created_at
        assert post.place_hints.poi == item.poi
    xhr = [r for r in await rig.requests() if "/search/single/" in r["path"]]
    assert xhr and all(r["status"] == 200 for r in xhr)


async def test_a_refused_signature_is_its_own_state(rig: Rig) -> None:
    task = task_for(rig).model_copy(update={"query": QUERY})
    transport = httpx.ASGITransport(app=rig.app)
    async with HttpFetcher("http://sim/douyin", transport=transport) as fetch:
        first = await DouyinSearch().page(task, None, fetch)
        assert first.next_cursor is not None
        offset, _, _ = first.next_cursor.partition(":")
        with pytest.raises(SignatureRejected, match="signature"):
            await DouyinSearch().page(task, f"{offset}:not-the-token", fetch)


@pytest.mark.parametrize("text", ["", "深圳|0|abc", "路灯|10|ffff0000"])
def test_the_signature_matches_the_page_script(text: str) -> None:
    assert fnv1a(text) == sim_fnv1a(text)
