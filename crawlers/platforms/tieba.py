"""Baidu Tieba bars (深圳吧 and the district bars): threads with every floor and 楼中楼.

A task's query is a bar's name (``kw``); its pages are the bar's thread list (``pn`` by
``rn``). Tieba ships that list inside an HTML comment of ``code.pagelet_html`` and renders
it with script, so it is read from there. Each thread is read whole: its floors paged by
``pn`` until the pager has no 下一页, the 1楼 as the thread's post (title and text), every
other floor as a post answering it, and each floor's 楼中楼 (``/p/comment``) paged to its
end as posts answering that floor. A bar the platform closed ("本吧暂不开放") has no list:
that is named, never an empty bar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawlers.base import Fetcher, Page
from crawlers.comments import comment_post, page_to_end
from crawlers.errors import LayoutChanged
from crawlers.platforms.html_list import text_of
from crawlers.timeparse import SHANGHAI
from xianban.records import Author, CrawlTask, PlaceHints, Post

LIST_IN_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
FLOOR_NO = re.compile(r"^(\d+)楼$")
EXACT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
Floor = tuple[LexborNode, dict[str, Any]]


class TiebaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rn: int = Field(50, ge=1, le=100, description="threads per list page")
    floors: bool = Field(True, description="read every floor and 楼中楼, not just the 1楼")


def data_field(node: LexborNode, where: str) -> dict[str, Any]:
    try:
        field = json.loads(node.attributes.get("data-field") or "")
    except ValueError:
        raise LayoutChanged(f"tieba {where}: data-field is not JSON") from None
    if not isinstance(field, dict):
        raise LayoutChanged(f"tieba {where}: data-field is not an object")
    return field


def exact_time(text: str | None) -> datetime | None:
    if not text or not EXACT.match(text.strip()):
        return None
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def thread_ids(html: str, bar: str) -> tuple[list[str], bool]:
    """The thread ids a bar page lists and whether a next page follows."""
    tree = LexborHTMLParser(html)
    code = tree.css_first("code.pagelet_html")
    if code is None:
        closed = tree.css_first("div.page404")
        why = text_of(closed) if closed is not None else "no thread list"
        raise LayoutChanged(f"tieba bar {bar}: {why}")
    inner = LIST_IN_COMMENT.search(code.html or "")
    listing = LexborHTMLParser(inner.group(1) if inner else (code.html or ""))
    if listing.css_first("ul#thread_list") is None:
        raise LayoutChanged(f"tieba bar {bar}: no ul#thread_list in the list pagelet")
    ids = []
    for row in listing.css("li.j_thread_list"):
        tid = data_field(row, f"bar {bar}").get("id")
        if not isinstance(tid, int):
            raise LayoutChanged(f"tieba bar {bar}: a row without its thread id")
        ids.append(str(tid))
    if not ids and listing.css("ul#thread_list > li"):
        raise LayoutChanged(f"tieba bar {bar}: rows that are not li.j_thread_list")
    return ids, tree.css_first("a.next.pagination-item") is not None


class TiebaBar:
    name = "tieba"

    def __init__(self, options: TiebaOptions | None = None) -> None:
        self.options = options or TiebaOptions()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(TiebaOptions.model_validate(options))

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        bar = (task.query or "").strip()
        if not bar:
            raise ValueError("tieba: the task's query must be a bar name (kw)")
        pn = int(cursor or 0)
        params = {"kw": bar, "ie": "utf-8", "pn": pn, "rn": self.options.rn}
        ids, more = thread_ids(await fetch.get_text("/f", params=params), bar)
        ids = list(dict.fromkeys(ids))  # a row listed twice (a pinned thread) is read once
        posts: list[Post] = []
        for tid in ids:
            posts += await self.thread(tid, task.source, fetch)
        return Page(posts=posts, next_cursor=str(pn + self.options.rn) if more and ids else None)

    async def thread(self, tid: str, source: str, fetch: Fetcher) -> list[Post]:
        url = fetch.url_of(f"/p/{tid}")
        title: str | None = None
        floors: list[Floor] = []

        async def page(cursor: str | None) -> tuple[list[Floor], str | None]:
            nonlocal title
            number = int(cursor or 1)
            tree = LexborHTMLParser(await fetch.get_text(f"/p/{tid}", params={"pn": number}))
            heading = tree.css_first("h3.core_title_txt")
            if heading is None:
                raise LayoutChanged(f"tieba thread {tid}: no h3.core_title_txt")
            title = title or heading.attributes.get("title") or text_of(heading)
            found = [(n, data_field(n, f"thread {tid}")) for n in tree.css("div.l_post")]
            if not found:
                raise LayoutChanged(f"tieba thread {tid}: page {number} without div.l_post")
            pager = tree.css_first("li.l_pager")
            more = pager is not None and any("下一页" in a.text() for a in pager.css("a"))
            return found, str(number + 1) if more else None

        if self.options.floors:
            floors = await page_to_end(page, f"tieba thread {tid}")
        else:
            floors, _ = await page(None)
        posts: list[Post] = []
        for node, field in floors:
            post = self.floor(node, field, tid, url, title, source)
            posts.append(post)
            comment_num = (field.get("content") or {}).get("comment_num")
            if self.options.floors and isinstance(comment_num, int) and comment_num > 0:
                posts += await self.lzl(tid, post, url, source, fetch)
        if not posts or posts[0].native_id != tid:
            raise LayoutChanged(f"tieba thread {tid}: its first floor is not the 1楼")
        return posts if self.options.floors else posts[:1]

    def floor(
        self,
        node: LexborNode,
        field: dict[str, Any],
        tid: str,
        url: str,
        title: str | None,
        source: str,
    ) -> Post:
        content = field.get("content") or {}
        author = (field.get("author") or {}).get("user_name")
        pid, number = content.get("post_id"), content.get("post_no")
        body = text_of(node.css_first("div.d_post_content"))
        if not isinstance(pid, int) or not isinstance(number, int) or body is None:
            raise LayoutChanged(f"tieba thread {tid}: a floor without post_id, post_no or text")
        tails = [t.text(strip=True) for t in node.css("span.tail-info")]
        ip = next((t.split(":", 1)[1] for t in tails if t.startswith("IP属地:")), None)
        when = next((exact_time(t) for t in tails if exact_time(t)), None)
        hints = PlaceHints(ip_location=ip or None)
        if number == 1:
            return Post(
                platform="tieba",
                native_id=tid,
                source=source,
                url=url,
                author=Author(name=author),
                title=title,
                text=body,
                created_at=when,
                place_hints=hints,
            )
        return comment_post(
            platform="tieba",
            native_id=str(pid),
            source=source,
            url=f"{url}?pid={pid}#{pid}",
            reply_to=f"tieba:{tid}",
            text=body,
            author_id=None,
            author_name=author,
            created_at=when,
            ip_location=ip,
        )

    async def lzl(self, tid: str, floor: Post, url: str, source: str, fetch: Fetcher) -> list[Post]:
        where = f"tieba 楼中楼 of {floor.native_id}"

        async def page(cursor: str | None) -> tuple[list[Post], str | None]:
            number = int(cursor or 1)
            params = {"tid": tid, "pid": floor.native_id, "pn": number}
            tree = LexborHTMLParser(await fetch.get_text("/p/comment", params=params))
            found = []
            for row in tree.css("li.lzl_single_post"):
                field = data_field(row, where)
                body = text_of(row.css_first("span.lzl_content_main"))
                spid = field.get("spid")
                if not isinstance(spid, int) or body is None:
                    raise LayoutChanged(f"{where}: a reply without spid or text")
                found.append(
                    comment_post(
                        platform="tieba",
                        native_id=str(spid),
                        source=source,
                        url=f"{url}?pid={floor.native_id}&cid={spid}#{spid}",
                        reply_to=floor.post_id,
                        text=body,
                        author_id=None,
                        author_name=field.get("user_name"),
                        created_at=exact_time(text_of(row.css_first("span.lzl_time"))),
                    )
                )
            pager = tree.css_first("p.j_pager")
            more = pager is not None and any("下一页" in a.text() for a in pager.css("a"))
            return found, str(number + 1) if more and found else None

        return await page_to_end(page, where)
