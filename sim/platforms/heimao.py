"""黑猫投诉 (tousu.sina.com.cn): complaints against a named merchant, signed search.

- ``GET /heimao/api/index/s?keywords=&page_size=≤20&page=&ts=&rs=&signature=`` →
  ``{"result": {"status": {"code": 0, "msg": "ok"}, "timestamp", "data": {"lists":
  [{"main": {"sn", "title", "summary" (first 60 characters), "status" (处理中/已回复/已完成),
  "cotitle" (the merchant), "appeal", "upvote_amount", "comment_amount", "timestamp"
  (unix s, a string), "url": "//tousu.sina.com.cn/complaint/view/<sn>/"}, "author":
  {"title", "avatar"}}], "pager": {"current", "next", "page_amount", "item_count"}}}}``;
  ``signature`` = SHA-256 of the sorted ts, rs, the site key, keywords, page_size and page:
  a wrong one is ``status.code`` -1 "签名错误".
- ``GET /heimao/complaint/view/<sn>/`` → the complaint page: ``h1.article``,
  ``ul.ts-q-list`` (投诉对象 ``a``, 投诉要求), ``p.ts-d-cont`` (the whole text),
  ``span.ts-time`` ("2026-11-20 12:30"), ``span.u-name``.
"""

from __future__ import annotations

import zlib
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.items import Item
from sim.platforms.listing import parse_int
from sim.platforms.pages import json_pages, json_response
from sim.platforms.signatures import heimao_ok
from sim.platforms.state import SimState
from sim.platforms.tieba import exact
from sim.platforms.venues import spread

PREFIX = "heimao"
SITE = "黑猫投诉"
STATUSES = ("处理中", "已回复", "已完成")
MERCHANTS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("物业", "小区", "电梯", "业主"),
        ("深圳市万厦居业物业管理有限公司", "深圳某物业服务有限公司"),
    ),
    (("健身", "预付", "会员", "课程"), ("某健身连锁（深圳）", "深圳某瑜伽馆")),
    (("快递", "外卖", "骑手"), ("某快递深圳分公司", "某外卖平台")),
    (("房东", "租", "中介", "押金"), ("深圳某房产中介", "某长租公寓")),
    (("电", "水", "燃气"), ("深圳某燃气公司", "某供电营业厅")),
)
OTHER = ("深圳某商贸有限公司", "某电商平台", "深圳某科技有限公司")
VIEW = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_黑猫投诉</title>
</head><body><div class="ts-d-main"><h1 class="article">{title}</h1>
<ul class="ts-q-list"><li><label>投诉编号：</label>{sn}</li>
<li><label>投诉对象：</label><a href="/company/view/{coid}">{merchant}</a></li>
<li><label>投诉要求：</label>{appeal}</li><li><label>投诉进度：</label><b>{status}</b></li></ul>
<div class="ts-d-item"><span class="u-name">{author}</span><span class="ts-time">{when}</span>
<p class="ts-d-cont">{text}</p></div></div></body></html>"""


def merchant(item: Item) -> str:
    """The merchant complained about, from what the complaint says it is about."""
    for words, names in MERCHANTS:
        if any(w in item.text for w in words):
            return names[spread("merchant", item.native_id, len(names))]
    return OTHER[spread("merchant", item.native_id, len(OTHER))]


def record(item: Item) -> dict[str, Any]:
    return {
        "main": {
            "sn": item.native_id,
            "title": item.title,
            "summary": item.text[:60],
            "status": STATUSES[spread("status", item.native_id, len(STATUSES))],
            "cotitle": merchant(item),
            "coid": str(zlib.crc32(merchant(item).encode()) % 10**8),
            "appeal": "退款、道歉、整改",
            "upvote_amount": item.likes,
            "comment_amount": item.comments,
            "timestamp": str(int(item.created_at.timestamp())),
            "url": f"//tousu.sina.com.cn/complaint/view/{item.native_id}/",
        },
        "author": {"title": item.author.name, "avatar": "//n.sinaimg.cn/tousu/avatar.png"},
    }


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    def status(code: int, msg: str) -> Response:
        return json_response({"result": {"status": {"code": code, "msg": msg}}})

    async def search(request: Request, active: Active) -> Response:
        params = dict(request.query_params)
        if not heimao_ok(params, state.signing["heimao-sha256"]):
            return status(-1, "签名错误")
        try:
            page = parse_int(params.get("page"), "page", 1)
            size = parse_int(params.get("page_size"), "page_size", 10)
            if size > 20:
                raise ValueError("page_size 不能超过 20")
        except ValueError as exc:
            return status(-2, str(exc))
        found = corpus.search(PREFIX, params.get("keywords", ""), now=state.now())
        found = found[: state.result_cap]
        start = (page - 1) * size
        served = [] if active.silent_block else found[max(0, start - active.overlap) : start + size]
        pages = max(1, -(-len(found) // size))
        key = "list" if active.layout_changed else "lists"
        data = {
            key: [record(i) for i in served],
            "pager": {
                "current": page,
                "next": page + 1 if page < pages else page,
                "page_amount": pages,
                "item_count": len(found),
            },
        }
        stamp = str(int(state.now().timestamp() * 1000))
        return json_response(
            {"result": {"status": {"code": 0, "msg": "ok"}, "timestamp": stamp, "data": data}}
        )

    async def view(request: Request, active: Active) -> Response:
        item = corpus.get(request.path_params["sn"])
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return HTMLResponse("<html><body><p>投诉不存在或已删除</p></body></html>", 404)
        main = record(item)["main"]
        return HTMLResponse(
            VIEW.format(
                title=escape(item.title),
                sn=item.native_id,
                coid=main["coid"],
                merchant=escape(main["cotitle"]),
                appeal=main["appeal"],
                status=main["status"],
                author=escape(item.author.name),
                when=exact(item.created_at),
                text=escape(item.text).replace("\n", "<br>"),
            )
        )

    def login_wall(_: Request, __: Active) -> Response:
        return json_response({"result": {"status": {"code": 401, "msg": "请先登录"}}}, 401)

    throttled = {"result": {"status": {"code": 429, "msg": "访问过于频繁"}}}
    pages = json_pages(SITE, PREFIX, throttled=throttled, login_wall=login_wall)
    board = state.faults
    return [
        Route("/api/index/s", guarded(PREFIX, board, pages, search)),
        Route("/complaint/view/{sn}/", guarded(PREFIX, board, pages, view)),
    ]
