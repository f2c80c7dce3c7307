"""Bilibili video search (``x/web-interface/search/type``): JSON, paged by number, with a
publication-time window the runtime uses to crawl incrementally and to split past the
result cap (``numResults`` stops at the cap, so ``total`` says when to split)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from crawlers.base import Fetcher, Page, Window
from crawlers.errors import LayoutChanged
from xianban.records import Author, CrawlTask, Engagement, Post

PATH = "/x/web-interface/search/type"
HIGHLIGHT = re.compile(r"</?em[^>]*>")


def media_url(value: Any) -> list[str]:
    """Cover URLs come protocol-relative (``//i1.hdslb.com/...``)."""
    if not isinstance(value, str) or not value:
        return []
    return ["https:" + value if value.startswith("//") else value]


def to_post(video: dict[str, Any], source: str) -> Post:
    """Search puts ``<em class="keyword">`` around matches in the title; the description
    is the full text, and the title is often the only place the problem is named."""
    title = HIGHLIGHT.sub("", video.get("title") or "").strip() or None
    description = (video.get("description") or "").strip()
    return Post(
        platform="bilibili",
        native_id=str(video["bvid"]),
        source=source,
        url=video.get("arcurl") or f"https://www.bilibili.com/video/{video['bvid']}",
        author=Author(
            id=str(video["mid"]) if video.get("mid") is not None else None,
            name=video.get("author"),
        ),
        title=title,
        text=description or title or "",
        media=media_url(video.get("pic")),
        created_at=datetime.fromtimestamp(int(video["pubdate"]), tz=UTC),
        engagement=Engagement(
            likes=int(video.get("like") or 0),
            comments=int(video.get("review") or 0),
            views=int(video.get("play") or 0),
        ),
    )


class BilibiliSearch:
    """Incremental by ``pubtime_begin_s``/``pubtime_end_s`` (Unix seconds, inclusive)."""

    name = "bilibili"

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        return await self.window_page(task, Window(), cursor, fetch)

    async def window_page(
        self, task: CrawlTask, window: Window, cursor: str | None, fetch: Fetcher
    ) -> Page:
        page = int(cursor or 1)
        params: dict[str, Any] = {
            "search_type": "video",
            "keyword": task.query or "",
            "page": page,
        }
        if window.since is not None:
            params["pubtime_begin_s"] = int(window.since.timestamp())
        if window.until is not None:
            params["pubtime_end_s"] = int(window.until.timestamp())
        body = await fetch.get_json(PATH, params=params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise LayoutChanged(f"bilibili: no data object (keys {sorted(body or {})})")
        results = data.get("result") or []
        videos = [r for r in results if isinstance(r, dict) and r.get("type") == "video"]
        if results and not videos:
            shapes = sorted({str(r.get("result_type") or r.get("type")) for r in results})
            raise LayoutChanged(f"bilibili: {len(results)} results, none a video ({shapes})")
        missing = [v for v in videos if not v.get("bvid") or v.get("pubdate") is None]
        if missing:
            raise LayoutChanged(f"bilibili: {len(missing)} videos without bvid or pubdate")
        posts = [to_post(video, task.source) for video in videos]
        pages = data.get("numPages")
        more = isinstance(pages, int) and page < pages and bool(posts)
        total = data.get("numResults")
        return Page(
            posts=posts,
            next_cursor=str(page + 1) if more else None,
            total=total if isinstance(total, int) else None,
        )
