"""Douyin beyond search: comments under a video with their replies, a creator's videos, a
place's (POI) videos — the web XHRs douyin.com calls, each signed with ``a_bogus``.

- ``/aweme/v1/web/comment/list/?aweme_id=&cursor=&count=`` → ``{"status_code": 0,
  "comments": [{cid, text, aweme_id, create_time, digg_count, reply_id: "0",
  reply_comment_total, user: {uid, nickname, sec_uid}, ip_label}], "cursor", "has_more",
  "total"}``; a video whose author closed comments answers ``"comments": null`` with
  ``has_more: 0``.
- ``/aweme/v1/web/comment/list/reply/?item_id=&comment_id=&cursor=&count=`` → the replies of
  one comment (``reply_id`` = that comment, ``reply_to_reply_id`` the reply answered).
- ``/aweme/v1/web/aweme/post/?sec_user_id=&max_cursor=&count=`` → ``{"aweme_list",
  "max_cursor" (ms of the oldest served), "has_more"}``, newest first.
- ``/aweme/v1/web/poi/detail/aweme/?poi_id=&cursor=&count=`` → the videos tagged there.

A missing or wrong ``a_bogus`` gets 200 with an empty body, as on search.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.accounts import REPORTERS, sec_uid
from sim.platforms.comments import Comment
from sim.platforms.douyin import PREFIX, SITE, aweme
from sim.platforms.faults import Active, guarded
from sim.platforms.items import Item
from sim.platforms.listing import parse_int
from sim.platforms.pages import html_pages, json_response
from sim.platforms.signatures import douyin_ok, fnv
from sim.platforms.state import SimState
from sim.platforms.venues import spread

MAX_COUNT = 50


def poi_id(name: str) -> str:
    """The numeric id Douyin gives a place tag."""
    return str(6_601_000_000_000_000_000 + int(fnv(name), 16))


def comment_json(comment: Comment, replies: int) -> dict[str, Any]:
    return {
        "cid": comment.native_id,
        "text": comment.text,
        "aweme_id": comment.post_id,
        "create_time": int(comment.created_at.timestamp()),
        "digg_count": comment.likes,
        "reply_id": comment.root or "0",
        "reply_to_reply_id": (
            comment.reply_to if comment.root and comment.reply_to != comment.root else "0"
        ),
        "reply_comment_total": replies,
        "user": {
            "uid": str(comment.author.id),
            "nickname": comment.author.name,
            "sec_uid": sec_uid(comment.author),
        },
        "ip_label": comment.ip_region,
        "status": 1,
    }


def closed(item: Item) -> bool:
    """One video in twenty has its comments closed by its author."""
    return spread("comments-closed", item.native_id, 20) == 0


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    def signed(request: Request) -> bool:
        return douyin_ok(dict(request.query_params), state.signing["douyin-a_bogus"])

    def bounds(request: Request, cursor: str) -> tuple[int, int]:
        params = request.query_params
        start = parse_int(params.get(cursor), cursor, 0, minimum=0)
        count = parse_int(params.get("count"), "count", 20)
        if count > MAX_COUNT:
            raise ValueError(f"参数 count 不能超过 {MAX_COUNT}")
        return start, count

    def bad(message: str) -> Response:
        return json_response({"status_code": 2483, "status_msg": message}, 400)

    def video(native_id: str) -> Item | None:
        item = corpus.get(native_id)
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return None
        return item

    def listing(
        found: list[dict[str, Any]], start: int, count: int, active: Active
    ) -> dict[str, Any]:
        first = max(0, start - active.overlap)
        page = [] if active.silent_block else found[first : start + count]
        more = not active.silent_block and start + count < len(found)
        body: dict[str, Any] = {
            "status_code": 0,
            "cursor": start + count,
            "has_more": int(more),
            "total": len(found),
            "extra": {"now": int(state.now().timestamp() * 1000)},
        }
        body["comment_list" if active.layout_changed else "comments"] = page
        return body

    async def comments(request: Request, active: Active) -> Response:
        if not signed(request):
            return Response(b"", 200, media_type="application/json")
        try:
            start, count = bounds(request, "cursor")
        except ValueError as exc:
            return bad(str(exc))
        item = video(request.query_params.get("aweme_id", ""))
        if item is None:
            return json_response({"status_code": 5, "status_msg": "视频不存在"})
        if closed(item):
            return json_response(
                {"status_code": 0, "comments": None, "cursor": 0, "has_more": 0, "total": 0}
            )
        now = state.now()
        found = [
            comment_json(t.comment, sum(r.created_at <= now for r in t.replies))
            for t in reversed(corpus.threads(item))
            if t.comment.created_at <= now
        ]
        return json_response(listing(found, start, count, active))

    async def replies(request: Request, active: Active) -> Response:
        if not signed(request):
            return Response(b"", 200, media_type="application/json")
        try:
            start, count = bounds(request, "cursor")
        except ValueError as exc:
            return bad(str(exc))
        item = video(request.query_params.get("item_id", ""))
        root = request.query_params.get("comment_id", "")
        threads = corpus.threads(item) if item else ()
        thread = next((t for t in threads if t.comment.native_id == root), None)
        if thread is None:
            return json_response({"status_code": 5, "status_msg": "评论不存在"})
        now = state.now()
        found = [comment_json(r, 0) for r in thread.replies if r.created_at <= now]
        return json_response(listing(found, start, count, active))

    def aweme_list(items: list[Item], start: int, count: int, active: Active) -> dict[str, Any]:
        first = max(0, start - active.overlap)
        served = [] if active.silent_block else items[first : start + count]
        key = "awemeList" if active.layout_changed else "aweme_list"
        more = not active.silent_block and start + count < len(items)
        return {
            "status_code": 0,
            key: [aweme(i)["aweme_info"] for i in served],
            "has_more": int(more),
        }

    async def posts(request: Request, active: Active) -> Response:
        if not signed(request):
            return Response(b"", 200, media_type="application/json")
        params = request.query_params
        try:
            max_cursor = parse_int(params.get("max_cursor"), "max_cursor", 0, minimum=0)
            _, count = bounds(request, "offset")
        except ValueError as exc:
            return bad(str(exc))
        wanted = params.get("sec_user_id", "")
        authors = {sec_uid(a): a for a in REPORTERS.get(PREFIX, ())}
        author = authors.get(wanted)
        if author is None:
            return json_response({"status_code": 2053, "status_msg": "用户不存在"})
        found = [i for i in corpus.search(PREFIX, now=state.now()) if i.author == author]
        if max_cursor:
            found = [i for i in found if int(i.created_at.timestamp() * 1000) < max_cursor]
        body = aweme_list(found, 0, count, active)
        served = found[:count]
        body["max_cursor"] = int(served[-1].created_at.timestamp() * 1000) if served else 0
        return json_response(body)

    async def poi(request: Request, active: Active) -> Response:
        if not signed(request):
            return Response(b"", 200, media_type="application/json")
        try:
            start, count = bounds(request, "cursor")
        except ValueError as exc:
            return bad(str(exc))
        wanted = request.query_params.get("poi_id", "")
        listed = corpus.search(PREFIX, now=state.now())
        found = [i for i in listed if i.poi and poi_id(i.poi) == wanted]
        body = aweme_list(found, start, count, active)
        body["cursor"] = start + count
        body["poi_info"] = {"poi_id": wanted, "poi_name": found[0].poi if found else None}
        return json_response(body)

    pages = html_pages(SITE, PREFIX)
    board = state.faults
    return [
        Route("/aweme/v1/web/comment/list/", guarded(PREFIX, board, pages, comments)),
        Route("/aweme/v1/web/comment/list/reply/", guarded(PREFIX, board, pages, replies)),
        Route("/aweme/v1/web/aweme/post/", guarded(PREFIX, board, pages, posts)),
        Route("/aweme/v1/web/poi/detail/aweme/", guarded(PREFIX, board, pages, poi)),
    ]
