"""Weibo mobile search (m.weibo.cn ``container/getIndex``): cards of mblogs, paged by number."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from html import unescape
from typing import Any

from crawlers.base import Fetcher, Page, Window
from crawlers.errors import LayoutChanged
from xianban.records import Author, CrawlTask, Engagement, PlaceHints, Post

PATH = "/api/container/getIndex"
EXTEND = "/statuses/extend"
CREATED = "%a %b %d %H:%M:%S %z %Y"
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
        created_at=datetime.strptime(mblog["created_at"], CREATED),
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


class WeiboSearch:
    """Incremental by ``starttime``/``endtime`` (Unix seconds, both inclusive)."""

    name = "weibo"

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
        data = body.get("data") or {}
        cards = data.get("cards") or []
        mblogs = [card["mblog"] for card in cards if card.get("card_type") == 9 and "mblog" in card]
        await asyncio.gather(
            *(full_text(mblog, fetch) for mblog in mblogs if mblog.get("isLongText"))
        )
        posts = [to_post(mblog, task.source) for mblog in mblogs]
        if cards and not posts:
            kinds = sorted({str(card.get("card_type")) for card in cards})
            raise LayoutChanged(f"weibo: {len(cards)} cards, none an mblog card (types {kinds})")
        info = data.get("cardlistInfo") or {}
        nxt = info.get("page")
        total = info.get("total")
        return Page(
            posts=posts,
            next_cursor=str(nxt) if nxt and posts else None,
            total=total if isinstance(total, int) else None,
        )
