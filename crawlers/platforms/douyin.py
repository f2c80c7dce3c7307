"""Douyin web search by request signing, no browser: the search page ships its first
results and a per-keyword token in ``RENDER_DATA``; later pages come from the XHR the
page's script would call, signed (``a_bogus``) the way that script signs it.

Signing is ~100× cheaper than rendering the page in Chromium, and the browser pool
(``crawlers.browser``) stays the fallback for when the signature scheme changes: the
platform then answers 200 with an empty body, which is reported as a layout change so
ops see that the signer, not the source, broke. The cursor carries the token with the
offset, so a resumed crawl signs its next page without reloading the search page.

Signatures come from the source's signer (``crawlers.signing``: in-process or the fleet's
signing service). With ``options.comments`` the busiest videos of each page have their
comment threads read to the end, replies included (``comment_thread``), as posts whose
``reply_to`` is the video; a video whose author closed comments just has none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, Field
from selectolax.lexbor import LexborHTMLParser

from crawlers.base import Fetcher, Page
from crawlers.comments import CommentOptions, as_int, busiest, comment_post, page_to_end
from crawlers.errors import LayoutChanged, MalformedResponse, SignatureRejected
from crawlers.signing import Signer, make_signer
from xianban.records import Author, CrawlTask, Engagement, PlaceHints, Post

if TYPE_CHECKING:
    from crawlers.browser import BrowserPool

XHR = "/aweme/v1/web/general/search/single/"
COMMENTS = "/aweme/v1/web/comment/list/"
REPLIES = "/aweme/v1/web/comment/list/reply/"
PAGE_SIZE = 10
COMMENT_PAGE = 20


class DouyinOptions(BaseModel):
    """A Douyin source's ``options``."""

    model_config = ConfigDict(extra="forbid")

    signer: dict[str, Any] = Field(default_factory=dict, description="crawlers.signing config")
    comments: CommentOptions | None = Field(None, description="read the busiest threads")
    count: int = Field(10, ge=1, le=50, description="videos per page (creator, POI feeds)")


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
            id=author.get("sec_uid") or author.get("uid"),
            name=author.get("nickname"),
            followers=followers if isinstance(followers, int) and followers >= 0 else None,
        ),
        text=info.get("desc") or "",
        created_at=datetime.fromtimestamp(int(info["create_time"]), tz=UTC),
        engagement=Engagement(
            likes=as_int(stats.get("digg_count")),
            comments=as_int(stats.get("comment_count")),
            shares=as_int(stats.get("share_count")),
        ),
        place_hints=PlaceHints(poi=poi if isinstance(poi, str) else None),
    )


def parse_json(text: str, where: str) -> Any:
    """A signed XHR's body: empty means the signature was refused (the platform's way)."""
    if not text.strip():
        raise SignatureRejected(f"douyin {where}: empty answer, the signature was refused")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MalformedResponse(f"douyin {where}: not JSON ({exc})") from None


async def signed_get(
    fetch: Fetcher, signer: Signer, path: str, params: dict[str, str], where: str
) -> Any:
    extra = await signer.sign("douyin-a_bogus", params, {})
    body = parse_json(await fetch.get_text(path, params={**params, **extra}), where)
    if not isinstance(body, dict):
        raise LayoutChanged(f"douyin {where}: not an object")
    if body.get("status_code") not in (0, None):
        raise LayoutChanged(f"douyin {where}: status_code {body.get('status_code')}")
    return body


def _comment(raw: Any, aweme_id: str, source: str) -> Post:
    if not isinstance(raw, dict) or not raw.get("cid") or not isinstance(raw.get("text"), str):
        raise LayoutChanged(f"douyin comments of {aweme_id}: a comment without cid or text")
    user = raw.get("user") or {}
    answers = raw.get("reply_to_reply_id") or "0"
    root = raw.get("reply_id") or "0"
    parent = answers if answers != "0" else root if root != "0" else None
    return comment_post(
        platform="douyin",
        native_id=str(raw["cid"]),
        source=source,
        url=f"https://www.douyin.com/video/{aweme_id}?comment_id={raw['cid']}",
        reply_to=f"douyin:{parent or aweme_id}",
        text=raw["text"],
        author_id=user.get("sec_uid") or user.get("uid"),
        author_name=user.get("nickname"),
        created_at=datetime.fromtimestamp(int(raw["create_time"]), tz=UTC),
        likes=as_int(raw.get("digg_count")),
        ip_location=raw.get("ip_label") if isinstance(raw.get("ip_label"), str) else None,
    )


async def comment_thread(
    aweme_id: str, source: str, fetch: Fetcher, signer: Signer, *, replies: bool = True
) -> list[Post]:
    """Every comment under a video and, with ``replies``, every reply under each."""
    where = f"comments of {aweme_id}"

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        params = {"aweme_id": aweme_id, "cursor": cursor or "0", "count": str(COMMENT_PAGE)}
        body = await signed_get(fetch, signer, COMMENTS, params, where)
        if "comments" not in body:
            raise LayoutChanged(f"douyin {where}: no comments key ({sorted(body)})")
        if body["comments"] is None:  # closed by the author: nothing to read, not an error
            return [], None
        if not isinstance(body["comments"], list):
            raise LayoutChanged(f"douyin {where}: comments is not a list")
        nxt = body.get("cursor")
        more = as_int(body.get("has_more")) == 1 and bool(body["comments"])
        return body["comments"], str(nxt) if more and isinstance(nxt, int) else None

    raw = await page_to_end(page, f"douyin {where}")
    comments = [_comment(c, aweme_id, source) for c in raw]
    posts = list(comments)
    if replies:
        for comment, post in zip(raw, comments, strict=True):
            if as_int(comment.get("reply_comment_total")) > 0:
                posts += await _replies(aweme_id, post.native_id, source, fetch, signer)
    return posts


async def _replies(
    aweme_id: str, cid: str, source: str, fetch: Fetcher, signer: Signer
) -> list[Post]:
    where = f"replies to {cid}"

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        params = {
            "item_id": aweme_id,
            "comment_id": cid,
            "cursor": cursor or "0",
            "count": str(COMMENT_PAGE),
        }
        body = await signed_get(fetch, signer, REPLIES, params, where)
        found = body.get("comments")
        if not isinstance(found, list):
            raise LayoutChanged(f"douyin {where}: no comments list ({sorted(body)})")
        nxt = body.get("cursor")
        more = as_int(body.get("has_more")) == 1 and bool(found)
        return found, str(nxt) if more and isinstance(nxt, int) else None

    return [_comment(c, aweme_id, source) for c in await page_to_end(page, f"douyin {where}")]


async def with_comments(
    posts: list[Post], options: CommentOptions | None, source: str, fetch: Fetcher, signer: Signer
) -> list[Post]:
    """The page's posts, followed by the threads of its busiest ones."""
    if options is None:
        return posts
    out = list(posts)
    for post in busiest(posts, options):
        out += await comment_thread(post.native_id, source, fetch, signer, replies=options.replies)
    return out


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


class SignedDouyin:
    """What every Douyin adapter shares: its options and the signer its requests go through
    (the signer may be a browser or a service, so it is closed with the adapter)."""

    def __init__(self, options: DouyinOptions | None = None) -> None:
        self.options = options or DouyinOptions()
        self.signer = make_signer(self.options.signer)

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(DouyinOptions.model_validate(options))

    async def close(self) -> None:
        await self.signer.aclose()


class DouyinSearch(SignedDouyin):
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
            params = {"keyword": keyword, "offset": offset, "count": str(PAGE_SIZE)}
            extra = await self.signer.sign("douyin-search", params, {"token": token})
            text = await fetch.get_text(XHR, params={**params, **extra})
            posts, nxt = parse_results(parse_json(text, "search"), task.source)
        posts = await with_comments(posts, self.options.comments, task.source, fetch, self.signer)
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
