"""Weibo mobile search (m.weibo.cn ``container/getIndex``): cards of mblogs, paged by number.

With ``options.comments`` the busiest posts of each page have their comments read
(``comments/hotflow``) with every reply (``comments/hotFlowChild``), paged by ``max_id``
until it is 0; a post whose author limits comments ("由于博主设置…") just has none.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from html import unescape
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from crawlers.base import Fetcher, Page, Window
from crawlers.comments import CommentOptions, as_int, busiest, comment_post, page_to_end
from crawlers.errors import LayoutChanged
from xianban.records import Author, CrawlTask, Engagement, PlaceHints, Post

PATH = "/api/container/getIndex"
EXTEND = "/statuses/extend"
HOTFLOW = "/comments/hotflow"
CHILD = "/comments/hotFlowChild"
CREATED = "%a %b %d %H:%M:%S %z %Y"
MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
WEEKDAYS = frozenset(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
IMG_ALT = re.compile(
    r"""<img\b[^>]*?\balt=(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>""", re.IGNORECASE
)
TAG = re.compile(r"<[^>]*>")


def plain_text(html: str) -> str:
    """Weibo's text is HTML: emoji as <img alt>, topics and mentions as links, <br />.

    Regexes, not an HTML parser: the fragments are machine-made, with ``<`` in the words
    escaped, and a parser per post was half the crawler's CPU time per page.
    """
    text = IMG_ALT.sub(lambda m: "".join(m.groups("")), BREAK.sub("\n", html))
    return unescape(TAG.sub("", text)).strip()


def followers(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and (m := re.fullmatch(r"([\d.]+)万", value)):
        return int(float(m.group(1)) * 10_000)
    return None


@functools.cache
def _zone(offset: str) -> timezone:
    sign = -1 if offset[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))


def created(value: str) -> datetime:
    """Weibo's ``Tue Dec 01 12:30:00 +0800 2026``, read by hand: ``strptime`` with ``%a %b``
    consults the locale on every call, a third of a search page's parse (measured). Anything
    else goes to ``strptime``, which raises the ``ValueError`` callers expect."""
    try:
        weekday, month, day, clock, offset, year = value.split(" ")
        hour, minute, second = clock.split(":")
        if weekday in WEEKDAYS and offset[0] in "+-" and len(offset) == 5:
            return datetime(
                int(year), MONTHS[month], int(day), int(hour), int(minute), int(second),
                tzinfo=_zone(offset),
            )  # fmt: skip
    except (ValueError, KeyError):
        pass
    return datetime.strptime(value, CREATED)


def to_post(mblog: dict[str, Any], source: str) -> Post:
    user = mblog.get("user") or {}
    region = (mblog.get("region_name") or "").removeprefix("发布于").strip() or None
    retweeted = mblog.get("retweeted_status")
    return Post(
        platform="weibo",
        native_id=str(mblog["id"]),
        source=source,
        url=f"https://m.weibo.cn/status/{mblog['id']}",
        author=Author(
            id=str(user["id"]) if user.get("id") is not None else None,
            name=user.get("screen_name"),
            followers=followers(user.get("followers_count")),
            verified=bool(user.get("verified")),
        ),
        text=plain_text(mblog.get("text") or ""),
        media=[p["url"] for p in mblog.get("pics") or [] if p.get("url")],
        created_at=created(mblog["created_at"]),
        engagement=Engagement(
            likes=int(mblog.get("attitudes_count") or 0),
            comments=int(mblog.get("comments_count") or 0),
            shares=int(mblog.get("reposts_count") or 0),
        ),
        place_hints=PlaceHints(ip_location=region),
        repost_of=f"weibo:{retweeted['id']}" if retweeted else None,
    )


async def full_text(mblog: dict[str, Any], fetch: Fetcher) -> None:
    """Search cuts posts past 60 characters ("…全文"); the rest is one more request away,
    and it is often where the place and the danger are named."""
    body = await fetch.get_json(EXTEND, params={"id": mblog["id"]})
    content = (body.get("data") or {}).get("longTextContent")
    if isinstance(content, str) and content:
        mblog["text"] = content


class WeiboOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: CommentOptions | None = Field(None, description="read the busiest threads")


def _comment(raw: Any, mid: str, source: str, answers: str) -> Post:
    if not isinstance(raw, dict) or raw.get("id") in (None, "") or "text" not in raw:
        raise LayoutChanged(f"weibo comments of {mid}: a comment without id or text")
    user = raw.get("user") or {}
    where = str(raw.get("source") or "").removeprefix("来自").strip()
    return comment_post(
        platform="weibo",
        native_id=str(raw["id"]),
        source=source,
        url=f"https://m.weibo.cn/detail/{mid}?cid={raw['id']}",
        reply_to=answers,
        text=plain_text(str(raw["text"])),
        author_id=str(user["id"]) if user.get("id") is not None else None,
        author_name=user.get("screen_name"),
        created_at=created(str(raw["created_at"])),
        likes=as_int(raw.get("like_count")),
        ip_location=where or None,
    )


async def comment_thread(
    mid: str, source: str, fetch: Fetcher, *, replies: bool = True
) -> list[Post]:
    """Every comment under a post, then every reply under each (楼中楼)."""

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        params = {"id": mid, "mid": mid, "max_id_type": 0}
        if cursor:
            params["max_id"] = cursor
        body = await fetch.get_json(HOTFLOW, params=params)
        if body.get("ok") == 0:  # limited by the author, or none: no thread to read
            return [], None
        data = body.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise LayoutChanged(f"weibo comments of {mid}: no data.data list")
        nxt = as_int(data.get("max_id"))
        return data["data"], str(nxt) if nxt and data["data"] else None

    raw = await page_to_end(page, f"weibo comments of {mid}")
    comments = [_comment(c, mid, source, f"weibo:{mid}") for c in raw]
    posts = list(comments)
    for comment, post in zip(raw, comments, strict=True):
        if replies and as_int(comment.get("total_number")) > 0:
            posts += await _replies(mid, post, source, fetch)
    return posts


async def _replies(mid: str, comment: Post, source: str, fetch: Fetcher) -> list[Post]:
    where = f"weibo replies to {comment.native_id}"

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        params = {"cid": comment.native_id, "max_id": cursor or 0, "max_id_type": 0}
        body = await fetch.get_json(CHILD, params=params)
        if not isinstance(body.get("data"), list):
            raise LayoutChanged(f"{where}: no data list")
        nxt = as_int(body.get("max_id"))
        return body["data"], str(nxt) if nxt and body["data"] else None

    return [_comment(r, mid, source, comment.post_id) for r in await page_to_end(page, where)]


async def with_comments(
    posts: list[Post], options: CommentOptions | None, source: str, fetch: Fetcher
) -> list[Post]:
    if options is None:
        return posts
    out = list(posts)
    for post in busiest(posts, options):
        out += await comment_thread(post.native_id, source, fetch, replies=options.replies)
    return out


def parse_cards(body: Any, source: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The mblogs of a card list and its ``cardlistInfo``."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise LayoutChanged(f"weibo: no data object ({body!r:.200})")
    cards = data.get("cards") or []
    if not isinstance(cards, list):
        raise LayoutChanged("weibo: cards is not a list")
    mblogs = [
        card["mblog"]
        for card in cards
        if isinstance(card, dict) and card.get("card_type") == 9 and "mblog" in card
    ]
    if cards and not mblogs:
        kinds = sorted({str(c.get("card_type")) for c in cards if isinstance(c, dict)})
        raise LayoutChanged(f"weibo: {len(cards)} cards, none an mblog card (types {kinds})")
    info = data.get("cardlistInfo") or {}
    return mblogs, info if isinstance(info, dict) else {}


class WeiboSearch:
    """Incremental by ``starttime``/``endtime`` (Unix seconds, both inclusive)."""

    name = "weibo"

    def __init__(self, options: WeiboOptions | None = None) -> None:
        self.options = options or WeiboOptions()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(WeiboOptions.model_validate(options))

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        return await self.window_page(task, Window(), cursor, fetch)

    async def window_page(
        self, task: CrawlTask, window: Window, cursor: str | None, fetch: Fetcher
    ) -> Page:
        params: dict[str, Any] = {
            "containerid": f"100103type=1&q={task.query or ''}",
            "page_type": "searchall",
            "page": cursor or "1",
        }
        if window.since is not None:
            params["starttime"] = int(window.since.timestamp())
        if window.until is not None:
            params["endtime"] = int(window.until.timestamp())
        body = await fetch.get_json(PATH, params=params)
        mblogs, info = parse_cards(body, task.source)
        await asyncio.gather(
            *(full_text(mblog, fetch) for mblog in mblogs if mblog.get("isLongText"))
        )
        posts = [to_post(mblog, task.source) for mblog in mblogs]
        nxt = info.get("page")
        total = info.get("total")
        more = str(nxt) if nxt and posts else None
        posts = await with_comments(posts, self.options.comments, task.source, fetch)
        return Page(
            posts=posts,
            next_cursor=more,
            total=total if isinstance(total, int) else None,
        )
