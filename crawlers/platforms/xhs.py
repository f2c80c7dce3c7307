"""Xiaohongshu web API: login-walled notes search, full text from the note feed.

Search lists only a note's display title; the text that names the place and the danger
is in ``feed``, one request per note. The platform has no time filter, so the runtime's
dedupe keeps polls from producing a note twice, and a query past the cap is split by
place in config (more keywords), not by window. Logging in is by QR code
(``xianban sources login``); the runtime checks the session before every task.

With ``options.comments`` the busiest notes' comments (``comment/page``) and every reply
(``comment/sub/page``) come too, each with its IP属地, paged by cursor while ``has_more``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from crawlers.base import Fetcher, Page, QrCode
from crawlers.comments import CommentOptions, busiest, comment_post, page_to_end
from crawlers.errors import LayoutChanged
from xianban.records import Author, CrawlTask, Engagement, PlaceHints, Post

API = "/api/sns/web"
PAGE_SIZE = 20
COUNT = re.compile(r"([\d.]+)(万|w)?")


def count(value: Any) -> int:
    """Counts come as strings, "1.2万" from ten thousand up."""
    if isinstance(value, int):
        return max(value, 0)
    found = COUNT.fullmatch(str(value or "").strip())
    if not found:
        return 0
    return int(float(found.group(1)) * (10_000 if found.group(2) else 1))


def to_post(note: dict[str, Any], source: str) -> Post:
    user = note.get("user") or {}
    interact = note.get("interact_info") or {}
    title = note.get("title") or note.get("display_title")
    return Post(
        platform="xhs",
        native_id=str(note["note_id"]),
        source=source,
        url=f"https://www.xiaohongshu.com/explore/{note['note_id']}",
        author=Author(id=user.get("user_id"), name=user.get("nickname")),
        title=title,
        text=(note.get("desc") or title or "").strip(),
        media=[i["url_default"] for i in note.get("image_list") or [] if i.get("url_default")],
        created_at=datetime.fromtimestamp(int(note["time"]) / 1000, tz=UTC),
        engagement=Engagement(
            likes=count(interact.get("liked_count")),
            comments=count(interact.get("comment_count")),
            shares=count(interact.get("shared_count")),
        ),
        place_hints=PlaceHints(ip_location=note.get("ip_location") or None),
    )


def note_card(item: Any, where: str) -> dict[str, Any]:
    card = item.get("note_card") if isinstance(item, dict) else None
    if not isinstance(card, dict):
        keys = sorted(item) if isinstance(item, dict) else type(item).__name__
        raise LayoutChanged(f"xhs {where}: an item without note_card ({keys})")
    return card


class XhsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: CommentOptions | None = Field(None, description="read the busiest threads")


def _comment(raw: Any, note_id: str, source: str, answers: str) -> Post:
    if not isinstance(raw, dict) or not raw.get("id") or not isinstance(raw.get("content"), str):
        raise LayoutChanged(f"xhs comments of {note_id}: a comment without id or content")
    user = raw.get("user_info") or {}
    target = (raw.get("target_comment") or {}).get("id")
    return comment_post(
        platform="xhs",
        native_id=str(raw["id"]),
        source=source,
        url=f"https://www.xiaohongshu.com/explore/{note_id}?commentId={raw['id']}",
        reply_to=f"xhs:{target}" if target else answers,
        text=raw["content"],
        author_id=user.get("user_id"),
        author_name=user.get("nickname"),
        created_at=datetime.fromtimestamp(int(raw["create_time"]) / 1000, tz=UTC),
        likes=count(raw.get("like_count")),
        ip_location=raw.get("ip_location") if isinstance(raw.get("ip_location"), str) else None,
    )


async def comment_thread(note_id: str, source: str, fetch: Fetcher) -> list[Post]:
    """Every comment of a note, then every reply of each (not just the one shown)."""

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        params = {"note_id": note_id, "cursor": cursor or "", "image_formats": "jpg,webp"}
        data = (await fetch.get_json(f"{API}/v2/comment/page", params=params)).get("data")
        if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
            raise LayoutChanged(f"xhs comments of {note_id}: no data.comments")
        nxt = data.get("cursor")
        more = bool(data.get("has_more")) and bool(data["comments"]) and isinstance(nxt, str)
        return data["comments"], nxt if more else None

    roots = await page_to_end(page, f"xhs comments of {note_id}")
    comments = [_comment(c, note_id, source, f"xhs:{note_id}") for c in roots]
    posts = list(comments)
    for raw, comment in zip(roots, comments, strict=True):
        if count(raw.get("sub_comment_count")) > 0:
            posts += await _replies(note_id, comment, source, fetch)
    return posts


async def _replies(note_id: str, root: Post, source: str, fetch: Fetcher) -> list[Post]:
    where = f"xhs replies to {root.native_id}"

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        params = {
            "note_id": note_id,
            "root_comment_id": root.native_id,
            "num": 10,
            "cursor": cursor or "",
        }
        data = (await fetch.get_json(f"{API}/v2/comment/sub/page", params=params)).get("data")
        if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
            raise LayoutChanged(f"{where}: no data.comments")
        nxt = data.get("cursor")
        more = bool(data.get("has_more")) and bool(data["comments"]) and isinstance(nxt, str)
        return data["comments"], nxt if more else None

    return [_comment(r, note_id, source, root.post_id) for r in await page_to_end(page, where)]


class XhsSearch:
    name = "xhs"

    def __init__(self, options: XhsOptions | None = None) -> None:
        self.options = options or XhsOptions()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(XhsOptions.model_validate(options))

    async def check_session(self, fetch: Fetcher) -> bool:
        body = await fetch.get_json(f"{API}/v2/user/me")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or "guest" not in data:
            raise LayoutChanged(f"xhs user/me: no guest flag ({body!r:.200})")
        return not data["guest"]

    async def qr_create(self, fetch: Fetcher) -> QrCode:
        data = (await fetch.get_json(f"{API}/v1/login/qrcode/create"))["data"]
        return QrCode(qr_id=data["qr_id"], code=data["code"], url=data["url"])

    async def qr_poll(self, fetch: Fetcher, qr: QrCode) -> str | None:
        params = {"qr_id": qr.qr_id, "code": qr.code}
        data = (await fetch.get_json(f"{API}/v1/login/qrcode/status", params=params))["data"]
        token: str | None = (data.get("login_info") or {}).get("session")
        return token

    async def note(self, note_id: str, fetch: Fetcher) -> dict[str, Any]:
        body = await fetch.post_json(f"{API}/v1/feed", json_body={"source_note_id": note_id})
        items = (body.get("data") or {}).get("items") or []
        if not items:
            raise LayoutChanged(f"xhs feed {note_id}: no items")
        card = note_card(items[0], f"feed {note_id}")
        if not card.get("note_id") or card.get("time") is None:
            raise LayoutChanged(f"xhs feed {note_id}: note without note_id or time")
        return card

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        number = int(cursor or 1)
        query = {"keyword": task.query or "", "page": number, "page_size": PAGE_SIZE}
        body = await fetch.post_json(f"{API}/v1/search/notes", json_body=query)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise LayoutChanged(f"xhs search: no data.items ({body!r:.200})")
        notes = [i for i in data["items"] if isinstance(i, dict) and i.get("model_type") == "note"]
        for item in notes:
            note_card(item, "search")
        cards = await asyncio.gather(*(self.note(str(item["id"]), fetch) for item in notes))
        posts = [to_post(card, task.source) for card in cards]
        more = bool(data.get("has_more")) and bool(posts)
        if self.options.comments is not None:
            for post in busiest(list(posts), self.options.comments):
                posts += await comment_thread(post.native_id, task.source, fetch)
        return Page(posts=posts, next_cursor=str(number + 1) if more else None)
