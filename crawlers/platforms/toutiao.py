"""Toutiao (今日头条) web search (``api/search/content``), paged by ``offset`` while
``has_more``; entries without a ``group_id`` (related-search boxes) are skipped, each
article's full text read from its page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from crawlers.base import Fetcher, Page
from crawlers.comments import as_int
from crawlers.errors import LayoutChanged
from crawlers.platforms.html_list import text_of
from crawlers.urls import resolve
from xianban.records import Author, CrawlTask, Engagement, Post

SEARCH = "/api/search/content/"
COUNT = 20


def to_post(entry: dict[str, Any], page: str, source: str, page_url: str) -> Post:
    if entry.get("publish_time") is None:
        raise LayoutChanged(f"toutiao search: article {entry.get('group_id')} without publish_time")
    tree = LexborHTMLParser(page)
    paragraphs = [text_of(p) for p in tree.css("article.syl-article-base p")]
    text = "\n".join(p for p in paragraphs if p) or str(entry.get("abstract") or "")
    media = [
        resolve(i.get("url"), page_url)
        for i in entry.get("image_list") or []
        if isinstance(i, dict)
    ]
    return Post(
        platform="toutiao",
        native_id=str(entry["group_id"]),
        source=source,
        url=entry.get("article_url") or f"https://www.toutiao.com/article/{entry['group_id']}/",
        author=Author(name=entry.get("media_name")),
        title=entry.get("title"),
        text=text,
        media=[m for m in media if m],
        created_at=datetime.fromtimestamp(int(entry["publish_time"]), tz=UTC),
        engagement=Engagement(
            likes=as_int(entry.get("digg_count")), comments=as_int(entry.get("comment_count"))
        ),
    )


class ToutiaoSearch:
    name = "toutiao"

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        offset = int(cursor or 0)
        params = {
            "keyword": task.query or "",
            "offset": offset,
            "count": COUNT,
            "format": "json",
            "autoload": "true",
        }
        body = await fetch.get_json(SEARCH, params=params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise LayoutChanged(f"toutiao search: no data list ({sorted(body or {})})")
        entries = [e for e in data if isinstance(e, dict) and e.get("group_id")]
        if data and not entries and any(isinstance(e, dict) and "title" in e for e in data[:1]):
            raise LayoutChanged("toutiao search: entries without group_id")
        pages = await asyncio.gather(
            *(fetch.get_text(f"/article/{e['group_id']}/") for e in entries)
        )
        page_url = fetch.url_of(SEARCH)
        posts = [to_post(e, p, task.source, page_url) for e, p in zip(entries, pages, strict=True)]
        nxt = body.get("offset")
        more = body.get("has_more") == 1 and isinstance(nxt, int) and bool(posts)
        return Page(posts=posts, next_cursor=str(nxt) if more else None)
