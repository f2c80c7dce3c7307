"""Bilibili video search (``x/web-interface/search/type``): JSON, paged by number, with a
publication-time window the runtime uses to crawl incrementally and to split past the
result cap (``numResults`` stops at the cap, so ``total`` says when to split).

With ``options.comments`` the busiest videos' comments come too (``x/v2/reply/wbi/main``,
WBI-signed by the source's signer with the keys ``x/web-interface/nav`` hands out, paged by
``pagination_str`` until ``is_end``) with every reply (``x/v2/reply/reply``) and IP属地; a
closed comment section (12002) has none, a refused signature (-403) is its own state."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from crawlers.base import Fetcher, Page, Window
from crawlers.comments import CommentOptions, as_int, busiest, comment_post, page_to_end
from crawlers.errors import LayoutChanged, SignatureRejected
from crawlers.signing import Signer, make_signer
from xianban.records import Author, CrawlTask, Engagement, Post

PATH = "/x/web-interface/search/type"
NAV = "/x/web-interface/nav"
REPLIES = "/x/v2/reply/wbi/main"
SUB_REPLIES = "/x/v2/reply/reply"
CLOSED = 12002
HIGHLIGHT = re.compile(r"</?em[^>]*>")


def media_url(value: Any) -> list[str]:
    """Cover URLs come protocol-relative (``//i1.hdslb.com/...``)."""
    if not isinstance(value, str) or not value:
        return []
    return ["https:" + value if value.startswith("//") else value]


def to_post(video: dict[str, Any], source: str) -> Post:
    """Search puts ``<em class="keyword">`` around matches in the title; the description
    is the full text, and the title is often the only place the problem is named."""
    title = HIGHLIGHT.sub("", video.get("title") or "").strip() or None
    description = (video.get("description") or "").strip()
    return Post(
        platform="bilibili",
        native_id=str(video["bvid"]),
        source=source,
        url=video.get("arcurl") or f"https://www.bilibili.com/video/{video['bvid']}",
        author=Author(
            id=str(video["mid"]) if video.get("mid") is not None else None,
            name=video.get("author"),
        ),
        title=title,
        text=description or title or "",
        media=media_url(video.get("pic")),
        created_at=datetime.fromtimestamp(int(video["pubdate"]), tz=UTC),
        engagement=Engagement(
            likes=int(video.get("like") or 0),
            comments=int(video.get("review") or 0),
            views=int(video.get("play") or 0),
        ),
    )


class BilibiliOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signer: dict[str, Any] = Field(default_factory=dict, description="crawlers.signing config")
    comments: CommentOptions | None = Field(None, description="read the busiest threads")


def _reply(raw: Any, bvid: str, source: str, answers: str) -> Post:
    if not isinstance(raw, dict) or not raw.get("rpid") or raw.get("ctime") is None:
        raise LayoutChanged(f"bilibili replies of {bvid}: a reply without rpid or ctime")
    member = raw.get("member") or {}
    place = str((raw.get("reply_control") or {}).get("location") or "")
    parent = raw.get("parent")
    return comment_post(
        platform="bilibili",
        native_id=str(raw["rpid"]),
        source=source,
        url=f"https://www.bilibili.com/video/{bvid}#reply{raw['rpid']}",
        reply_to=f"bilibili:{parent}" if parent else answers,
        text=str((raw.get("content") or {}).get("message") or ""),
        author_id=str(member["mid"]) if member.get("mid") is not None else None,
        author_name=member.get("uname"),
        created_at=datetime.fromtimestamp(int(raw["ctime"]), tz=UTC),
        likes=as_int(raw.get("like")),
        ip_location=place.removeprefix("IP属地：").strip() or None,
    )


class Wbi:
    """The WBI keys, read once from ``nav`` (the file names of its two image URLs)."""

    def __init__(self) -> None:
        self.keys: dict[str, str] | None = None

    async def context(self, fetch: Fetcher) -> dict[str, str]:
        if self.keys is None:
            # nav answers guests -101 "账号未登录" *with* the keys: read as text, not as an
            # error body (the fetcher's health check would call it a login wall)
            try:
                body = json.loads(await fetch.get_text(NAV))
            except ValueError:
                raise LayoutChanged("bilibili nav: not JSON") from None
            wbi = ((body.get("data") or {}) if isinstance(body, dict) else {}).get("wbi_img") or {}
            names = [
                str(wbi.get(k) or "").rsplit("/", 1)[-1].split(".")[0]
                for k in ("img_url", "sub_url")
            ]
            if not all(names):
                raise LayoutChanged("bilibili nav: no wbi_img keys")
            self.keys = {"img_key": names[0], "sub_key": names[1]}
        return self.keys


async def comment_thread(
    video: Post, aid: int, source: str, fetch: Fetcher, signer: Signer, wbi: Wbi
) -> list[Post]:
    """Every top-level reply of a video, then every reply under each."""
    bvid = video.native_id

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        params = {
            "oid": str(aid),
            "type": "1",
            "mode": "3",
            "plat": "1",
            "pagination_str": json.dumps({"offset": cursor or ""}, separators=(",", ":")),
        }
        signed = await signer.sign("bilibili-wbi", params, await wbi.context(fetch))
        body = await fetch.get_json(REPLIES, params={**params, **signed})
        code = body.get("code") if isinstance(body, dict) else None
        if code == CLOSED:
            return [], None
        if code == -403:
            raise SignatureRejected(f"bilibili replies of {bvid}: {body.get('message')}")
        data = body.get("data") if code == 0 else None
        if not isinstance(data, dict) or not isinstance(data.get("replies"), list):
            raise LayoutChanged(f"bilibili replies of {bvid}: code {code!r}, no data.replies")
        cursor_info = data.get("cursor") or {}
        nxt = (cursor_info.get("pagination_reply") or {}).get("next_offset")
        more = not cursor_info.get("is_end", True) and bool(data["replies"]) and bool(nxt)
        return data["replies"], str(nxt) if more else None

    roots = await page_to_end(page, f"bilibili replies of {bvid}")
    replies = [_reply(r, bvid, source, video.post_id) for r in roots]
    posts = list(replies)
    for raw, reply in zip(roots, replies, strict=True):
        if as_int(raw.get("rcount")) > 0:
            posts += await _sub_replies(bvid, aid, reply, source, fetch)
    return posts


async def _sub_replies(bvid: str, aid: int, root: Post, source: str, fetch: Fetcher) -> list[Post]:
    where = f"bilibili replies to {root.native_id}"

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        number = int(cursor or 1)
        params = {"oid": aid, "type": 1, "root": root.native_id, "pn": number, "ps": 10}
        body = await fetch.get_json(SUB_REPLIES, params=params)
        data = body.get("data") if isinstance(body, dict) and body.get("code") == 0 else None
        if not isinstance(data, dict) or not isinstance(data.get("replies"), list):
            raise LayoutChanged(f"{where}: no data.replies")
        info = data.get("page") or {}
        more = as_int(info.get("num")) * as_int(info.get("size")) < as_int(info.get("count"))
        return data["replies"], str(number + 1) if more and data["replies"] else None

    return [_reply(r, bvid, source, root.post_id) for r in await page_to_end(page, where)]


class BilibiliSearch:
    """Incremental by ``pubtime_begin_s``/``pubtime_end_s`` (Unix seconds, inclusive)."""

    name = "bilibili"

    def __init__(self, options: BilibiliOptions | None = None) -> None:
        self.options = options or BilibiliOptions()
        self.signer = make_signer(self.options.signer)
        self.wbi = Wbi()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(BilibiliOptions.model_validate(options))

    async def close(self) -> None:
        await self.signer.aclose()

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        return await self.window_page(task, Window(), cursor, fetch)

    async def window_page(
        self, task: CrawlTask, window: Window, cursor: str | None, fetch: Fetcher
    ) -> Page:
        page = int(cursor or 1)
        params: dict[str, Any] = {
            "search_type": "video",
            "keyword": task.query or "",
            "page": page,
        }
        if window.since is not None:
            params["pubtime_begin_s"] = int(window.since.timestamp())
        if window.until is not None:
            params["pubtime_end_s"] = int(window.until.timestamp())
        body = await fetch.get_json(PATH, params=params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise LayoutChanged(f"bilibili: no data object (keys {sorted(body or {})})")
        results = data.get("result") or []
        videos = [r for r in results if isinstance(r, dict) and r.get("type") == "video"]
        if results and not videos:
            shapes = sorted({str(r.get("result_type") or r.get("type")) for r in results})
            raise LayoutChanged(f"bilibili: {len(results)} results, none a video ({shapes})")
        missing = [v for v in videos if not v.get("bvid") or v.get("pubdate") is None]
        if missing:
            raise LayoutChanged(f"bilibili: {len(missing)} videos without bvid or pubdate")
        posts = [to_post(video, task.source) for video in videos]
        comments = self.options.comments
        if comments is not None:
            aids = {str(v["bvid"]): v.get("aid") for v in videos}
            for post in busiest(list(posts), comments):
                aid = aids.get(post.native_id)
                if isinstance(aid, int):
                    posts += await comment_thread(
                        post, aid, task.source, fetch, self.signer, self.wbi
                    )
        pages = data.get("numPages")
        more = isinstance(pages, int) and page < pages and bool(posts)
        total = data.get("numResults")
        return Page(
            posts=posts,
            next_cursor=str(page + 1) if more else None,
            total=total if isinstance(total, int) else None,
        )
