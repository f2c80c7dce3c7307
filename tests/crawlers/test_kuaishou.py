"""Kuaishou: GraphQL search paged by pcursor, comments with every sub-comment, its 200
captcha named as one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crawlers.comments import CommentOptions
from crawlers.errors import Captcha
from crawlers.fetch import HttpFetcher
from crawlers.platforms.kuaishou import KuaishouOptions, KuaishouSearch, comment_thread
from sim.platforms import create_platforms_app
from tests.crawlers.fake import FakeFetcher, fixture
from xianban.records import CrawlTask

TASK = CrawlTask(task_id="t", source="kuaishou-test", query="，", pages=50)
FIXTURES = {
    "visionSearchPhoto": "search.json",
    "visionCommentList": "comments.json",
    "visionSubCommentList": "subcomments.json",
}


def canned(path: str, body: dict[str, Any]) -> str:
    return fixture("kuaishou", FIXTURES[body["operationName"]])


async def test_fixtures_in_the_platform_shape() -> None:
    fetch = FakeFetcher({"/graphql": canned})
    adapter = KuaishouSearch(KuaishouOptions(comments=CommentOptions(posts=1)))
    page = await adapter.page(TASK, None, fetch)
    video, *comments = page.posts
    assert video.native_id == "3xq8h2w6e9vnbfa" and video.text.startswith("坪山大道")
    assert video.engagement.likes == 13012 and video.engagement.views == 205_000
    assert video.url == "https://www.kuaishou.com/short-video/3xq8h2w6e9vnbfa"
    assert [c.native_id for c in comments] == ["912345678901", "912345678902", "912345678911"]
    assert comments[1].engagement.likes == 11_000
    assert comments[2].reply_to == "kuaishou:912345678901"
    assert page.next_cursor == "1|MTRfMjcxMTM3NjRfMTc2Mzc3"


async def test_its_captcha_answers_200_and_is_named() -> None:
    fetch = FakeFetcher({"/graphql": fixture("kuaishou", "captcha.json")})
    with pytest.raises(Captcha, match="captcha"):
        await KuaishouSearch().page(TASK, None, fetch)


async def test_search_pages_to_no_more_and_threads_to_their_end() -> None:
    app = create_platforms_app(seed=7)
    state = app.state.sim
    listed = state.corpus.search("kuaishou", "，", now=state.now())
    assert len(listed) > 20
    got: list[str] = []
    cursor = None
    async with HttpFetcher("http://sim/kuaishou", transport=httpx.ASGITransport(app=app)) as fetch:
        while True:
            page = await KuaishouSearch().page(TASK, cursor, fetch)
            got += [p.native_id for p in page.posts]
            if (cursor := page.next_cursor) is None:
                break
        item = max(listed, key=lambda i: sum(1 + len(t.replies) for t in state.corpus.threads(i)))
        thread = await comment_thread(item.native_id, "s", fetch)
    assert got == [i.native_id for i in listed]
    now = state.now()
    expected = {
        c.native_id
        for t in state.corpus.threads(item)
        for c in (t.comment, *t.replies)
        if t.comment.created_at <= now and c.created_at <= now
    }
    assert {p.native_id for p in thread} == expected and len(expected) > 10
