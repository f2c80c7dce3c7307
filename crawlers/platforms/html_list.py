"""Generic HTML list + detail adapter: a forum or news site is a YAML entry, no code.

A list page gives rows; each row links to a detail page holding the post. Paging is by
page number (``{page}`` in ``list_path``) or by following a "next" link. Selectors are
selectolax CSS. A list page whose rows no longer match while its pager does, or a row
or detail page missing what the map says is there, is ``LayoutChanged``: a redesigned
site must stop the source loudly, not pass for an empty board.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Self
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged
from crawlers.urls import resolve
from xianban.records import Author, CrawlTask, PlaceHints, Post

SOURCE_BREAK = re.compile(r"[\r\n]+")
BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?")


class DetailMap(BaseModel):
    """CSS selectors inside a detail page; only ``text`` is required."""

    model_config = ConfigDict(extra="forbid")

    text: str
    title: str | None = None
    time: str | None = Field(
        None, description="an element whose title attribute or text holds 'YYYY-MM-DD HH:MM'"
    )
    author: str | None = None
    ip_location: str | None = Field(None, description="'IP属地：广东' → 广东")
    images: str | None = Field(None, description="img elements; their src")


class HtmlListOptions(BaseModel):
    """An HTML list + detail source's ``options`` in configs/sources.yaml."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(min_length=1, description="Post.platform of every item")
    list_path: str = Field(
        description="the list page under base_url; '{page}' in it pages by number (from 1)"
    )
    next_link: str | None = Field(None, description="selector of the 'next page' link")
    rows: str = Field(description="selector of one listed post")
    link: str = Field(description="selector, inside a row, of the link to its detail page")
    id_pattern: re.Pattern[str] = Field(
        description="regex whose first group, searched in the detail link, is the native id"
    )
    detail: DetailMap
    link_base: str | None = Field(None, description="makes Post.url absolute")
    timezone: str = Field("Asia/Shanghai", description="of the pages' times")


def first(tree: LexborHTMLParser, selector: str | None) -> LexborNode | None:
    return tree.css_first(selector) if selector else None


def text_of(node: LexborNode | None) -> str | None:
    """Text as a browser shows it: source line breaks are not breaks, ``<br>`` is one."""
    if node is None:
        return None
    html = BREAK.sub("\n", SOURCE_BREAK.sub("", node.html or ""))
    shown = LexborHTMLParser(html).text(separator="")
    return shown.replace("\xa0", " ").strip() or None


class HtmlListAdapter:
    name = "html_list"

    def __init__(self, options: HtmlListOptions) -> None:
        self.options = options
        self.zone = ZoneInfo(options.timezone)

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(HtmlListOptions.model_validate(options))

    def list_url(self, cursor: str | None) -> str:
        """The cursor is the next page's number, or its path when paging follows links."""
        path = self.options.list_path
        if "{page}" in path:
            return path.replace("{page}", cursor or "1")
        return cursor or path

    def time(self, node: LexborNode | None) -> datetime | None:
        if node is None:
            return None
        for where in (node.attributes.get("title") or "", node.text(separator=" ")):
            if found := TIME.search(where):
                return datetime.fromisoformat(found.group(0)).replace(tzinfo=self.zone)
        for child in node.css("[title]"):
            if found := TIME.search(child.attributes.get("title") or ""):
                return datetime.fromisoformat(found.group(0)).replace(tzinfo=self.zone)
        return None

    async def detail(self, path: str, native_id: str, source: str, fetch: Fetcher) -> Post:
        """``path``: the detail page's absolute URL (links resolve like a browser's)."""
        tree = LexborHTMLParser(await fetch.get_text(path))
        spec = self.options.detail
        text = text_of(first(tree, spec.text))
        if text is None:
            raise LayoutChanged(f"{self.options.platform}: no {spec.text!r} on {path}")
        ip = text_of(first(tree, spec.ip_location))
        images = tree.css(spec.images) if spec.images else []
        base = self.options.link_base
        return Post(
            platform=self.options.platform,
            native_id=native_id,
            source=source,
            url=urljoin(base, urlsplit(path).path.lstrip("/")) if base else path,
            author=Author(name=text_of(first(tree, spec.author))),
            title=text_of(first(tree, spec.title)),
            text=text,
            media=[link for img in images if (link := resolve(img.attributes.get("src"), path))],
            created_at=self.time(first(tree, spec.time)),
            place_hints=PlaceHints(ip_location=re.split(r"[:：]", ip)[-1].strip() if ip else None),
        )

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        opts = self.options
        here = self.list_url(cursor)
        tree = LexborHTMLParser(await fetch.get_text(here))
        found: dict[str, str] = {}
        for row in tree.css(opts.rows):
            link = row.css_first(opts.link)
            href = link.attributes.get("href") if link is not None else None
            match = opts.id_pattern.search(href or "")
            if not href or match is None:
                raise LayoutChanged(f"{opts.platform}: a row of {here} without {opts.link!r}")
            target = resolve(href, fetch.url_of(here))
            if target is None:
                raise LayoutChanged(f"{opts.platform}: a row of {here} links nowhere ({href!r})")
            found.setdefault(match.group(1), target)
        posts = await asyncio.gather(
            *(self.detail(path, nid, task.source, fetch) for nid, path in found.items())
        )
        more = bool(posts) if opts.next_link is None else None
        return Page(
            posts=posts, next_cursor=self.next_cursor(tree, cursor, fetch.url_of(here), more)
        )

    def next_cursor(
        self, tree: LexborHTMLParser, cursor: str | None, here: str, more: bool | None
    ) -> str | None:
        """Without a next-link selector, numbered pages go on until one lists nothing."""
        if more is not None:
            return (
                str(int(cursor or "1") + 1) if more and "{page}" in self.options.list_path else None
            )
        nxt = first(tree, self.options.next_link)
        href = nxt.attributes.get("href") if nxt is not None else None
        if not href:
            return None
        if "{page}" in self.options.list_path:
            return str(int(cursor or "1") + 1)
        return resolve(href, here)
