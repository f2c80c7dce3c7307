"""WeChat Channels (视频号) search through the 微信搜一搜 JSON (``searchfinder``), paged by
the opaque ``lastBuffer`` while ``continueFlag`` is 1. WeChat answers errors in ``ret``:
300330 is its session wall, 200002 throttling, anything else but 0 an answer the adapter
does not know."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawlers.base import Fetcher, Page
from crawlers.comments import as_int
from crawlers.errors import LayoutChanged, LoginRequired, RateLimited
from xianban.records import Author, CrawlTask, Engagement, PlaceHints, Post

SEARCH = "/cgi-bin/mmsearch-bin/searchfinder"
COUNT = 20


def to_post(obj: Any, source: str) -> Post:
    if not isinstance(obj, dict) or not obj.get("id") or obj.get("createtime") is None:
        raise LayoutChanged("channels search: an object without id or createtime")
    desc = obj.get("objectDesc") or {}
    media = [m.get("thumbUrl") for m in desc.get("media") or [] if isinstance(m, dict)]
    return Post(
        platform="channels",
        native_id=str(obj["id"]),
        source=source,
        url=f"https://channels.weixin.qq.com/web/pages/feed?oid={obj['id']}"
        f"&nid={obj.get('objectNonceId') or ''}",
        author=Author(id=obj.get("username"), name=obj.get("nickname")),
        text=str(desc.get("description") or ""),
        media=[m for m in media if isinstance(m, str)],
        created_at=datetime.fromtimestamp(int(obj["createtime"]), tz=UTC),
        engagement=Engagement(
            likes=as_int(obj.get("likeCount")),
            comments=as_int(obj.get("commentCount")),
            shares=as_int(obj.get("forwardCount")),
        ),
        place_hints=PlaceHints(ip_location=(obj.get("ipRegionInfo") or {}).get("regionText")),
    )


class ChannelsSearch:
    name = "channels"

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        body = await fetch.post_json(
            SEARCH,
            json_body={"query": task.query or "", "lastBuffer": cursor or "", "count": COUNT},
        )
        ret = body.get("ret") if isinstance(body, dict) else None
        if ret == 300330:
            raise LoginRequired(f"channels search: {body.get('errMsg')}")
        if ret == 200002:
            raise RateLimited(f"channels search: {body.get('errMsg')}")
        data = body.get("data") if ret == 0 else None
        if not isinstance(data, dict) or not isinstance(data.get("objectList"), list):
            raise LayoutChanged(f"channels search: ret {ret!r}, no data.objectList")
        posts = [to_post(o, task.source) for o in data["objectList"]]
        posts = [p for p in posts if p.text.strip()]
        nxt = data.get("lastBuffer")
        more = data.get("continueFlag") == 1 and isinstance(nxt, str) and nxt and posts
        return Page(posts=posts, next_cursor=nxt if more else None)
