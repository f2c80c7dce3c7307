"""A Weibo user's timeline (``getIndex`` with ``containerid=107603<uid>``): the watch list
of local reporters (点子王), newest first, paged by ``since_id``; the busiest posts' comment
threads come with them when ``options.comments`` says so."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Self

from crawlers.base import Fetcher, Page
from crawlers.platforms.weibo import (
    PATH,
    WeiboOptions,
    full_text,
    parse_cards,
    to_post,
    with_comments,
)
from xianban.records import CrawlTask


class WeiboTimeline:
    name = "weibo_timeline"

    def __init__(self, options: WeiboOptions | None = None) -> None:
        self.options = options or WeiboOptions()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(WeiboOptions.model_validate(options))

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        uid = (task.query or "").strip()
        if not uid.isdigit():
            raise ValueError(f"weibo_timeline: the task's query must be a uid, not {uid!r}")
        params: dict[str, Any] = {"type": "uid", "value": uid, "containerid": f"107603{uid}"}
        if cursor:
            params["since_id"] = cursor
        body = await fetch.get_json(PATH, params=params)
        if isinstance(body, dict) and body.get("ok") == 0:
            return Page(posts=[], next_cursor=None)  # "这里还没有内容": an account with none
        mblogs, info = parse_cards(body, task.source)
        await asyncio.gather(*(full_text(m, fetch) for m in mblogs if m.get("isLongText")))
        posts = [to_post(mblog, task.source) for mblog in mblogs]
        nxt = info.get("since_id")
        posts = await with_comments(posts, self.options.comments, task.source, fetch)
        return Page(posts=posts, next_cursor=str(nxt) if nxt and mblogs else None)
