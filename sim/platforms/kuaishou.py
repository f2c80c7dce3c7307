"""Kuaishou's web GraphQL (www.kuaishou.com/graphql): search, comments, sub-comments.

``POST /kuaishou/graphql`` with ``{"operationName", "variables", "query"}``:

- ``visionSearchPhoto`` ``{keyword, pcursor, page: "search", searchSessionId}`` →
  ``{"data": {"visionSearchPhoto": {"result": 1, "llsid", "feeds": [{"type": 1,
  "author": {"id", "name"}, "photo": {"id", "caption", "timestamp" (ms), "duration",
  "likeCount" ("1.2w" from ten thousand), "realLikeCount", "viewCount", "coverUrl"},
  "commentCount"}], "searchSessionId", "pcursor": "1" … "no_more"}}}`` (20 a page).
- ``visionCommentList`` ``{photoId, pcursor}`` → ``{"commentCount", "pcursor",
  "rootComments": [{"commentId", "authorId", "authorName", "content", "timestamp",
  "likedCount", "subCommentCount", "subCommentsPcursor", "subComments" (first two)}]}``.
- ``visionSubCommentList`` ``{photoId, rootCommentId, pcursor}`` → ``{"pcursor",
  "subComments": [{…, "replyToUserName"}]}``.

Refusals keep Kuaishou's habit of answering 200: a throttled or suspicious client gets
``"result": 400002`` with a captcha ``url``; an unknown operation ``"result": 2``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.comments import Comment
from sim.platforms.faults import Active, guarded
from sim.platforms.items import Item
from sim.platforms.pages import html_pages, json_response, login_page
from sim.platforms.state import SimState

PREFIX = "kuaishou"
SITE = "快手"
PAGE_SIZE = 20
COMMENT_PAGE = 10
SUB_PAGE = 10
END = "no_more"


def count_text(n: int) -> str:
    return f"{n / 10_000:.1f}w" if n >= 10_000 else str(n)


def feed(item: Item) -> dict[str, Any]:
    return {
        "type": 1,
        "author": {"id": f"3x{item.author.id:x}", "name": item.author.name},
        "photo": {
            "id": item.native_id,
            "caption": item.text,
            "timestamp": int(item.created_at.timestamp() * 1000),
            "duration": 10_000 + int(item.native_id[-4:]) % 50_000,
            "likeCount": count_text(item.likes),
            "realLikeCount": item.likes,
            "viewCount": count_text(item.likes * 23 + 100),
            "coverUrl": f"https://p2.a.yximgs.com/upic/{item.native_id}.jpg",
        },
        "commentCount": item.comments,
        "canAddComment": 1,
    }


def comment_json(comment: Comment, replies: list[Comment] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "commentId": comment.native_id,
        "authorId": f"3x{comment.author.id:x}",
        "authorName": comment.author.name,
        "content": comment.text,
        "timestamp": int(comment.created_at.timestamp() * 1000),
        "likedCount": count_text(comment.likes),
        "status": 1,
    }
    if replies is not None:
        out["subCommentCount"] = len(replies)
        out["subCommentsPcursor"] = "2" if len(replies) > 2 else END
        out["subComments"] = [comment_json(r) for r in replies[:2]]
    elif comment.root:
        out["replyToUserName"] = ""
    return out


def _cursor(raw: Any) -> int:
    """Pcursors are page indexes as strings; "" (or 0) is the first page."""
    if raw in (None, "", "0"):
        return 0
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    raise ValueError(f"pcursor 无效：{raw!r}")


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    def result(operation: str, payload: dict[str, Any]) -> Response:
        return json_response({"data": {operation: payload}})

    def search(variables: dict[str, Any], active: Active) -> dict[str, Any]:
        page = _cursor(variables.get("pcursor"))
        found = corpus.search(PREFIX, str(variables.get("keyword") or ""), now=state.now())
        found = found[: state.result_cap]
        start = page * PAGE_SIZE
        served = (
            [] if active.silent_block else found[max(0, start - active.overlap) : start + PAGE_SIZE]
        )
        more = start + PAGE_SIZE < len(found) and not active.silent_block
        key = "feedList" if active.layout_changed else "feeds"
        return {
            "result": 1,
            "llsid": f"{corpus.seed}{page}",
            key: [feed(i) for i in served],
            "searchSessionId": variables.get("searchSessionId") or f"MTRf{corpus.seed}",
            "pcursor": str(page + 1) if more else END,
        }

    def threads(photo: str) -> list[tuple[Comment, list[Comment]]]:
        item = corpus.get(photo)
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return []
        now = state.now()
        return [
            (t.comment, [r for r in t.replies if r.created_at <= now])
            for t in corpus.threads(item)
            if t.comment.created_at <= now
        ]

    def comments(variables: dict[str, Any], active: Active) -> dict[str, Any]:
        found = threads(str(variables.get("photoId") or ""))
        page = _cursor(variables.get("pcursor"))
        start = page * COMMENT_PAGE
        served = [] if active.silent_block else found[start : start + COMMENT_PAGE]
        more = start + COMMENT_PAGE < len(found)
        return {
            "commentCount": len(found),
            "pcursor": str(page + 1) if more else END,
            "rootComments": [comment_json(c, r) for c, r in served],
        }

    def sub_comments(variables: dict[str, Any], active: Active) -> dict[str, Any]:
        root = str(variables.get("rootCommentId") or "")
        found = next(
            (r for c, r in threads(str(variables.get("photoId") or "")) if c.native_id == root),
            [],
        )
        page = _cursor(variables.get("pcursor"))
        start = page * SUB_PAGE
        more = start + SUB_PAGE < len(found)
        return {
            "pcursor": str(page + 1) if more else END,
            "subComments": [comment_json(r) for r in found[start : start + SUB_PAGE]],
        }

    operations = {
        "visionSearchPhoto": search,
        "visionCommentList": comments,
        "visionSubCommentList": sub_comments,
    }

    async def graphql(request: Request, active: Active) -> Response:
        try:
            body = json.loads(await request.body())
            operation = str(body["operationName"])
            variables = body.get("variables") or {}
            if not isinstance(variables, dict):
                raise TypeError("variables")
        except (ValueError, KeyError, TypeError) as exc:
            return json_response({"errors": [{"message": f"bad request: {exc}"}]}, 400)
        handler = operations.get(operation)
        if handler is None:
            return result(operation, {"result": 2, "error_msg": "unknown operation"})
        try:
            return result(operation, handler(variables, active))
        except ValueError as exc:
            return json_response({"errors": [{"message": str(exc)}]}, 400)

    def captcha(request: Request, _: Active) -> Response:
        return json_response(
            {
                "data": {
                    "visionSearchPhoto": {
                        "result": 400002,
                        "url": "https://captcha.zt.kuaishou.com/iframe/index.html?captchaSession=1",
                    }
                }
            }
        )

    pages = replace(html_pages(SITE, PREFIX), captcha=captcha)
    return [
        Route("/graphql", guarded(PREFIX, state.faults, pages, graphql), methods=["POST"]),
        Route("/login", login_page(SITE, PREFIX)),
    ]
