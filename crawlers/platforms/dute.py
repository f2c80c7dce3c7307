"""读特 (dutenews, Shenzhen Special Zone Daily's app) article list: JSON with times as the
app prints them ("刚刚", "3分钟前", "昨天 12:30"), normalised against the answer's own
``serverTime`` — not the crawler's clock, which may be anywhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged
from crawlers.platforms.zhihu import plain_text
from crawlers.timeparse import parse_cn_time
from crawlers.urls import resolve
from xianban.records import Author, CrawlTask, Post, utcnow

ARTICLES = "/api/v1/articles"


class DuteOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field("sz", description="channelId")
    page_size: int = Field(20, ge=1, le=20)


def to_post(row: Any, now: datetime, source: str, page_url: str) -> Post:
    if not isinstance(row, dict) or not row.get("id") or not row.get("publishTime"):
        raise LayoutChanged("dute: an article without id or publishTime")
    when = parse_cn_time(str(row["publishTime"]), now=now)
    if when is None:
        raise LayoutChanged(f"dute: publishTime {row['publishTime']!r} is not a time")
    cover = resolve(row.get("cover"), page_url)
    return Post(
        platform="dute",
        native_id=str(row["id"]),
        source=source,
        url=row.get("shareUrl") or f"https://www.dutenews.com/n/article/{row['id']}",
        author=Author(name=row.get("source")),
        title=row.get("title"),
        text=plain_text(str(row.get("content") or "")) or str(row.get("summary") or ""),
        media=[cover] if cover else [],
        created_at=when,
    )


class DuteChannel:
    name = "dute"

    def __init__(self, options: DuteOptions | None = None) -> None:
        self.options = options or DuteOptions()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(DuteOptions.model_validate(options))

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        number = int(cursor or 1)
        params = {
            "channelId": self.options.channel,
            "pageNo": number,
            "pageSize": self.options.page_size,
        }
        body = await fetch.get_json(ARTICLES, params=params)
        data = body.get("data") if isinstance(body, dict) and body.get("code") == 200 else None
        if not isinstance(data, dict) or not isinstance(data.get("list"), list):
            raise LayoutChanged("dute: no data.list")
        server = body.get("serverTime")
        now = datetime.fromtimestamp(server / 1000, UTC) if isinstance(server, int) else utcnow()
        page_url = fetch.url_of(ARTICLES)
        posts = [to_post(row, now, task.source, page_url) for row in data["list"]]
        more = data.get("hasMore") is True and bool(posts)
        return Page(posts=posts, next_cursor=str(number + 1) if more else None)
