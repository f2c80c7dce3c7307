"""Every post's link absolute: paths the fetcher asked for and links a page contains."""

from __future__ import annotations

from pathlib import Path

from crawlers.urls import absolute_post, is_absolute, resolve, url_of
from tests.crawlers.conftest import open_rig, task_for
from tests.crawlers.test_html_list import shipped
from tests.crawlers.test_json_api import tousu_source
from xianban.records import Post


def test_paths_merge_like_the_fetcher_and_links_resolve_like_a_browser() -> None:
    assert url_of("http://sim/forum", "/thread-1-1-1.html") == "http://sim/forum/thread-1-1-1.html"
    assert url_of("http://sim/forum/", "thread-1.html") == "http://sim/forum/thread-1.html"
    assert url_of("http://sim/forum", "https://x.cn/a") == "https://x.cn/a"
    page = "http://sim/tousu/api/complaints"
    assert resolve("/tousu/api/complaints/9", page) == "http://sim/tousu/api/complaints/9"
    assert resolve("//i0.hdslb.com/a.jpg", page) == "https://i0.hdslb.com/a.jpg"
    assert resolve("javascript:void(0)", page) is None
    assert resolve("  ", page) is None and not is_absolute("/a") and is_absolute("https://a/b")


def test_the_crawl_guard_fixes_what_an_adapter_left_relative() -> None:
    post = Post(
        platform="x", native_id="1", text="t", url="/p/1", media=["//cdn/a.jpg", "data:x", "b.png"]
    )
    fixed = absolute_post(post, "http://sim/x")
    assert fixed.url == "http://sim/p/1"
    assert fixed.media == ["https://cdn/a.jpg", "http://sim/x/b.png"]
    same = Post(platform="x", native_id="2", text="t", url="https://a/b")
    assert absolute_post(same, "http://sim/x") is same


async def test_generic_sources_link_absolute_urls_and_media(tmp_path: Path) -> None:
    (tmp_path / "forum").mkdir()
    async with open_rig(tmp_path, result_cap=1000, **tousu_source()) as rig:
        posts = await rig.crawl(await rig.stage(), task_for(rig))
    assert posts and all(is_absolute(p.url) for p in posts)
    assert all(p.url and p.url.startswith("http://sim/tousu/api/complaints/") for p in posts)
    assert all(is_absolute(m) for p in posts for m in p.media)
    async with open_rig(tmp_path / "forum", **shipped("szforum-minsheng") | {"pages": 1}) as rig:
        posts = await rig.crawl(await rig.stage(), task_for(rig))
    assert posts and all(p.url and p.url.startswith("http://sim/forum/thread-") for p in posts)
    assert all(is_absolute(m) for p in posts for m in p.media)
