"""Douyin creators' videos (``aweme/post``): a watch list of local accounts, newest first,
paged by ``max_cursor`` (the millisecond time of the oldest video served), signed; with
``options.comments`` the busiest videos' comment threads come too."""

from __future__ import annotations

from typing import Any

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged
from crawlers.platforms.douyin import SignedDouyin, signed_get, to_post, with_comments
from xianban.records import CrawlTask, Post

POSTS = "/aweme/v1/web/aweme/post/"


def aweme_posts(body: dict[str, Any], source: str, where: str) -> list[Post]:
    """The videos of an ``aweme_list`` answer; one without its list is a layout change."""
    listed = body.get("aweme_list")
    if not isinstance(listed, list):
        raise LayoutChanged(f"douyin {where}: no aweme_list ({sorted(body)})")
    broken = [a for a in listed if not isinstance(a, dict) or not a.get("aweme_id")]
    if broken:
        raise LayoutChanged(f"douyin {where}: {len(broken)} videos without aweme_id")
    return [to_post(a, source) for a in listed if a.get("desc")]


class DouyinCreator(SignedDouyin):
    name = "douyin_creator"

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        account = (task.query or "").strip()
        if not account:
            raise ValueError("douyin_creator: the task's query must be a sec_user_id")
        params = {
            "sec_user_id": account,
            "max_cursor": cursor or "0",
            "count": str(self.options.count),
        }
        where = f"videos of {account}"
        body = await signed_get(fetch, self.signer, POSTS, params, where)
        posts = aweme_posts(body, task.source, where)
        nxt = body.get("max_cursor")
        more = body.get("has_more") == 1 and isinstance(nxt, int) and nxt > 0 and bool(posts)
        posts = await with_comments(posts, self.options.comments, task.source, fetch, self.signer)
        return Page(posts=posts, next_cursor=str(nxt) if more else None)
