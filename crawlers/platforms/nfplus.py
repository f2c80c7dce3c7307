"""南方+ (Nanfang Daily's app) column articles: JSON pages while ``pageNo < totalPage``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged
from crawlers.platforms.zhihu import plain_text
from crawlers.timeparse import SHANGHAI
from xianban.records import Author, CrawlTask, Post

ARTICLES = "/api/column/articles"


class NfplusOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str = Field("shenzhen", description="columnId")


def to_post(row: Any, source: str) -> Post:
    if not isinstance(row, dict) or not row.get("articleId") or not row.get("pubTime"):
        raise LayoutChanged("nfplus: an article without articleId or pubTime")
    return Post(
        platform="nfplus",
        native_id=str(row["articleId"]),
        source=source,
        url=row.get("shareUrl")
        or f"https://static.nfapp.southcn.com/content/{row['articleId']}.html",
        author=Author(name=row.get("author")),
        title=row.get("title"),
        text=plain_text(str(row.get("body") or "")) or str(row.get("summary") or ""),
        created_at=datetime.strptime(str(row["pubTime"]), "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=SHANGHAI
        ),
    )


class NfplusColumn:
    name = "nfplus"

    def __init__(self, options: NfplusOptions | None = None) -> None:
        self.options = options or NfplusOptions()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(NfplusOptions.model_validate(options))

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        number = int(cursor or 1)
        params = {"columnId": self.options.column, "pageNo": number}
        body = await fetch.get_json(ARTICLES, params=params)
        if not isinstance(body, dict) or body.get("result") != 0:
            raise LayoutChanged(
                f"nfplus: result {body.get('result') if isinstance(body, dict) else body!r}"
            )
        rows = body.get("articles")
        if not isinstance(rows, list):
            raise LayoutChanged(f"nfplus: no articles list ({sorted(body)})")
        posts = [to_post(row, task.source) for row in rows]
        info = body.get("pageInfo") or {}
        total = info.get("totalPage") if isinstance(info, dict) else None
        more = isinstance(total, int) and number < total and bool(posts)
        return Page(posts=posts, next_cursor=str(number + 1) if more else None)
