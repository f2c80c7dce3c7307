"""Bilibili video search as ``api.bilibili.com/x/web-interface/search/type`` serves it.

Titles come with the matched words wrapped in ``<em class="keyword">``, ``numResults`` and
``numPages`` stop at the cap (the real API stops at 1,000 results / 50 pages), and
``pubtime_begin_s`` / ``pubtime_end_s`` filter by publication time — the switch a crawler
uses to get past the cap. Refusals use Bilibili's own codes: -799 (too frequent), -412
(request intercepted, the ban), -352 (risk control, the captcha), -101 (not logged in).
"""

from __future__ import annotations

import hashlib
import json
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.comments import Comment
from sim.platforms.faults import Active, FaultPages, guarded
from sim.platforms.items import Item
from sim.platforms.listing import paginate, parse_epoch, parse_int
from sim.platforms.pages import gateway_error, json_response
from sim.platforms.signatures import wbi_keys, wbi_ok
from sim.platforms.state import SimState
from sim.platforms.venues import spread

PREFIX = "bilibili"
PAGE_SIZE = 20
COMMENT_PAGE = 20


def refusal(code: int, message: str, status: int, data: Any = None) -> Response:
    return json_response({"code": code, "message": message, "ttl": 1, "data": data}, status)


def aid(item: Item) -> int:
    return int.from_bytes(hashlib.blake2b(item.native_id.encode(), digest_size=5).digest(), "big")


def highlight(text: str, terms: list[str]) -> str:
    html = escape(text)
    for term in terms:
        html = html.replace(escape(term), f'<em class="keyword">{escape(term)}</em>')
    return html


def video(item: Item, terms: list[str]) -> dict[str, Any]:
    stamp = int(item.created_at.timestamp())
    seconds = 15 + aid(item) % 600
    return {
        "type": "video",
        "id": aid(item),
        "aid": aid(item),
        "bvid": item.native_id,
        "author": item.author.name,
        "mid": item.author.id,
        "typename": "日常",
        "arcurl": f"http://www.bilibili.com/video/{item.native_id}",
        "title": highlight(item.title, terms),
        "description": item.text,
        "pic": f"//i1.hdslb.com/bfs/archive/{item.native_id}.jpg",
        "play": item.likes * 31 + item.comments,
        "video_review": item.comments // 2,
        "favorites": item.shares,
        "like": item.likes,
        "review": item.comments,
        "tag": "深圳,生活,日常",
        "pubdate": stamp,
        "senddate": stamp,
        "duration": f"{seconds // 60}:{seconds % 60:02d}",
    }


def routes(state: SimState) -> list[BaseRoute]:
    async def search(request: Request, active: Active) -> Response:
        params = request.query_params
        keyword = params.get("keyword", "").strip()
        try:
            page = parse_int(params.get("page"), "page", 1)
            since = parse_epoch(params.get("pubtime_begin_s"), "pubtime_begin_s")
            until = parse_epoch(params.get("pubtime_end_s"), "pubtime_end_s")
        except ValueError as exc:
            return refusal(-400, str(exc), 400)
        if params.get("search_type") != "video" or not keyword:
            return refusal(-400, "请求错误：需要 search_type=video 与 keyword", 400)
        terms = keyword.split()
        found = (
            []
            if active.silent_block
            else state.corpus.search(PREFIX, keyword, now=state.now(), since=since, until=until)
        )
        served = min(len(found), state.result_cap)
        listing = paginate(found, page, PAGE_SIZE, cap=served, overlap=active.overlap)
        result: list[dict[str, Any]] = [video(i, terms) for i in listing.items]
        if active.layout_changed:
            result = [{"result_type": "video", "data": result}]
        data = {
            "seid": str(aid(found[0]) if found else 0),
            "page": page,
            "pagesize": PAGE_SIZE,
            "numResults": served,
            "numPages": -(-served // PAGE_SIZE),
            "rqt_type": "search",
            "result": result,
        }
        return json_response({"code": 0, "message": "0", "ttl": 1, "data": data})

    by_aid = {aid(i): i for i in state.corpus.items if i.site == PREFIX}
    img_key, sub_key = wbi_keys(state.corpus.seed)

    async def nav(_: Request, __: Active) -> Response:
        wbi = {
            "img_url": f"https://i0.hdslb.com/bfs/wbi/{img_key}.png",
            "sub_url": f"https://i0.hdslb.com/bfs/wbi/{sub_key}.png",
        }
        return json_response(  # a guest: -101, and the keys all the same (as the real one)
            {
                "code": -101,
                "message": "账号未登录",
                "ttl": 1,
                "data": {"isLogin": False, "wbi_img": wbi},
            }
        )

    def threads(raw_oid: str) -> list[tuple[Comment, list[Comment]]] | None:
        item = by_aid.get(int(raw_oid)) if raw_oid.isdigit() else None
        if item is None or item.created_at > state.now():
            return None
        now = state.now()
        return [
            (t.comment, [r for r in t.replies if r.created_at <= now])
            for t in state.corpus.threads(item)
            if t.comment.created_at <= now
        ]

    def reply_json(comment: Comment, oid: str, replies: list[Comment] | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rpid": int(comment.native_id),
            "oid": int(oid),
            "type": 1,
            "mid": comment.author.id,
            "root": int(comment.root) if comment.root else 0,
            "parent": int(comment.reply_to) if comment.root else 0,
            "ctime": int(comment.created_at.timestamp()),
            "like": comment.likes,
            "content": {"message": comment.text},
            "member": {"mid": str(comment.author.id), "uname": comment.author.name},
            "reply_control": {"location": f"IP属地：{comment.ip_region}"},
        }
        if replies is not None:
            out["rcount"] = len(replies)
            out["replies"] = [reply_json(r, oid, None) for r in replies[:3]]
        return out

    async def main_replies(request: Request, active: Active) -> Response:
        params = dict(request.query_params)
        if not wbi_ok(params, state.corpus.seed):
            return refusal(-403, "访问权限不足", 200)
        found = threads(params.get("oid", ""))
        if found is None:
            return refusal(-404, "啥都木有", 200)
        if closed(params.get("oid", "")):
            return refusal(12002, "评论区已关闭", 200)
        try:
            offset = json.loads(params.get("pagination_str") or "{}").get("offset") or "0"
            start = int(offset)
        except (ValueError, TypeError, AttributeError):
            return refusal(-400, "请求错误：pagination_str", 400)
        served = [] if active.silent_block else found[start : start + COMMENT_PAGE]
        end = start + COMMENT_PAGE >= len(found) or active.silent_block
        cursor = {
            "is_begin": start == 0,
            "is_end": end,
            "all_count": len(found) + sum(len(r) for _, r in found),
            "pagination_reply": {} if end else {"next_offset": str(start + COMMENT_PAGE)},
        }
        key = "reply_list" if active.layout_changed else "replies"
        data = {"cursor": cursor, key: [reply_json(c, params["oid"], r) for c, r in served]}
        return json_response({"code": 0, "message": "0", "ttl": 1, "data": data})

    async def sub_replies(request: Request, active: Active) -> Response:
        params = request.query_params
        try:
            page = parse_int(params.get("pn"), "pn", 1)
            size = parse_int(params.get("ps"), "ps", 10)
        except ValueError as exc:
            return refusal(-400, str(exc), 400)
        found = threads(params.get("oid", ""))
        replies = next((r for c, r in found or [] if c.native_id == params.get("root")), None)
        if replies is None:
            return refusal(12022, "已经被删除了", 200)
        served = replies[(page - 1) * size : page * size]
        data = {
            "page": {"num": page, "size": size, "count": len(replies)},
            "replies": [reply_json(r, params.get("oid", "0"), None) for r in served],
        }
        return json_response({"code": 0, "message": "0", "ttl": 1, "data": data})

    def too_frequent(_: Request, active: Active) -> Response:
        retry = {"Retry-After": str(int(active.number("retry_after", 5)))}
        return json_response(
            {"code": -799, "message": "请求过于频繁，请稍后再试", "ttl": 1, "data": None},
            429,
            retry,
        )

    pages = FaultPages(
        rate_limited=too_frequent,
        server_error=gateway_error,
        captcha=lambda _, __: refusal(-352, "-352", 200, {"v_voucher": "voucher_sim"}),
        ban=lambda _, __: refusal(-412, "请求被拦截", 412),
        login_wall=lambda _, __: refusal(-101, "账号未登录", 200),
    )
    board = state.faults
    return [
        Route("/x/web-interface/search/type", guarded(PREFIX, board, pages, search)),
        Route("/x/web-interface/nav", guarded(PREFIX, board, pages, nav)),
        Route("/x/v2/reply/wbi/main", guarded(PREFIX, board, pages, main_replies)),
        Route("/x/v2/reply/reply", guarded(PREFIX, board, pages, sub_replies)),
    ]


def closed(oid: str) -> bool:
    """One video in twenty has its comment section closed (评论区已关闭)."""
    return spread("bilibili-closed", oid, 20) == 0
