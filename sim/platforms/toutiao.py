"""Toutiao (今日头条) web search and articles.

- ``GET /toutiao/api/search/content/?keyword=&offset=<0,20,…>&count=≤20&format=json
  &autoload=true`` → ``{"message": "success", "count", "return_count", "has_more": 0|1,
  "offset": <next>, "data": [{"group_id", "item_id", "title", "abstract" (40 chars),
  "media_name", "publish_time" (unix s), "datetime" ("2026-11-20 12:30:00"),
  "article_url" ("https://www.toutiao.com/article/<group_id>/"), "comment_count",
  "digg_count", "image_list": [{"url": "//p3-sign.toutiaoimg.com/…"}]}]}``; some entries
  are not articles (``cell_type`` 37, a related-search box, no ``group_id``).
- ``GET /toutiao/article/<group_id>/`` → ``article.syl-article-base`` (paragraphs),
  ``h1`` title, ``div.article-meta span.time``.
- Layout change: ``data`` → ``data_list``. Captcha: the verification page.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.items import SHANGHAI, Item
from sim.platforms.listing import parse_int
from sim.platforms.pages import html_pages, json_response, login_page
from sim.platforms.state import SimState
from sim.platforms.tieba import exact

PREFIX = "toutiao"
SITE = "今日头条"


def entry(item: Item) -> dict[str, Any]:
    gid = item.native_id  # the corpus id as is: a crawler's post id must name the post
    return {
        "group_id": gid,
        "item_id": gid,
        "title": item.title,
        "abstract": item.text[:40],
        "media_name": f"{item.author.name}",
        "publish_time": int(item.created_at.timestamp()),
        "datetime": f"{item.created_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}",
        "article_url": f"https://www.toutiao.com/article/{gid}/",
        "comment_count": item.comments,
        "digg_count": item.likes,
        "image_list": [
            {"url": f"//p3-sign.toutiaoimg.com/img/{gid}_{k}.jpg"} for k in range(item.images)
        ],
    }


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    async def search(request: Request, active: Active) -> Response:
        params = request.query_params
        try:
            offset = parse_int(params.get("offset"), "offset", 0, minimum=0)
            count = parse_int(params.get("count"), "count", 20)
        except ValueError as exc:
            return json_response({"message": "error", "data": [], "reason": str(exc)}, 400)
        found = corpus.search(PREFIX, params.get("keyword", ""), now=state.now())[
            : state.result_cap
        ]
        served = (
            [] if active.silent_block else found[max(0, offset - active.overlap) : offset + count]
        )
        data: list[dict[str, Any]] = [entry(i) for i in served]
        if data and offset == 0:
            data.insert(1, {"cell_type": 37, "title": "相关搜索", "related": ["深圳 12345"]})
        more = offset + count < len(found) and not active.silent_block
        key = "data_list" if active.layout_changed else "data"
        return json_response(
            {
                "message": "success",
                "count": count,
                "return_count": len(served),
                "has_more": int(more),
                "offset": offset + count,
                key: data,
            }
        )

    async def article(request: Request, active: Active) -> Response:
        item = corpus.get(request.path_params["gid"])
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return HTMLResponse("<html><body><p>文章不存在</p></body></html>", 404)
        paragraphs = "".join(f"<p>{escape(line)}</p>" for line in item.text.split("\n") if line)
        html = (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(item.title)}</title>'
            f'</head><body><div class="article-content"><h1>{escape(item.title)}</h1>'
            f'<div class="article-meta"><span class="name">{escape(item.author.name)}</span>'
            f'<span class="time">{exact(item.created_at)}</span></div>'
            f'<article class="syl-article-base">{paragraphs}</article></div></body></html>'
        )
        return HTMLResponse(html)

    pages = html_pages(SITE, PREFIX)
    board = state.faults
    return [
        Route("/api/search/content/", guarded(PREFIX, board, pages, search)),
        Route("/article/{gid}/", guarded(PREFIX, board, pages, article)),
        Route("/login", login_page(SITE, PREFIX)),
    ]
