"""The districts' public message boards (区长信箱, 12345 民意速办): letters and replies.

A task's query is a district's board code (``futian`` … ``dapeng``, one source each); its
list pages link each letter's detail page, which holds the letter (title, writer, time,
text) and, once answered, the department's reply — a post answering the letter, by a
verified author. The letter is addressed to the district's government.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Self
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field
from selectolax.lexbor import LexborHTMLParser

from crawlers.base import Fetcher, Page
from crawlers.comments import comment_post
from crawlers.errors import LayoutChanged
from crawlers.platforms.html_list import text_of
from crawlers.platforms.tieba import exact_time
from crawlers.urls import resolve
from xianban.records import Author, CrawlTask, Post

CODE = re.compile(r"^[a-z]+$")


class BoardOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    districts: dict[str, str] = Field(
        default_factory=dict, description="board code → district name (addressed_to)"
    )


def letter_links(html: str, page_url: str) -> tuple[list[tuple[str, str]], bool]:
    tree = LexborHTMLParser(html)
    table = tree.css_first("table.msg-list")
    if table is None:
        raise LayoutChanged("12345 board: no table.msg-list")
    links = []
    for row in table.css("tbody tr"):
        anchor = row.css_first("td.msg-title a")
        href = anchor.attributes.get("href") if anchor is not None else None
        letter = parse_qs(urlsplit(href or "").query).get("id", [""])[0]
        link = resolve(href, page_url)
        if not letter or link is None:
            raise LayoutChanged("12345 board: a row without its detail?id= link")
        links.append((letter, link))
    return links, tree.css_first("a.next-page") is not None


def to_posts(html: str, letter: str, url: str, source: str, addressed: str | None) -> list[Post]:
    tree = LexborHTMLParser(html)
    detail = tree.css_first("div.msg-detail")
    body = text_of(detail.css_first("div.msg-body")) if detail is not None else None
    if detail is None or body is None:
        raise LayoutChanged(f"12345 letter {letter}: no div.msg-detail / div.msg-body")
    post = Post(
        platform="12345",
        native_id=letter,
        source=source,
        url=url,
        author=Author(name=text_of(detail.css_first("span.msg-writer"))),
        title=text_of(detail.css_first("h2.msg-subject")),
        text=body,
        created_at=exact_time(text_of(detail.css_first("span.msg-date"))),
        addressed_to=addressed,
    )
    replies = []
    for n, reply in enumerate(detail.css("div.msg-reply")):
        text = text_of(reply.css_first("div.reply-body"))
        if text is None:
            raise LayoutChanged(f"12345 letter {letter}: a reply without div.reply-body")
        replies.append(
            comment_post(
                platform="12345",
                native_id=f"{letter}-r{n + 1}",
                source=source,
                url=f"{url}#reply-{n + 1}",
                reply_to=post.post_id,
                text=text,
                author_id=None,
                author_name=text_of(reply.css_first("span.reply-dept")),
                created_at=exact_time(text_of(reply.css_first("span.reply-date"))),
                verified=True,
            )
        )
    return [post, *replies]


class Board12345:
    name = "board12345"

    def __init__(self, options: BoardOptions | None = None) -> None:
        self.options = options or BoardOptions()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(BoardOptions.model_validate(options))

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        code = (task.query or "").strip()
        if not CODE.match(code):
            raise ValueError(f"board12345: the task's query must be a board code, not {code!r}")
        number = int(cursor or 1)
        path = f"/{code}/list"
        html = await fetch.get_text(path, params={"page": number})
        links, more = letter_links(html, fetch.url_of(path))
        links = list(dict.fromkeys(links))  # a letter listed twice is read once
        pages = await asyncio.gather(*(fetch.get_text(link) for _, link in links))
        district = self.options.districts.get(code)
        addressed = f"深圳市{district}人民政府" if district else None
        posts = [
            p
            for (letter, link), text in zip(links, pages, strict=True)
            for p in to_posts(text, letter, link, task.source, addressed)
        ]
        return Page(posts=posts, next_cursor=str(number + 1) if more and links else None)
