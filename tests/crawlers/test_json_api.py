"""The generic JSON API adapter on a config-only source against the simulator's complaint API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from crawlers.errors import LayoutChanged
from crawlers.fetch import HttpFetcher
from crawlers.platforms import load_adapter
from tests.crawlers.conftest import Rig, native_ids, open_rig, task_for
from xianban.errors import ConfigError
from xianban.records import CrawlTask

CONFIG = Path(__file__).parents[2] / "configs" / "sources.yaml"


def tousu_source() -> dict[str, Any]:
    """The shipped config's source, so the test proves the YAML entry itself."""
    shipped = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["sources"]
    (source,) = [s for s in shipped if s["id"] == "tousu-api"]
    source = {k: v for k, v in source.items() if k != "interval_s"}
    return {**source, "politeness": {"rate_per_s": 0, "retries": 2}}


def listed(rig: Rig) -> list[str]:
    return sorted(i.native_id for i in rig.sim.corpus.search("tousu", now=rig.sim.now()))


async def tousu_fault(rig: Rig, fault: str) -> None:
    spec: dict[str, Any] = {"platform": "tousu", "fault": fault, "times": None, "params": {}}
    (await rig.admin.post("/_admin/faults", json=spec)).raise_for_status()


async def test_the_config_only_source_follows_the_cursor_to_every_complaint(
    tmp_path: Path,
) -> None:
    async with open_rig(tmp_path, result_cap=1000, **tousu_source()) as rig:
        posts = await rig.crawl(await rig.stage(), task_for(rig))
        assert native_ids(posts) == listed(rig)
        truth = {i.native_id: i for i in rig.sim.corpus.search("tousu", now=rig.sim.now())}
        for post in posts:
            item = truth[post.native_id]
            assert (post.platform, post.source) == ("tousu", "tousu-api")
            assert post.text == item.text and post.title == item.title
            assert post.created_at == item.created_at
            assert post.engagement.likes == item.likes
            assert post.place_hints.ip_location == item.ip_region
            assert len(post.media) == item.images
            assert post.author.name == item.author.name


async def test_a_restarted_crawler_produces_only_what_is_new(tmp_path: Path) -> None:
    async with open_rig(tmp_path, result_cap=1000, **tousu_source()) as rig:
        rig.sim.elapsed = -timedelta(days=10)  # start before the anchor: complaints to come
        first = await rig.crawl(await rig.stage(), task_for(rig))
        await rig.advance(10 * 86_400)
        again = await rig.crawl(await rig.stage(), task_for(rig, suffix="-again"))
        assert again, "the simulated clock moved on; new complaints were filed"
        assert sorted(native_ids(first) + native_ids(again)) == listed(rig), "none lost or twice"


async def test_a_changed_api_marks_the_source_layout_changed(tmp_path: Path) -> None:
    async with open_rig(tmp_path, result_cap=1000, **tousu_source()) as rig:
        await tousu_fault(rig, "layout_changed")
        assert await rig.crawl(await rig.stage(), task_for(rig)) == []
        row = await rig.store.get_task(task_for(rig).task_id)
        assert row is not None and row.status == "failed"
        assert row.reason and row.reason.startswith("layout_changed")
        state = await rig.store.get_source_state(tousu_source()["id"])
        assert state is not None and state.state == "layout_changed"


async def test_without_a_cursor_field_pages_are_numbered() -> None:
    """An API paged by number (no cursor in the answer) asks page 2, 3 … until has_more ends."""
    asked: list[str | None] = []

    def api(request: httpx.Request) -> httpx.Response:
        page = request.url.params.get("p")
        asked.append(page)
        n = int(page or "1")
        items = [{"k": f"{n}-{i}", "body": {"t": f"第{n}页第{i}条"}} for i in range(2)]
        return httpx.Response(200, json={"res": {"rows": items, "more": n < 3}})

    adapter = load_adapter(
        "json_api",
        {
            "platform": "bbs",
            "path": "/list",
            "cursor_param": "p",
            "items": "res.rows",
            "has_more": "res.more",
            "fields": {"id": "k", "text": "body.t"},
        },
    )
    fetch = HttpFetcher("http://bbs", transport=httpx.MockTransport(api))
    task = CrawlTask(task_id="t1", source="bbs", query="")
    cursor: str | None = None
    texts: list[str] = []
    try:
        while True:
            page = await adapter.page(task, cursor, fetch)
            texts += [p.text for p in page.posts]
            if (cursor := page.next_cursor) is None:
                break
    finally:
        await fetch.close()
    assert asked == [None, "2", "3"]
    assert texts == [f"第{n}页第{i}条" for n in (1, 2, 3) for i in range(2)]


@pytest.mark.parametrize(
    "body", [{"res": {"rows": [{"k": "1"}]}}, {"res": {"rows": [{"body": {"t": "x"}}]}}]
)
async def test_an_item_without_id_or_text_is_a_layout_change(body: dict[str, Any]) -> None:
    adapter = load_adapter(
        "json_api",
        {
            "platform": "bbs",
            "path": "/",
            "items": "res.rows",
            "fields": {"id": "k", "text": "body.t"},
        },
    )
    fetch = HttpFetcher(
        "http://bbs", transport=httpx.MockTransport(lambda _: httpx.Response(200, json=body))
    )
    try:
        with pytest.raises(LayoutChanged, match="without an id or text"):
            await adapter.page(CrawlTask(task_id="t1", source="bbs", query=""), None, fetch)
    finally:
        await fetch.close()


def test_a_field_map_without_text_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="text"):
        load_adapter(
            "json_api", {"platform": "x", "path": "/", "items": "a", "fields": {"id": "k"}}
        )
