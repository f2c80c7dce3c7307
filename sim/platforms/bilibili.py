"""Bilibili video search as ``api.bilibili.com/x/web-interface/search/type`` serves it.

Titles come with the matched words wrapped in ``<em class="keyword">``, ``numResults`` and
``numPages`` stop at the cap (the real API stops at 1,000 results / 50 pages), and
``pubtime_begin_s`` / ``pubtime_end_s`` filter by publication time — the switch a crawler
uses to get past the cap. Refusals use Bilibili's own codes: -799 (too frequent), -412
(request intercepted, the ban), -352 (risk control, the captcha), -101 (not logged in).
"""

from __future__ import annotations

import hashlib
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, FaultPages, guarded
from sim.platforms.items import Item
from sim.platforms.listing import paginate, parse_epoch, parse_int
from sim.platforms.pages import gateway_error, json_response
from sim.platforms.state import SimState

PREFIX = "bilibili"
PAGE_SIZE = 20


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
    return [
        Route("/x/web-interface/search/type", guarded(PREFIX, state.faults, pages, search)),
    ]
