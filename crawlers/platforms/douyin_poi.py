"""Douyin place pages (``poi/detail/aweme``): videos tagged at a POI — 深圳北站, a district —
whose tag is the place hint; paged by offset, signed."""

from __future__ import annotations

from crawlers.base import Fetcher, Page
from crawlers.platforms.douyin import SignedDouyin, signed_get, with_comments
from crawlers.platforms.douyin_creator import aweme_posts
from xianban.records import CrawlTask

POI = "/aweme/v1/web/poi/detail/aweme/"


class DouyinPoi(SignedDouyin):
    name = "douyin_poi"

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        poi = (task.query or "").strip()
        if not poi.isdigit():
            raise ValueError(f"douyin_poi: the task's query must be a poi_id, not {poi!r}")
        params = {"poi_id": poi, "cursor": cursor or "0", "count": str(self.options.count)}
        where = f"videos at POI {poi}"
        body = await signed_get(fetch, self.signer, POI, params, where)
        posts = aweme_posts(body, task.source, where)
        nxt = body.get("cursor")
        more = body.get("has_more") == 1 and isinstance(nxt, int) and bool(posts)
        posts = await with_comments(posts, self.options.comments, task.source, fetch, self.signer)
        return Page(posts=posts, next_cursor=str(nxt) if more else None)
