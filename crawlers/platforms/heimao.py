"""黑猫投诉 (tousu.sina.com.cn) search: complaints with the merchant they are against.

The list API is signed (``heimao-sha256`` through the source's signer) and gives each
complaint's first words only; the whole text is on its view page, read for every item.
The merchant (``cotitle``) becomes ``Post.addressed_to``. ``status.code`` -1 with "签名"
is a refused signature; a list without ``lists`` a layout change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field
from selectolax.lexbor import LexborHTMLParser

from crawlers.base import Fetcher, Page
from crawlers.comments import as_int
from crawlers.errors import LayoutChanged, LoginRequired, RateLimited, SignatureRejected
from crawlers.platforms.html_list import text_of
from crawlers.platforms.tieba import exact_time
from crawlers.signing import make_signer
from crawlers.urls import resolve
from xianban.records import Author, CrawlTask, Engagement, Post

SEARCH = "/api/index/s"


class HeimaoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signer: dict[str, Any] = Field(default_factory=dict, description="crawlers.signing config")
    page_size: int = Field(10, ge=1, le=20)


def listed(body: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    result = body.get("result") if isinstance(body, dict) else None
    status = (result or {}).get("status") or {}
    code, msg = status.get("code"), str(status.get("msg") or "")
    if code == -1 and "签名" in msg:
        raise SignatureRejected(f"heimao search: {msg}")
    if code == 401:
        raise LoginRequired(f"heimao search: {msg}")
    if code == 429:
        raise RateLimited(f"heimao search: {msg}")
    data = (result or {}).get("data")
    if code != 0 or not isinstance(data, dict) or not isinstance(data.get("lists"), list):
        raise LayoutChanged(f"heimao search: status {code!r} {msg!r}, no data.lists")
    return data["lists"], data.get("pager") or {}


def to_post(entry: Any, view: str, view_url: str, source: str) -> Post:
    main = entry.get("main") if isinstance(entry, dict) else None
    if not isinstance(main, dict) or not main.get("sn") or not main.get("timestamp"):
        raise LayoutChanged("heimao search: a complaint without main.sn or timestamp")
    tree = LexborHTMLParser(view)
    text = text_of(tree.css_first("p.ts-d-cont"))
    if text is None:
        raise LayoutChanged(f"heimao complaint {main['sn']}: no p.ts-d-cont on its page")
    author = entry.get("author") or {}
    when = exact_time(text_of(tree.css_first("span.ts-time")))
    return Post(
        platform="heimao",
        native_id=str(main["sn"]),
        source=source,
        url=view_url,
        author=Author(name=author.get("title")),
        title=main.get("title"),
        text=text,
        created_at=when or datetime.fromtimestamp(int(main["timestamp"]), tz=UTC),
        engagement=Engagement(
            likes=as_int(main.get("upvote_amount")), comments=as_int(main.get("comment_amount"))
        ),
        addressed_to=main.get("cotitle") or None,
    )


class HeimaoSearch:
    name = "heimao"

    def __init__(self, options: HeimaoOptions | None = None) -> None:
        self.options = options or HeimaoOptions()
        self.signer = make_signer(self.options.signer)

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(HeimaoOptions.model_validate(options))

    async def close(self) -> None:
        await self.signer.aclose()

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        number = int(cursor or 1)
        params = {
            "keywords": task.query or "",
            "page_size": str(self.options.page_size),
            "page": str(number),
        }
        extra = await self.signer.sign("heimao-sha256", params, {})
        entries, pager = listed(await fetch.get_json(SEARCH, params={**params, **extra}))
        page_url = fetch.url_of(SEARCH)
        links = []
        for entry in entries:
            main = entry.get("main") if isinstance(entry, dict) else None
            if not isinstance(main, dict) or not main.get("sn"):
                raise LayoutChanged("heimao search: a complaint without main.sn")
            sn = main["sn"]
            links.append(
                (fetch.url_of(f"/complaint/view/{sn}/"), resolve(main.get("url"), page_url))
            )
        views = await asyncio.gather(*(fetch.get_text(local) for local, _ in links))
        posts = [
            to_post(e, v, public or local, task.source)
            for e, v, (local, public) in zip(entries, views, links, strict=True)
        ]
        more = as_int(pager.get("page_amount")) > number and bool(posts)
        return Page(posts=posts, next_cursor=str(number + 1) if more else None)
