"""Zhihu search (``/api/v4/search_v3``): answers paged by the absolute ``paging.next`` URL.

The shape a crawler meets here differs from the other JSON APIs on purpose: it follows
``paging.next`` until ``paging.is_end``, reads the highlighted ``excerpt`` (``<em>``) or
the full ``content`` HTML, and can only narrow by coarse ``time_interval`` values
(a_day … a_year) relative to now. Refusals are Zhihu's ``{"error": {...}}`` objects,
the captcha being code 40352 ("系统监测到您的网络环境存在异常").
"""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, FaultPages, guarded
from sim.platforms.items import Item
from sim.platforms.listing import parse_int
from sim.platforms.pages import JSON_TYPE, ban_page, compact_json, gateway_error, json_response
from sim.platforms.state import SimState

PREFIX = "zhihu"
SITE = "知乎"
MAX_LIMIT = 20
ANSWER_CACHE_SIZE = 2048  # whole answers kept: crawlers re-read the same pages constantly
INTERVALS = {
    "a_day": timedelta(days=1),
    "a_week": timedelta(days=7),
    "a_month": timedelta(days=30),
    "three_months": timedelta(days=90),
    "half_a_year": timedelta(days=182),
    "a_year": timedelta(days=365),
}


def error(status: int, code: int, message: str, **extra: str) -> Response:
    return json_response({"error": {"code": code, "message": message, **extra}}, status)


def highlighted(text: str, terms: list[str]) -> str:
    html = escape(text)
    for term in terms:
        html = html.replace(escape(term), f"<em>{escape(term)}</em>")
    return html


def result(item: Item, terms: list[str], *, layout_changed: bool) -> dict[str, Any]:
    stamp = int(item.created_at.timestamp())
    answer = {
        "type": "answer",
        "id": item.native_id,
        "excerpt": highlighted(item.text[:80], terms),
        "content": "".join(f"<p>{escape(line)}</p>" for line in item.text.split("\n")),
        "created_time": stamp,
        "updated_time": stamp,
        "voteup_count": item.likes,
        "comment_count": item.comments,
        "author": {
            "id": f"{item.author.id:032x}",
            "name": item.author.name,
            "url_token": f"user-{item.author.id}",
        },
        "question": {"id": str(int(item.native_id) // 7), "name": item.title, "type": "question"},
        "ip_info": f"IP 属地{item.ip_region}",
    }
    body = {"type": "search_result", "highlight": {"title": highlighted(item.title, terms)}}
    return {**body, "card" if layout_changed else "object": answer}


def routes(state: SimState) -> list[BaseRoute]:
    answered: dict[tuple[object, ...], bytes] = {}

    async def search(request: Request, active: Active) -> Response:
        params = request.query_params
        query = params.get("q", "").strip()
        interval = params.get("time_interval", "")
        try:
            offset = parse_int(params.get("offset"), "offset", 0, minimum=0)
            limit = parse_int(params.get("limit"), "limit", MAX_LIMIT)
        except ValueError as exc:
            return error(400, 10001, str(exc))
        if not query or limit > MAX_LIMIT or (interval and interval not in INTERVALS):
            return error(
                400,
                10001,
                f"需要 q、limit ≤ {MAX_LIMIT}，time_interval 取 {'/'.join(INTERVALS)} 之一",
            )
        next_url = f"{str(request.base_url).rstrip('/')}{request.url.path}"
        key = (query, interval, offset, limit, state.now(), active.kind, active.overlap, next_url)
        body = answered.get(key)
        if body is None:
            if len(answered) >= ANSWER_CACHE_SIZE:
                answered.clear()
            answered[key] = body = answer(query, interval, offset, limit, active, next_url)
        return Response(body, media_type=JSON_TYPE)

    def answer(
        query: str, interval: str, offset: int, limit: int, active: Active, base: str
    ) -> bytes:
        now = state.now()
        since = now - INTERVALS[interval] if interval else None
        found = state.corpus.search(PREFIX, query, now=now, since=since)
        reachable = [] if active.silent_block else found[: state.result_cap]
        start = max(0, offset - active.overlap) if offset else 0
        items = reachable[start : offset + limit]
        is_end = offset + limit >= len(reachable)
        following = {"t": "general", "q": query, "offset": offset + limit, "limit": limit}
        if interval:
            following["time_interval"] = interval
        terms = query.split()
        body = {
            "paging": {
                "is_end": is_end,
                "next": "" if is_end else f"{base}?{urlencode(following)}",
            },
            "data": [result(i, terms, layout_changed=active.layout_changed) for i in items],
        }
        return compact_json(body).encode()

    def captcha(_: Request, __: Active) -> Response:
        message = "系统监测到您的网络环境存在异常，为保证您的正常访问，请输入验证码进行验证。"
        return error(403, 40352, message, redirect=f"/{PREFIX}/account/unhuman?type=unhuman")

    def throttled(_: Request, active: Active) -> Response:
        retry = {"Retry-After": str(int(active.number("retry_after", 5)))}
        body = {"error": {"code": 10020, "message": "请求过于频繁，请稍后再试"}}
        return json_response(body, 429, retry)

    pages = FaultPages(
        rate_limited=throttled,
        server_error=gateway_error,
        captcha=captcha,
        ban=ban_page(SITE),
        login_wall=lambda _, __: error(401, 100, "请先登录", name="AuthenticationInvalidRequest"),
    )
    return [Route("/api/v4/search_v3", guarded(PREFIX, state.faults, pages, search))]
