"""The generic HTML list + detail adapter on config-only sources against the simulated forum."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.platforms.forum import board_of
from tests.crawlers.conftest import Rig, native_ids, open_rig, task_for

CONFIG = Path(__file__).parents[2] / "configs" / "sources.yaml"
BOARDS = {"szforum-minsheng": 2, "szforum-life": 36}


def shipped(source_id: str) -> dict[str, Any]:
    """The shipped config's source, so the test proves the YAML entry itself."""
    sources = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["sources"]
    (source,) = [s for s in sources if s["id"] == source_id]
    source = {k: v for k, v in source.items() if k != "interval_s"}
    return {**source, "queries": [""], "politeness": {"rate_per_s": 0, "retries": 2}}


def board(rig: Rig, source_id: str) -> list[Any]:
    fid = BOARDS[source_id]
    return [i for i in rig.sim.corpus.search("forum", now=rig.sim.now()) if board_of(i) == fid]


async def forum_fault(rig: Rig, fault: str) -> None:
    spec: dict[str, Any] = {"platform": "forum", "fault": fault, "times": None, "params": {}}
    (await rig.admin.post("/_admin/faults", json=spec)).raise_for_status()


@pytest.mark.parametrize("source_id", sorted(BOARDS))
async def test_a_config_only_forum_source_reads_every_thread_of_its_board(
    tmp_path: Path, source_id: str
) -> None:
    async with open_rig(tmp_path, **shipped(source_id)) as rig:
        posts = await rig.crawl(await rig.stage(), task_for(rig))
        truth = {i.native_id: i for i in board(rig, source_id)}
        assert native_ids(posts) == sorted(truth)
        for post in posts:
            item = truth[post.native_id]
            assert (post.platform, post.source) == ("forum", source_id)
            assert post.text == item.text and post.title == item.title.strip()
            assert post.created_at == item.created_at.replace(second=0, microsecond=0)
            assert post.author.name == item.author.name
            assert post.place_hints.ip_location == item.ip_region
            assert len(post.media) == item.images


async def test_a_restarted_crawler_produces_only_new_threads(tmp_path: Path) -> None:
    async with open_rig(tmp_path, **shipped("szforum-minsheng")) as rig:
        first = await rig.crawl(await rig.stage(), task_for(rig))
        await rig.advance(12 * 3600)
        again = await rig.crawl(await rig.stage(), task_for(rig, suffix="-again"))
        assert again, "the simulated clock moved on; new threads were posted"
        everything = sorted(i.native_id for i in board(rig, "szforum-minsheng"))
        assert sorted(native_ids(first) + native_ids(again)) == everything, "none lost or twice"


async def test_a_redesigned_forum_marks_the_source_layout_changed(tmp_path: Path) -> None:
    async with open_rig(tmp_path, **shipped("szforum-minsheng")) as rig:
        await forum_fault(rig, "layout_changed")
        assert await rig.crawl(await rig.stage(), task_for(rig)) == []
        row = await rig.store.get_task(task_for(rig).task_id)
        assert row is not None and row.status == "failed"
        assert row.reason and row.reason.startswith("layout_changed")
        state = await rig.store.get_source_state("szforum-minsheng")
        assert state is not None and state.state == "layout_changed"


async def test_a_silently_emptied_board_is_a_silent_block(tmp_path: Path) -> None:
    async with open_rig(tmp_path, **shipped("szforum-minsheng")) as rig:
        assert await rig.crawl(await rig.stage(), task_for(rig))
        await forum_fault(rig, "silent_block")
        assert await rig.crawl(await rig.stage(), task_for(rig, suffix="-blocked")) == []
        state = await rig.store.get_source_state("szforum-minsheng")
        assert state is not None and state.state == "silent_block"
