"""Douyin web search by request signing, no browser: the search page ships its first
results and a per-keyword token in ``RENDER_DATA``; later pages come from the XHR the
page's script would call, signed (``a_bogus``) the way that script signs it.

Signing is ~100× cheaper than rendering the page in Chromium, and the browser pool
(``crawlers.browser``) stays the fallback for when the signature scheme changes: the
platform then answers 200 with an empty body, which is reported as a layout change so
ops see that the signer, not the source, broke. The cursor carries the token with the
offset, so a resumed crawl signs its next page without reloading the search page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from selectolax.lexbor import LexborHTMLParser

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged, MalformedResponse
from xianban.records import Author, CrawlTask, Engagement, PlaceHints, Post

if TYPE_CHECKING:
    from crawlers.browser import BrowserPool

XHR = "/aweme/v1/web/general/search/single/"
PAGE_SIZE = 10


def fnv1a(text: str) -> str:
    """The search script's hash (FNV-1a, 32 bits, UTF-8), as lowercase hex."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def render_data(html: str) -> dict[str, Any]:
    node = LexborHTMLParser(html).css_first("script#RENDER_DATA")
    if node is None:
        raise LayoutChanged("douyin search page: no RENDER_DATA script")
    try:
        app = json.loads(unquote(node.text()))["app"]
    except (ValueError, KeyError, TypeError) as exc:
        raise LayoutChanged(f"douyin search page: RENDER_DATA unreadable ({exc!r})") from None
    if not isinstance(app, dict) or not app.get("searchToken") or "initial" not in app:
        raise LayoutChanged("douyin search page: RENDER_DATA without searchToken or initial")
    return app


def to_post(info: dict[str, Any], source: str) -> Post:
    author = info.get("author") or {}
    stats = info.get("statistics") or {}
    poi = (info.get("poi_info") or {}).get("poi_name")
    followers = author.get("follower_count")
    return Post(
        platform="douyin",
        native_id=str(info["aweme_id"]),
        source=source,
        url=info.get("share_url") or f"https://www.douyin.com/video/{info['aweme_id']}",
        author=Author(
            id=author.get("uid"),
            name=author.get("nickname"),
            followers=followers if isinstance(followers, int) else None,
        ),
        text=info.get("desc") or "",
        created_at=datetime.fromtimestamp(int(info["create_time"]), tz=UTC),
        engagement=Engagement(
            likes=int(stats.get("digg_count") or 0),
            comments=int(stats.get("comment_count") or 0),
            shares=int(stats.get("share_count") or 0),
        ),
        place_hints=PlaceHints(poi=poi),
    )


def parse_results(body: Any, source: str) -> tuple[list[Post], int | None]:
    """Posts and the next offset (None: no more)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise LayoutChanged(f"douyin search: no data list ({body!r:.200})")
    infos = [e.get("aweme_info") for e in body["data"] if isinstance(e, dict)]
    if body["data"] and not any(isinstance(i, dict) for i in infos):
        raise LayoutChanged("douyin search: results without aweme_info")
    broken = [i for i in infos if isinstance(i, dict) and not i.get("aweme_id")]
    if broken:
        raise LayoutChanged(f"douyin search: {len(broken)} results without aweme_id")
    posts = [to_post(i, source) for i in infos if isinstance(i, dict) and i.get("desc")]
    nxt = body.get("cursor")
    more = body.get("has_more") == 1 and isinstance(nxt, int) and bool(posts)
    return posts, nxt if more else None


class DouyinSearch:
    name = "douyin"

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        keyword = (task.query or "").strip()
        if cursor is None:
            app = render_data(await fetch.get_text(f"/search/{quote(keyword)}"))
            token = str(app["searchToken"])
            posts, nxt = parse_results(app["initial"], task.source)
        else:
            offset, _, token = cursor.partition(":")
            if not offset.isdigit() or not token:
                raise ValueError(f"douyin: bad cursor {cursor!r} (expected '<offset>:<token>')")
            params = {
                "keyword": keyword,
                "offset": offset,
                "count": PAGE_SIZE,
                "a_bogus": fnv1a(f"{keyword}|{offset}|{token}"),
            }
            text = await fetch.get_text(XHR, params=params)
            if not text.strip():
                raise LayoutChanged("douyin search: empty answer, the signature was refused")
            try:
                body = json.loads(text)
            except ValueError as exc:
                raise MalformedResponse(f"douyin search: not JSON ({exc})") from None
            posts, nxt = parse_results(body, task.source)
        return Page(posts=posts, next_cursor=f"{nxt}:{token}" if nxt is not None else None)


def rendered_posts(html: str, source: str) -> list[Post]:
    """Posts from the page as the browser rendered it (the fallback when signing fails):
    cards found but without their text mean the class names changed."""
    cards = LexborHTMLParser(html).css("li[data-aweme-id]")
    posts = []
    for card in cards:
        desc = card.css_first("p.aweme-desc")
        ts = card.css_first("span.publish-time")
        if desc is None or ts is None or not (ts.attributes.get("data-ts") or "").isdigit():
            raise LayoutChanged(
                f"douyin rendered page: card {card.attributes.get('data-aweme-id')} "
                f"without p.aweme-desc or span.publish-time[data-ts] (classes changed?)"
            )
        author = card.css_first("span.author-name")
        likes = card.css_first("span.like-count")
        poi = card.css_first("span.poi-name")
        info = {
            "aweme_id": card.attributes.get("data-aweme-id"),
            "desc": desc.text(strip=True),
            "create_time": int(ts.attributes.get("data-ts") or 0),
            "author": {"nickname": author.text(strip=True) if author else None},
            "statistics": {"digg_count": int(likes.text(strip=True) or 0) if likes else 0},
            "poi_info": {"poi_name": poi.text(strip=True)} if poi else None,
        }
        posts.append(to_post(info, source))
    return posts


async def browse(pool: BrowserPool, url: str, source: str, *, pages: int) -> list[Post]:
    """Render the search page and press "加载更多" until ``pages`` pages or no more."""
    async with pool.page() as tab:
        await tab.goto(url)
        await tab.wait_for_selector("#root ul")
        for _ in range(pages - 1):
            if not await tab.locator("button.load-more").is_visible():
                break
            shown = await tab.locator("li[data-aweme-id]").count()
            await tab.locator("button.load-more").click()
            await tab.wait_for_function(
                f"document.querySelectorAll('li[data-aweme-id]').length > {shown}"
                " || document.querySelector('button.load-more').style.display === 'none'"
            )
        html = await tab.content()
    return rendered_posts(html, source)
