"""Every adapter against mutated answers: truncated bodies, missing, renamed and retyped
fields, HTML where JSON was expected (and JSON where HTML was), empty lists, huge pages.

Each adapter gets its world — the real-shape fixtures of ``tests/data/<platform>/`` behind
a fake fetcher — and each run mutates one answer of it, deterministically from the run's
number. The crawl must end with posts or a named ``CrawlError`` (layout change, malformed,
silent block …): never an unhandled exception, never an empty crawl that says nothing,
since the source's history says its first page held posts. ``FUZZ_RUNS`` sets the runs
per adapter (default 1000).
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest

from crawlers.base import Adapter
from crawlers.checkpoint import Checkpoint, QueryMark
from crawlers.crawl import crawl_task
from crawlers.errors import CrawlError
from crawlers.platforms import load_adapter
from crawlers.sources import Source
from tests.crawlers.fake import FakeFetcher, fixture
from xianban.records import CrawlTask

RUNS = int(os.environ.get("FUZZ_RUNS", "1000"))
HTML_ERROR = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
Answer = str | Callable[[str, dict[str, Any]], str]


@dataclass
class World:
    adapter: str
    answers: dict[str, Answer]
    query: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    kind: str = "keyword"


def _by_operation(files: dict[str, str]) -> Callable[[str, dict[str, Any]], str]:
    def answer(_: str, body: dict[str, Any]) -> str:
        return fixture("kuaishou", files[str(body.get("operationName"))])

    return answer


def _douyin_page() -> str:
    app = {
        "app": {
            "keyword": "深圳",
            "searchToken": "tok",
            "xhr": "/x",
            "initial": json.loads(fixture("douyin", "search_single.json")),
        }
    }
    data = quote(json.dumps(app, ensure_ascii=False))
    return (
        f'<html><body><div id="root"></div><script id="RENDER_DATA">{data}</script></body></html>'
    )


COMMENTS = {"posts": 1, "min_comments": 1}
EXTEND = '{"ok": 1, "data": {"ok": 1, "longTextContent": "全文：宝安大道辅路的路灯坏了一排"}}'
WORLDS: dict[str, World] = {
    "weibo": World(
        "weibo",
        {
            "/api/container/getIndex": fixture("weibo", "search.json"),
            "/statuses/extend": EXTEND,
            "/comments/hotFlowChild": fixture("weibo", "hotflow_child.json"),
            "/comments/hotflow": fixture("weibo", "hotflow.json"),
        },
        "路灯",
        {"comments": COMMENTS},
    ),
    "weibo_timeline": World(
        "weibo_timeline",
        {
            "/api/container/getIndex": fixture("weibo", "timeline.json"),
            "/statuses/extend": EXTEND,
            "/comments/hotFlowChild": fixture("weibo", "hotflow_child.json"),
            "/comments/hotflow": fixture("weibo", "hotflow.json"),
        },
        "6501000002",
        {"comments": COMMENTS},
        "account",
    ),
    "douyin": World(
        "douyin",
        {
            "/search/": _douyin_page(),
            "/aweme/v1/web/general/search/single/": fixture("douyin", "search_single.json"),
            "/aweme/v1/web/comment/list/reply/": fixture("douyin", "comment_reply.json"),
            "/aweme/v1/web/comment/list/": fixture("douyin", "comment_list.json"),
        },
        "深圳",
        {"comments": COMMENTS},
    ),
    "douyin_creator": World(
        "douyin_creator",
        {
            "/aweme/v1/web/aweme/post/": fixture("douyin", "aweme_post.json"),
            "/aweme/v1/web/comment/list/": fixture("douyin", "comment_closed.json"),
        },
        "MS4wLjABAAAA1b3c4d5e6",
        {"comments": COMMENTS},
        "account",
    ),
    "douyin_poi": World(
        "douyin_poi",
        {
            "/aweme/v1/web/poi/detail/aweme/": fixture("douyin", "poi_aweme.json"),
        },
        "6601000000012345678",
        kind="place",
    ),
    "kuaishou": World(
        "kuaishou",
        {
            "/graphql": _by_operation(
                {
                    "visionSearchPhoto": "search.json",
                    "visionCommentList": "comments.json",
                    "visionSubCommentList": "subcomments.json",
                }
            )
        },
        "深圳",
        {"comments": COMMENTS},
    ),
    "xhs": World(
        "xhs",
        {
            "/api/sns/web/v1/search/notes": fixture("xhs", "search.json"),
            "/api/sns/web/v1/feed": fixture("xhs", "feed.json"),
            "/api/sns/web/v2/comment/sub/page": fixture("xhs", "comment_sub.json"),
            "/api/sns/web/v2/comment/page": fixture("xhs", "comment_page.json"),
        },
        "路口",
        {"comments": COMMENTS},
    ),
    "bilibili": World(
        "bilibili",
        {
            "/x/web-interface/search/type": fixture("bilibili", "search.json"),
            "/x/web-interface/nav": fixture("bilibili", "nav.json"),
            "/x/v2/reply/wbi/main": fixture("bilibili", "replies.json"),
            "/x/v2/reply/reply": fixture("bilibili", "reply_reply.json"),
        },
        "井盖",
        {"comments": COMMENTS},
    ),
    "zhihu": World("zhihu", {"/api/v4/search_v3": fixture("zhihu", "search.json")}, "小区"),
    "tieba": World(
        "tieba",
        {
            "/f": fixture("tieba", "bar.html"),
            "/p/comment": fixture("tieba", "lzl.html"),
            "/p/": fixture("tieba", "thread.html"),
        },
        "深圳",
        kind="board",
    ),
    "wechat": World(
        "wechat",
        {
            "/weixin": fixture("wechat", "search.html"),
            "https://mp.weixin.qq.com/s": fixture("wechat", "article.html"),
        },
        "深圳",
    ),
    "channels": World(
        "channels",
        {
            "/cgi-bin/mmsearch-bin/searchfinder": fixture("channels", "search.json"),
        },
        "深圳",
    ),
    "heimao": World(
        "heimao",
        {
            "/api/index/s": fixture("heimao", "search.json"),
            "/complaint/view/": fixture("heimao", "view.html"),
        },
        "投诉",
    ),
    "liuyan": World(
        "liuyan",
        {
            "/v1/threads/list/df": fixture("liuyan", "list.json"),
            "/v1/threads/content": fixture("liuyan", "content.json"),
        },
        "1149",
        kind="board",
    ),
    "board12345": World(
        "board12345",
        {
            "/longhua/list": fixture("12345", "list.html"),
            "/longhua/detail": fixture("12345", "detail.html"),
        },
        "longhua",
        kind="board",
    ),
    "toutiao": World(
        "toutiao",
        {
            "/api/search/content/": fixture("toutiao", "search.json"),
            "/article/": fixture("toutiao", "article.html"),
        },
        "罗湖",
    ),
    "sznews": World(
        "sznews",
        {
            "/node_31234": fixture("sznews", "node.html"),
            "/content/": fixture("sznews", "article.html"),
        },
        kind="listing",
    ),
    "dute": World("dute", {"/api/v1/articles": fixture("dute", "articles.json")}, kind="listing"),
    "nfplus": World(
        "nfplus", {"/api/column/articles": fixture("nfplus", "articles.json")}, kind="listing"
    ),
    "feed": World(
        "feed",
        {"/rss.xml": fixture("generic", "rss.xml")},
        kind="listing",
        options={"platform": "jingbao", "path": "/rss.xml"},
    ),
    "json_api": World(
        "json_api",
        {"/api/complaints": fixture("generic", "complaints.json")},
        kind="listing",
        options={
            "platform": "tousu",
            "path": "/api/complaints",
            "cursor_param": "cursor",
            "items": "data.list",
            "next_cursor": "data.next_cursor",
            "has_more": "data.has_more",
            "fields": {
                "id": "id",
                "text": "content",
                "title": "title",
                "url": "url",
                "created_at": "timestamp",
                "media": "images",
            },
        },
    ),
    "html_list": World(
        "html_list",
        {
            "/forum-2-": fixture("generic", "forum_list.html"),
            "/thread-": fixture("generic", "forum_thread.html"),
        },
        kind="listing",
        options={
            "platform": "forum",
            "list_path": "/forum-2-{page}.html",
            "next_link": "div.pg a.nxt",
            "rows": "tbody[id^=normalthread_]",
            "link": "a.xst",
            "id_pattern": r"thread-(\d+)-",
            "detail": {
                "text": "td.t_f",
                "title": "#thread_subject",
                "time": "em[id^=authorposton]",
                "ip_location": "span.ip-location",
                "images": "div.pattl img",
            },
        },
    ),
}


def mutate_json(body: Any, rng: random.Random) -> Any:
    """One structural change somewhere in the document."""
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in list(node):
                paths.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for index in range(len(node)):
                paths.append((node, index))
                walk(node[index])

    walk(body)
    if not paths:
        return rng.choice([None, [], {}, "x", 0])
    parent, key = rng.choice(paths)
    action = rng.randrange(6)
    if action == 0 and isinstance(parent, dict):
        del parent[key]
    elif action == 1 and isinstance(parent, dict):
        parent[f"{key}_v2"] = parent.pop(key)
    elif action == 2:
        parent[key] = rng.choice([None, "", "abc", -1, 0, 10**20, 1.5, [], {}, True, "1.2万"])
    elif action == 3 and isinstance(parent[key], list):
        parent[key] = []
    elif action == 4 and isinstance(parent[key], list) and parent[key]:
        parent[key] = parent[key] * rng.randint(50, 300)  # a huge page
    else:
        parent[key] = {"unexpected": [parent[key]]}
    return body


def mutate_html(text: str, rng: random.Random) -> str:
    action = rng.randrange(6)
    if action == 0:  # a class renamed
        classes = re.findall(r'class="([^"]+)"', text)
        if classes:
            old = rng.choice(classes)
            return text.replace(f'class="{old}"', f'class="{old}-v2"')
    if action == 1:  # an element dropped
        tags = list(re.finditer(r"<(\w+)[^>]*>.*?</\1>", text, re.DOTALL))
        if tags:
            found = rng.choice(tags)
            return text[: found.start()] + text[found.end() :]
    if action == 2:  # an attribute emptied
        return re.sub(
            r'(href|data-field|src|title)="[^"]*"', r'\1=""', text, count=rng.randint(1, 3)
        )
    if action == 3:  # rows repeated: a huge page
        return re.sub(
            r"(<li\b.*?</li>)", lambda m: m.group(1) * 200, text, count=1, flags=re.DOTALL
        )
    if action == 4:
        return '{"code": 0, "data": []}'
    return re.sub(r">[^<]{1,40}<", "><", text, count=rng.randint(1, 5))  # texts emptied


def mutate(answer: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.12:
        return answer[: rng.randrange(max(1, len(answer)))]  # truncated
    if roll < 0.2:
        return rng.choice([HTML_ERROR, "", "null", "[]", "{}", "<html></html>"])
    try:
        body = json.loads(answer)
    except ValueError:
        return mutate_html(answer, rng)
    return json.dumps(mutate_json(body, rng), ensure_ascii=False)


def mutated_world(world: World, rng: random.Random) -> dict[str, Answer]:
    answers = dict(world.answers)
    target = rng.choice(sorted(answers))
    original = answers[target]
    seed = rng.random()

    def changed(path: str, params: dict[str, Any]) -> str:
        """The same answer mutated the same way every time it is asked for (a platform
        that changed, not one that flickers)."""
        text = original(path, params) if callable(original) else original
        return mutate(text, random.Random(f"{seed}"))

    answers[target] = changed
    return answers


@pytest.mark.parametrize("name", sorted(WORLDS))
async def test_mutated_answers_end_in_posts_or_a_named_error(name: str) -> None:
    world = WORLDS[name]
    source = Source(
        id=f"fuzz-{name}",
        adapter=world.adapter,
        base_url="https://example.cn",
        query_kind=world.kind,
        options=world.options,
    )
    adapter: Adapter = load_adapter(world.adapter, world.options)
    task = CrawlTask(task_id="t", source=source.id, query=world.query or None, pages=3)
    clean = await crawl_task(
        adapter, source, task, Checkpoint(), FakeFetcher(world.answers), _unknown, now=_now()
    )
    assert clean.error is None and clean.posts, f"{name}: the unmutated world must crawl"
    outcomes: dict[str, int] = {}
    for run in range(RUNS):
        rng = random.Random(f"{name}:{run}")
        fetch = FakeFetcher(mutated_world(world, rng))
        checkpoint = Checkpoint(queries={task.query or "": QueryMark(first_page=len(clean.posts))})
        try:
            got = await crawl_task(adapter, source, task, checkpoint, fetch, _unknown, now=_now())
        except Exception as exc:  # the point of the test: nothing else may escape
            raise AssertionError(f"{name} run {run}: {type(exc).__name__}: {exc}") from exc
        if got.error is not None:
            assert isinstance(got.error, CrawlError)
            outcomes[got.error.state] = outcomes.get(got.error.state, 0) + 1
        else:
            assert got.posts, f"{name} run {run}: an empty crawl that names no error"
            outcomes["posts"] = outcomes.get("posts", 0) + 1
    assert outcomes.get("posts", 0) > 0 and len(outcomes) > 1, outcomes


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


async def _unknown(_: Sequence[str]) -> set[str]:
    return set()
