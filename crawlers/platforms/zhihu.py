"""Zhihu search (``api/v4/search_v3``): answers as JSON, paged by an absolute next URL.

The cursor kept is the next page's ``offset``, not the URL itself: a checkpointed URL
would pin the host and parameters of the day it was stored. Zhihu filters time only by
coarse ranges counted back from now (``time_interval``), so it is not a windowed source;
the runtime's dedupe keeps repeated polls from producing an answer twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged
from xianban.records import Author, CrawlTask, Engagement, PlaceHints, Post

PATH = "/api/v4/search_v3"
LIMIT = 20


def plain_text(html: str) -> str:
    """Answer content is ``<p>`` HTML; paragraphs become lines."""
    tree = LexborHTMLParser(html)
    return (tree.text(separator="\n") if tree.body else "").strip()


def to_post(answer: dict[str, Any], source: str) -> Post:
    author = answer.get("author") or {}
    question = answer.get("question") or {}
    ip_info = (answer.get("ip_info") or "").removeprefix("IP 属地").strip() or None
    return Post(
        platform="zhihu",
        native_id=str(answer["id"]),
        source=source,
        url=f"https://www.zhihu.com/question/{question.get('id')}/answer/{answer['id']}",
        author=Author(id=author.get("id"), name=author.get("name")),
        title=question.get("name"),
        text=plain_text(answer.get("content") or answer.get("excerpt") or ""),
        created_at=datetime.fromtimestamp(int(answer["created_time"]), tz=UTC),
        engagement=Engagement(
            likes=int(answer.get("voteup_count") or 0),
            comments=int(answer.get("comment_count") or 0),
        ),
        place_hints=PlaceHints(ip_location=ip_info),
    )


def next_offset(paging: dict[str, Any]) -> str | None:
    if paging.get("is_end") or not paging.get("next"):
        return None
    offset = httpx.URL(str(paging["next"])).params.get("offset")
    return offset if offset and offset.isdigit() else None


class ZhihuSearch:
    name = "zhihu"

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        params = {"t": "general", "q": task.query or "", "offset": cursor or "0", "limit": LIMIT}
        body = await fetch.get_json(PATH, params=params)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise LayoutChanged(f"zhihu: no data list (keys {sorted(body or {})})")
        results = body["data"]
        answers = [
            r["object"]
            for r in results
            if isinstance(r, dict)
            and isinstance(r.get("object"), dict)
            and r["object"].get("type") == "answer"
        ]
        if results and not answers:
            keys = sorted({k for r in results if isinstance(r, dict) for k in r})
            raise LayoutChanged(f"zhihu: {len(results)} results, none an answer (keys {keys})")
        broken = [a for a in answers if not a.get("id") or a.get("created_time") is None]
        if broken:
            raise LayoutChanged(f"zhihu: {len(broken)} answers without id or created_time")
        posts = [to_post(answer, task.source) for answer in answers]
        paging = body.get("paging") or {}
        return Page(posts=posts, next_cursor=next_offset(paging) if posts else None)
