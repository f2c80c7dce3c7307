"""The Xiaohongshu adapter on the simulator's login-walled API: full text from the note
feed, the session checked first, a changed layout marked as such."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from crawlers.platforms.xhs import count
from crawlers.sessions import SessionPool
from tests.crawlers.conftest import WIDE, Rig, native_ids, open_rig, task_for

QUERY = WIDE
SOURCE = "xhs-test"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    source: dict[str, Any] = {
        "id": SOURCE,
        "adapter": "xhs",
        "base_url": "{sim}/xhs",
        "queries": [QUERY],
    }
    async with open_rig(tmp_path, **source) as opened:
        yield opened


async def login(rig: Rig) -> str:
    spec = {"platform": "xhs", "lifetime_requests": None}
    token: str = (await rig.admin.post("/_admin/sessions", json=spec)).json()["token"]
    SessionPool.for_source(rig.settings.data_dir, SOURCE).add(token)
    return token


async def test_every_note_is_found_with_its_full_text(rig: Rig) -> None:
    await login(rig)
    listed = rig.sim.corpus.search("xhs", QUERY, now=rig.sim.now())
    posts = await rig.crawl(await rig.stage(), task_for(rig))
    assert native_ids(posts) == sorted(i.native_id for i in listed)
    truth = {i.native_id: i for i in listed}
    for post in posts:
        assert post.text == truth[post.native_id].text, "the feed's desc, not the title"
        assert post.created_at == truth[post.native_id].created_at
        assert post.author.name and post.place_hints.ip_location


async def test_without_a_session_nothing_is_searched(rig: Rig) -> None:
    assert await rig.crawl(await rig.stage(), task_for(rig)) == []
    state = await rig.store.get_source_state(SOURCE)
    assert state is not None and state.state == "login_required"
    searched = [r for r in await rig.requests() if r["path"].endswith("/search/notes")]
    assert searched == []


async def test_a_layout_change_marks_the_source(rig: Rig) -> None:
    await login(rig)
    spec = {"platform": "xhs", "fault": "layout_changed", "times": None, "match": "search"}
    (await rig.admin.post("/_admin/faults", json=spec)).raise_for_status()
    assert await rig.crawl(await rig.stage(), task_for(rig)) == []
    state = await rig.store.get_source_state(SOURCE)
    assert state is not None and state.state == "layout_changed"


@pytest.mark.parametrize(("raw", "value"), [("0", 0), ("37", 37), ("1.2万", 12_000), (5, 5)])
def test_counts_read_as_numbers(raw: str | int, value: int) -> None:
    assert count(raw) == value
