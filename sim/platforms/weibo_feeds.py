"""m.weibo.cn beyond search: a user's timeline, comments and their replies.

- Timeline: ``/api/container/getIndex?type=uid&value=<uid>&containerid=107603<uid>
  [&since_id=<mid>]`` → the same cards as search, newest first, 10 a page;
  ``cardlistInfo.since_id`` is the mid the next page starts at (absent on the last page).
- Comments: ``/comments/hotflow?id=<mid>&mid=<mid>&max_id_type=0[&max_id=<n>]`` →
  ``{"ok": 1, "data": {"data": [comment], "total_number", "max_id" (0: no more),
  "max_id_type": 0}}``; each comment carries ``total_number`` (its replies) and the first
  two of them in ``comments``; ``source`` is its IP属地 ("来自广东"). A post whose author
  limits comments answers ``{"ok": 0, "msg": "由于博主设置，目前评论暂不支持查看"}``.
- Replies: ``/comments/hotFlowChild?cid=<comment id>&max_id=<n>&max_id_type=0`` →
  ``{"ok": 1, "data": [comment], "total_number", "max_id"}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.comments import Comment
from sim.platforms.faults import Active, FaultPages, guarded
from sim.platforms.items import SHANGHAI, Item
from sim.platforms.listing import parse_int
from sim.platforms.pages import json_response
from sim.platforms.state import SimState
from sim.platforms.venues import spread

PREFIX = "weibo"
TIMELINE_CONTAINER = "107603"
PAGE_SIZE = 10
COMMENT_PAGE = 20
CHILD_PAGE = 10
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
LIMITED = {"ok": 0, "msg": "由于博主设置，目前评论暂不支持查看"}


def weibo_time(comment: Comment) -> str:
    t = comment.created_at.astimezone(SHANGHAI)
    return f"{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t:%d %H:%M:%S} +0800 {t.year}"


def comment_json(comment: Comment, replies: list[Comment]) -> dict[str, Any]:
    return {
        "id": comment.native_id,
        "mid": comment.native_id,
        "rootid": comment.root or comment.native_id,
        "created_at": weibo_time(comment),
        "text": comment.text,
        "like_count": comment.likes,
        "source": f"来自{comment.ip_region}",
        "user": {
            "id": comment.author.id,
            "screen_name": comment.author.name,
            "profile_url": f"https://m.weibo.cn/u/{comment.author.id}",
        },
        "total_number": len(replies),
        "comments": [comment_json(r, []) for r in replies[:2]] if replies else False,
    }


def limited(item: Item) -> bool:
    """One post in twenty limits who may see its comments."""
    return spread("weibo-comments-closed", item.native_id, 20) == 0


Cards = Callable[[list[Item], Active], list[Any]]
Handler = Callable[[Request, Active], Awaitable[Response]]


def routes(state: SimState, pages: FaultPages, cards: Cards) -> tuple[list[BaseRoute], Handler]:
    """The comment routes, and the timeline handler ``weibo.get_index`` hands user
    containerids to (both share ``/api/container/getIndex`` on the real site)."""
    corpus = state.corpus

    async def timeline(request: Request, active: Active) -> Response:
        params = request.query_params
        uid = params.get("containerid", "")[len(TIMELINE_CONTAINER) :]
        found = [i for i in corpus.search(PREFIX, now=state.now()) if str(i.author.id) == uid]
        since = params.get("since_id")
        start = 0
        if since:
            start = next((n for n, i in enumerate(found) if i.native_id == since), len(found))
        first = max(0, start - active.overlap)
        served = [] if active.silent_block else found[first : start + PAGE_SIZE]
        if not served:
            return json_response({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}})
        info: dict[str, Any] = {
            "containerid": params.get("containerid"),
            "v_p": 42,
            "show_style": 1,
            "total": len(found),
        }
        if start + PAGE_SIZE < len(found):
            info["since_id"] = int(found[start + PAGE_SIZE].native_id)
        return json_response(
            {"ok": 1, "data": {"cardlistInfo": info, "cards": cards(served, active)}}
        )

    def visible(item: Item) -> list[tuple[Comment, list[Comment]]]:
        now = state.now()
        return [
            (t.comment, [r for r in t.replies if r.created_at <= now])
            for t in corpus.threads(item)
            if t.comment.created_at <= now
        ]

    def post(native_id: str) -> Item | None:
        item = corpus.get(native_id)
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return None
        return item

    async def hotflow(request: Request, active: Active) -> Response:
        params = request.query_params
        try:
            start = parse_int(params.get("max_id"), "max_id", 0, minimum=0)
        except ValueError as exc:
            return json_response({"ok": 0, "msg": str(exc)}, 400)
        item = post(params.get("id") or params.get("mid") or "")
        if item is None:
            return json_response({"ok": 0, "msg": "微博不存在或暂无查看权限"})
        if limited(item):
            return json_response(LIMITED)
        threads = visible(item)
        served = [] if active.silent_block else threads[start : start + COMMENT_PAGE]
        more = start + COMMENT_PAGE < len(threads) and not active.silent_block
        data = {
            "data": [comment_json(c, r) for c, r in served],
            "total_number": len(threads),
            "max_id": start + COMMENT_PAGE if more else 0,
            "max_id_type": 0,
        }
        if active.layout_changed:
            data["comments"] = data.pop("data")
        return json_response({"ok": 1, "data": data})

    async def child(request: Request, active: Active) -> Response:
        params = request.query_params
        try:
            start = parse_int(params.get("max_id"), "max_id", 0, minimum=0)
        except ValueError as exc:
            return json_response({"ok": 0, "msg": str(exc)}, 400)
        cid = params.get("cid", "")
        found = corpus.comment(cid)
        item = post(found.post_id) if found is not None else None
        replies = next((r for c, r in visible(item) if c.native_id == cid), None) if item else None
        if replies is None:
            return json_response({"ok": 0, "msg": "评论不存在"})
        served = [] if active.silent_block else replies[start : start + CHILD_PAGE]
        more = start + CHILD_PAGE < len(replies) and not active.silent_block
        return json_response(
            {
                "ok": 1,
                "data": [comment_json(r, []) for r in served],
                "total_number": len(replies),
                "max_id": start + CHILD_PAGE if more else 0,
                "max_id_type": 0,
            }
        )

    board = state.faults
    return [
        Route("/comments/hotflow", guarded(PREFIX, board, pages, hotflow)),
        Route("/comments/hotFlowChild", guarded(PREFIX, board, pages, child)),
    ], timeline
