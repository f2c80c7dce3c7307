"""深圳新闻网 (sznews.com) channel pages: ``node_<id>.htm``, then ``node_<id>_<n>.htm``
while the pager has 下一页; each article page read for its title, time and text."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field
from selectolax.lexbor import LexborHTMLParser

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged
from crawlers.platforms.html_list import text_of
from crawlers.platforms.tieba import exact_time
from crawlers.urls import resolve
from xianban.records import Author, CrawlTask, Post

CONTENT = re.compile(r"/(content_\d+)\.htm$")


class SznewsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str = Field("31234", pattern=r"^\d+$", description="the channel's node id")


def to_post(html: str, url: str, native_id: str, source: str) -> Post:
    tree = LexborHTMLParser(html)
    body = text_of(tree.css_first("div.article-content"))
    if body is None:
        raise LayoutChanged(f"sznews article {native_id}: no div.article-content")
    paragraphs = [text_of(p) for p in tree.css("div.article-content p")]
    origin = text_of(tree.css_first("span.source")) or ""
    return Post(
        platform="sznews",
        native_id=native_id,
        source=source,
        url=url,
        author=Author(name=origin.removeprefix("来源：") or None),
        title=text_of(tree.css_first("div.article-title h1")),
        text="\n".join(p for p in paragraphs if p) or body,
        created_at=exact_time(text_of(tree.css_first("span.pub-time"))),
    )


class SznewsChannel:
    name = "sznews"

    def __init__(self, options: SznewsOptions | None = None) -> None:
        self.options = options or SznewsOptions()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(SznewsOptions.model_validate(options))

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        number = int(cursor or 1)
        node = self.options.node
        path = f"/node_{node}.htm" if number == 1 else f"/node_{node}_{number}.htm"
        tree = LexborHTMLParser(await fetch.get_text(path))
        box = tree.css_first("div.listbox")
        if box is None:
            raise LayoutChanged(f"sznews {path}: no div.listbox")
        links = []
        for anchor in box.css("li a"):
            link = resolve(anchor.attributes.get("href"), fetch.url_of(path))
            found = CONTENT.search(link or "")
            if link is None or found is None:
                raise LayoutChanged(f"sznews {path}: a list link that is not an article")
            links.append((found.group(1), link))
        links = list(dict.fromkeys(links))  # an article linked twice is read once
        pages = await asyncio.gather(*(fetch.get_text(link) for _, link in links))
        posts = [
            to_post(html, link, nid, task.source)
            for (nid, link), html in zip(links, pages, strict=True)
        ]
        more = tree.css_first("a.next") is not None and bool(posts)
        return Page(posts=posts, next_cursor=str(number + 1) if more else None)
