"""Xiaohongshu web API: login-walled search and note detail, and the QR-code login.

Every content call needs the ``web_session`` cookie of a live session; without one the
API answers HTTP 200 ``{"code": -100, "msg": "登录已过期"}``, as the real one does.
``/api/sns/web/v2/user/me`` tells a crawler whether its cookie is still good before it
starts (``guest: true`` if not). Headless servers log in by QR code: the crawler asks for
a code, ops "scan" it (here ``POST /_admin/qrcode/<qr_id>/scan``), and the status call
then sets the cookie. Counts are strings ("1.2万"), search cards carry only a title, and
the full text, time and IP属地 come from the ``feed`` call.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.comments import Comment
from sim.platforms.faults import Active, FaultPages, guarded
from sim.platforms.items import Item
from sim.platforms.listing import paginate
from sim.platforms.pages import ban_page, gateway_error, json_response, login_page
from sim.platforms.sessions import QR_CONFIRMED
from sim.platforms.state import SimState

PREFIX = "xhs"
SITE = "小红书"
COOKIE = "web_session"
MAX_PAGE_SIZE = 20
COMMENT_PAGE = 10
SUB_PAGE = 10
API = "/api/sns/web"
LOGIN_EXPIRED = {"code": -100, "success": False, "msg": "登录已过期", "data": {}}
ACCOUNT_BANNED = {"code": -104, "success": False, "msg": "账号异常，已被限制访问", "data": {}}


def count(n: int) -> str:
    return str(n) if n < 10_000 else f"{n / 10_000:.1f}万"


def ok(data: dict[str, Any]) -> Response:
    return json_response({"code": 0, "success": True, "msg": "成功", "data": data})


def bad_request(message: str) -> Response:
    return json_response({"code": -1, "success": False, "msg": message, "data": {}}, 400)


def user(item: Item) -> dict[str, Any]:
    return {"user_id": f"{item.author.id:024x}", "nickname": item.author.name}


def interact(item: Item) -> dict[str, Any]:
    return {
        "liked_count": count(item.likes),
        "collected_count": count(item.shares),
        "comment_count": count(item.comments),
        "shared_count": count(item.shares // 2),
    }


def search_card(item: Item, *, layout_changed: bool) -> dict[str, Any]:
    card = {
        "type": "normal",
        "display_title": item.title,
        "user": user(item),
        "interact_info": interact(item),
    }
    if layout_changed:
        return {"id": item.native_id, "model_type": "note", "noteCard": card}
    return {"id": item.native_id, "model_type": "note", "note_card": card}


def note_detail(item: Item) -> dict[str, Any]:
    ms = int(item.created_at.timestamp() * 1000)
    return {
        "note_id": item.native_id,
        "type": "normal",
        "title": item.title,
        "desc": item.text,
        "time": ms,
        "last_update_time": ms,
        "ip_location": item.ip_region,
        "user": user(item),
        "interact_info": interact(item),
        "image_list": [
            {"url_default": f"https://sns-webpic-qc.xhscdn.com/{item.native_id}/{k}.jpg"}
            for k in range(item.images)
        ],
    }


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"请求体不是合法的 JSON：{exc.msg}") from None
    if not isinstance(body, dict):
        raise ValueError("请求体应为 JSON 对象")
    return body


def routes(state: SimState) -> list[BaseRoute]:
    sessions = state.sessions

    def refused(request: Request) -> Response | None:
        """The login wall or the banned-account answer, or None if the session may proceed."""
        session = sessions.use(PREFIX, request.cookies.get(COOKIE))
        if session is None:
            return json_response(LOGIN_EXPIRED)
        if session.banned:
            return json_response(ACCOUNT_BANNED)
        return None

    async def me(request: Request, _: Active) -> Response:
        session = sessions.find(PREFIX, request.cookies.get(COOKIE))
        if session is None:
            return ok({"guest": True, "user_id": "guest"})
        return ok({"guest": False, "user_id": session.user_id, "nickname": session.nickname})

    async def search(request: Request, active: Active) -> Response:
        if refusal := refused(request):
            return refusal
        try:
            body = await json_body(request)
            keyword = str(body.get("keyword", "")).strip()
            page, size = int(body.get("page", 1)), int(body.get("page_size", MAX_PAGE_SIZE))
        except (ValueError, TypeError) as exc:
            return bad_request(str(exc))
        if not keyword or page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            return bad_request(f"需要 keyword、page ≥ 1、1 ≤ page_size ≤ {MAX_PAGE_SIZE}")
        if active.silent_block:
            return ok({"has_more": False, "items": []})
        found = state.corpus.search(PREFIX, keyword, now=state.now())
        listing = paginate(found, page, size, cap=state.result_cap, overlap=active.overlap)
        items = [search_card(i, layout_changed=active.layout_changed) for i in listing.items]
        return ok({"has_more": listing.has_more, "items": items})

    async def feed(request: Request, _: Active) -> Response:
        if refusal := refused(request):
            return refusal
        try:
            note_id = str((await json_body(request)).get("source_note_id", ""))
        except ValueError as exc:
            return bad_request(str(exc))
        item = state.corpus.get(note_id)
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return json_response({"code": -510001, "success": False, "msg": "笔记不存在"})
        card = note_detail(item)
        return ok({"items": [{"id": note_id, "model_type": "note", "note_card": card}]})

    def comment_json(comment: Comment, replies: list[Comment] | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": comment.native_id,
            "note_id": comment.post_id,
            "content": comment.text,
            "create_time": int(comment.created_at.timestamp() * 1000),
            "ip_location": comment.ip_region,
            "like_count": str(comment.likes),
            "user_info": {"user_id": f"{comment.author.id:x}", "nickname": comment.author.name},
        }
        if replies is not None:
            out |= {
                "sub_comment_count": str(len(replies)),
                "sub_comments": [comment_json(r, None) for r in replies[:1]],
                "sub_comment_cursor": replies[0].native_id if replies else "",
                "sub_comment_has_more": len(replies) > 1,
            }
        elif comment.root and comment.reply_to != comment.root:
            out["target_comment"] = {"id": comment.reply_to}
        return out

    def threads(note_id: str) -> list[tuple[Comment, list[Comment]]] | None:
        item = state.corpus.get(note_id)
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return None
        now = state.now()
        return [
            (t.comment, [r for r in t.replies if r.created_at <= now])
            for t in state.corpus.threads(item)
            if t.comment.created_at <= now
        ]

    def after(found: list[Any], cursor: str) -> int:
        """Cursors are the id of the last comment served; "" is the start."""
        if not cursor:
            return 0
        ids = [c[0].native_id if isinstance(c, tuple) else c.native_id for c in found]
        return ids.index(cursor) + 1 if cursor in ids else len(found)

    async def comments(request: Request, active: Active) -> Response:
        if refusal := refused(request):
            return refusal
        found = threads(request.query_params.get("note_id", ""))
        if found is None:
            return json_response({"code": -510001, "success": False, "msg": "笔记不存在"})
        start = after(found, request.query_params.get("cursor", ""))
        served = [] if active.silent_block else found[start : start + COMMENT_PAGE]
        more = start + COMMENT_PAGE < len(found) and not active.silent_block
        key = "comment_list" if active.layout_changed else "comments"
        return ok(
            {
                key: [comment_json(c, r) for c, r in served],
                "cursor": served[-1][0].native_id if served else "",
                "has_more": more,
                "time": int(state.now().timestamp() * 1000),
            }
        )

    async def sub_comments(request: Request, active: Active) -> Response:
        if refusal := refused(request):
            return refusal
        params = request.query_params
        found = threads(params.get("note_id", ""))
        root = params.get("root_comment_id", "")
        replies = next((r for c, r in found or [] if c.native_id == root), None)
        if replies is None:
            return json_response({"code": -510002, "success": False, "msg": "评论不存在"})
        start = after(replies, params.get("cursor", ""))
        served = replies[start : start + SUB_PAGE]
        more = start + SUB_PAGE < len(replies)
        return ok(
            {
                "comments": [comment_json(r, None) for r in served],
                "cursor": served[-1].native_id if served else "",
                "has_more": more,
            }
        )

    async def qr_create(_: Request, __: Active) -> Response:
        login = sessions.start_qr(PREFIX)
        url = f"xhsdiscover://rn/qrcode_login?qr_id={login.qr_id}&code={login.code}"
        return ok({"qr_id": login.qr_id, "code": login.code, "url": url})

    async def qr_status(request: Request, _: Active) -> Response:
        login = sessions.qr_logins.get(request.query_params.get("qr_id", ""))
        if login is None or login.code != request.query_params.get("code"):
            return bad_request("二维码不存在或已过期")
        if login.status != QR_CONFIRMED or login.session is None:
            return ok({"code_status": login.status})
        info = {"session": login.session.token, "user_id": login.session.user_id}
        response = ok({"code_status": login.status, "login_info": info})
        response.set_cookie(COOKIE, login.session.token, httponly=True, samesite="lax")
        return response

    def throttled(_: Request, active: Active) -> Response:
        body = {"code": 300013, "success": False, "msg": "访问频次异常，请勿频繁操作或重启试试"}
        return json_response(body, 429, {"Retry-After": str(int(active.number("retry_after", 5)))})

    def captcha(_: Request, __: Active) -> Response:
        body = {"code": 461, "success": False, "msg": "请输入验证码", "data": {}}
        return json_response(body, 461, {"Verifytype": "102", "Verifyuuid": "sim-verify"})

    def login_wall(request: Request, _: Active) -> Response:
        sessions.expire(PREFIX, request.cookies.get(COOKIE) or "")
        return json_response(LOGIN_EXPIRED)

    pages = FaultPages(
        rate_limited=throttled,
        server_error=gateway_error,
        captcha=captcha,
        ban=ban_page(SITE),
        login_wall=login_wall,
    )
    board = state.faults
    return [
        Route(f"{API}/v2/user/me", guarded(PREFIX, board, pages, me)),
        Route(f"{API}/v1/search/notes", guarded(PREFIX, board, pages, search), methods=["POST"]),
        Route(f"{API}/v1/feed", guarded(PREFIX, board, pages, feed), methods=["POST"]),
        Route(f"{API}/v2/comment/page", guarded(PREFIX, board, pages, comments)),
        Route(f"{API}/v2/comment/sub/page", guarded(PREFIX, board, pages, sub_comments)),
        Route(f"{API}/v1/login/qrcode/create", guarded(PREFIX, board, pages, qr_create)),
        Route(f"{API}/v1/login/qrcode/status", guarded(PREFIX, board, pages, qr_status)),
        Route("/login", login_page(SITE, PREFIX)),
    ]
