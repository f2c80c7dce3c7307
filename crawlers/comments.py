"""Comment threads as posts: paged to their end, sub-comments (楼中楼) included.

An incomplete thread is the commonest complaint about the crawlers people use: the first
page of comments, three replies of each. Here every list is read until the platform says
there is no more (``page_to_end``), with two guards instead of a page cap that would cut
silently: a cursor that does not move, and a thread longer than any platform serves, are
``LayoutChanged`` — loud, never a short thread passed off as whole.

A comment is a ``Post`` whose ``reply_to`` is the post it answers (a reply's is the comment
it answers); ``comment_post`` builds one the same way for every platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from crawlers.errors import LayoutChanged
from xianban.records import Author, Engagement, PlaceHints, Post

T = TypeVar("T")
MAX_THREAD_PAGES = 500
"""More pages than any platform serves under one post: past it the cursor is looping."""


class CommentOptions(BaseModel):
    """``options.comments`` of a source: whose threads to read with each page of posts."""

    model_config = ConfigDict(extra="forbid")

    posts: int = Field(5, ge=0, description="threads read per page of posts (busiest first)")
    min_comments: int = Field(1, ge=1, description="only posts with at least this many")
    replies: bool = Field(True, description="read each comment's sub-comments (楼中楼) too")


async def page_to_end(
    fetch_page: Callable[[str | None], Awaitable[tuple[Sequence[T], str | None]]],
    where: str,
) -> list[T]:
    """Every item of a cursor-paged list: pages until the cursor is None."""
    items: list[T] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_THREAD_PAGES):
        page, nxt = await fetch_page(cursor)
        items.extend(page)
        if nxt is None:
            return items
        if nxt in seen or nxt == cursor:
            raise LayoutChanged(f"{where}: the cursor {nxt!r} does not move on")
        seen.add(nxt)
        cursor = nxt
    raise LayoutChanged(f"{where}: more than {MAX_THREAD_PAGES} pages, the cursor loops")


def busiest(posts: Sequence[Post], options: CommentOptions) -> list[Post]:
    """The posts whose threads a page reads: most commented first, up to ``posts``."""
    chosen = [p for p in posts if p.engagement.comments >= options.min_comments]
    chosen.sort(key=lambda p: -p.engagement.comments)
    return chosen[: options.posts]


def comment_post(
    *,
    platform: str,
    native_id: str,
    source: str,
    url: str,
    reply_to: str,
    text: str,
    author_id: str | None,
    author_name: str | None,
    created_at: datetime | None,
    likes: int = 0,
    ip_location: str | None = None,
    verified: bool = False,
) -> Post:
    """A comment or reply as a post of ``platform`` answering ``reply_to`` (a post id)."""
    return Post(
        platform=platform,
        native_id=native_id,
        source=source,
        url=url,
        author=Author(id=author_id, name=author_name, verified=verified),
        text=text,
        created_at=created_at,
        engagement=Engagement(likes=max(likes, 0)),
        place_hints=PlaceHints(ip_location=ip_location or None),
        reply_to=reply_to,
    )


def as_int(value: object) -> int:
    """A count as platforms send it: int, "123", "1.2万" / "3w", or junk (0)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if not isinstance(value, str):
        return 0
    text = value.strip().replace(",", "")
    scale = 1
    if text[-1:] in ("万", "w", "W"):
        text, scale = text[:-1], 10_000
    elif text[-1:] == "亿":
        text, scale = text[:-1], 100_000_000
    try:
        number = float(text)
    except ValueError:
        return 0
    return int(number * scale) if 0 <= number < 1e12 else 0
