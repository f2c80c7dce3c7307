"""Shenzhen's local media, each in its own shape: 深圳新闻网's HTML channel pages, 读特's
app JSON (relative times), 南方+'s column JSON, and three served for config-only sources —
晶报's RSS, 深圳晚报's news JSON, 奥一网's HTML list. All from the news family's posts.

- ``sznews``: ``GET /sznews/node_31234.htm`` (page 1), ``node_31234_<n>.htm`` — 20 a page,
  ``div.listbox li`` with ``a`` (``content/<yyyy-mm>/<dd>/<content_id>.htm``, relative),
  ``span.date``; ``a.next`` while more. Article: ``div.article-title h1``,
  ``span.pub-time``, ``span.source``, ``div.article-content``.
- ``dute``: ``GET /dute/api/v1/articles?channelId=sz&pageNo=&pageSize=≤20`` → ``{"code": 200,
  "serverTime" (ms), "data": {"list": [{"id", "title", "summary", "content" (HTML),
  "publishTime": "刚刚" | "3分钟前" | "5小时前" | "昨天 12:30" | "11-20 08:30", "shareUrl",
  "source", "cover"}], "hasMore"}}`` — times relative to ``serverTime``.
- ``nfplus``: ``GET /nfplus/api/column/articles?columnId=&pageNo=`` → ``{"result": 0,
  "articles": [{"articleId", "title", "summary", "body" (HTML), "pubTime":
  "2026-11-20 12:30:00", "shareUrl", "author"}], "pageInfo": {"pageNo", "totalPage"}}``.
- ``jingbao``: ``GET /jingbao/rss.xml`` (RSS 2.0, latest 50) and ``/jingbao/content/<id>.htm``.
- ``szwb``: ``GET /szwb/api/news/list?page=&size=`` → ``{"status": "success", "result":
  {"items": [{"newsId", "headline", "content", "pubDate", "link" (relative), "author",
  "images"}], "page", "pages", "hasNext"}}``.
- ``oeeee``: ``GET /oeeee/mp/list_<page>.html`` → ``ul.news-list li.item`` with
  ``a.item-title`` (site-absolute ``/oeeee/html/<id>.html``), ``a.next`` while more;
  article ``div.content-title h1``, ``span.time``, ``span.author``, ``div.content-body``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, FaultPages, guarded
from sim.platforms.items import SHANGHAI, Item
from sim.platforms.listing import parse_int
from sim.platforms.pages import html_pages, json_response
from sim.platforms.state import SimState
from sim.platforms.tieba import exact

PAGE_SIZE = 20
XML = "application/xml; charset=utf-8"
Routes = Callable[[SimState], list[BaseRoute]]


def _page_html(site: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}'
        f"_{site}</title></head><body>{body}</body></html>"
    )


def _paragraphs(item: Item) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in item.text.split("\n") if line)


def _slice(items: Sequence[Item], page: int, size: int, active: Active) -> list[Item]:
    start = (page - 1) * size
    return [] if active.silent_block else list(items[max(0, start - active.overlap) : start + size])


def relative(at: datetime, now: datetime) -> str:
    """读特's way: 刚刚, N分钟前, N小时前 (today), 昨天 HH:MM, then MM-DD HH:MM."""
    seconds = (now - at).total_seconds()
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{int(seconds // 60)}分钟前"
    local, today = at.astimezone(SHANGHAI), now.astimezone(SHANGHAI)
    if local.date() == today.date():
        return f"{int(seconds // 3600)}小时前"
    if (today.date() - local.date()).days == 1:
        return f"昨天 {local:%H:%M}"
    return f"{local:%m-%d %H:%M}"


def _item(state: SimState, site: str, native_id: str) -> Item | None:
    item = state.corpus.get(native_id)
    if item is None or item.site != site or item.created_at > state.now():
        return None
    return item


def _missing(site: str) -> Response:
    return HTMLResponse(_page_html(site, "页面不存在", "<p>您访问的页面不存在</p>"), 404)


def sznews(state: SimState) -> list[BaseRoute]:
    site = "深圳新闻网"

    async def listing(request: Request, active: Active) -> Response:
        page = int(request.path_params.get("page") or 1)
        found = state.corpus.search("sznews", now=state.now())
        rows = "".join(
            f'<li><a href="content/{i.created_at.astimezone(SHANGHAI):%Y-%m/%d}/'
            f'{i.native_id}.htm" target="_blank">{escape(i.title)}</a>'
            f'<span class="date">{exact(i.created_at)}</span></li>'
            for i in _slice(found, page, PAGE_SIZE, active)
        )
        css = "news-box" if active.layout_changed else "listbox"
        more = page * PAGE_SIZE < len(found) and not active.silent_block
        nxt = f'<a class="next" href="node_31234_{page + 1}.htm">下一页</a>' if more else ""
        body = f'<div class="{css}"><ul>{rows}</ul></div><div class="page">{nxt}</div>'
        return HTMLResponse(_page_html(site, "民生", body))

    async def article(request: Request, active: Active) -> Response:
        item = _item(state, "sznews", request.path_params["id"])
        if item is None:
            return _missing(site)
        body = (
            f'<div class="article-title"><h1>{escape(item.title)}</h1></div>'
            f'<div class="article-info"><span class="pub-time">{exact(item.created_at)}</span>'
            f'<span class="source">来源：{site}</span></div>'
            f'<div class="article-content">{_paragraphs(item)}</div>'
        )
        return HTMLResponse(_page_html(site, item.title, body))

    return _guarded(
        state,
        "sznews",
        html_pages(site, "sznews"),
        [
            ("/node_31234.htm", listing),
            ("/node_31234_{page:int}.htm", listing),
            ("/content/{month}/{day}/{id}.htm", article),
        ],
    )


def dute(state: SimState) -> list[BaseRoute]:
    async def articles(request: Request, active: Active) -> Response:
        params = request.query_params
        try:
            page = parse_int(params.get("pageNo"), "pageNo", 1)
            size = parse_int(params.get("pageSize"), "pageSize", 10)
            if size > 20:
                raise ValueError("pageSize 不能超过 20")
        except ValueError as exc:
            return json_response({"code": 400, "msg": str(exc), "data": None}, 400)
        now = state.now()
        found = state.corpus.search("dute", now=now)
        rows = [
            {
                "id": i.native_id,
                "title": i.title,
                "summary": i.text[:50],
                "content": _paragraphs(i),
                "publishTime": relative(i.created_at, now),
                "shareUrl": f"https://www.dutenews.com/n/article/{i.native_id}",
                "source": "读特客户端",
                "cover": f"//img.dutenews.com/cover/{i.native_id}.jpg" if i.images else "",
            }
            for i in _slice(found, page, size, active)
        ]
        key = "records" if active.layout_changed else "list"
        more = page * size < len(found) and not active.silent_block
        return json_response(
            {
                "code": 200,
                "msg": "ok",
                "serverTime": int(now.timestamp() * 1000),
                "data": {key: rows, "hasMore": more},
            }
        )

    pages = _json_refusals("读特", "dute")
    return _guarded(state, "dute", pages, [("/api/v1/articles", articles)])


def nfplus(state: SimState) -> list[BaseRoute]:
    async def articles(request: Request, active: Active) -> Response:
        try:
            page = parse_int(request.query_params.get("pageNo"), "pageNo", 1)
        except ValueError as exc:
            return json_response({"result": 1, "msg": str(exc)}, 400)
        found = state.corpus.search("nfplus", now=state.now())
        rows = [
            {
                "articleId": i.native_id,
                "title": i.title,
                "summary": i.text[:50],
                "body": _paragraphs(i),
                "pubTime": f"{i.created_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}",
                "shareUrl": f"https://static.nfapp.southcn.com/content/{i.native_id}.html",
                "author": "南方+记者",
            }
            for i in _slice(found, page, PAGE_SIZE, active)
        ]
        key = "articleList" if active.layout_changed else "articles"
        pages = max(1, -(-len(found) // PAGE_SIZE))
        return json_response(
            {"result": 0, key: rows, "pageInfo": {"pageNo": page, "totalPage": pages}}
        )

    return _guarded(
        state,
        "nfplus",
        _json_refusals("南方+", "nfplus"),
        [
            ("/api/column/articles", articles),
        ],
    )


def jingbao(state: SimState) -> list[BaseRoute]:
    site = "晶报"

    async def feed(request: Request, active: Active) -> Response:
        base = f"{request.url.scheme}://{request.url.netloc}"
        found = [] if active.silent_block else state.corpus.search("jingbao", now=state.now())[:50]
        entries = "".join(
            f"<item><title>{escape(i.title)}</title>"
            f"<link>{base}/jingbao/content/{i.native_id}.htm</link>"
            f"<guid>{base}/jingbao/content/{i.native_id}.htm</guid>"
            f"<description>{escape(_paragraphs(i))}</description>"
            f"<pubDate>{format_datetime(i.created_at.astimezone(SHANGHAI))}</pubDate></item>"
            for i in found
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{site}</title><link>{base}/jingbao/</link>{entries}</channel></rss>"
        )
        if active.layout_changed:  # a new CMS: the same items as Atom
            xml = _atom(found, base, site)
        return Response(xml, media_type=XML)

    async def article(request: Request, active: Active) -> Response:
        item = _item(state, "jingbao", request.path_params["id"])
        if item is None:
            return _missing(site)
        return HTMLResponse(
            _page_html(site, item.title, f"<h1>{escape(item.title)}</h1>{_paragraphs(item)}")
        )

    return _guarded(
        state,
        "jingbao",
        html_pages(site, "jingbao"),
        [
            ("/rss.xml", feed),
            ("/content/{id}.htm", article),
        ],
    )


def szwb(state: SimState) -> list[BaseRoute]:
    async def news(request: Request, active: Active) -> Response:
        params = request.query_params
        try:
            page = parse_int(params.get("page"), "page", 1)
            size = parse_int(params.get("size"), "size", 10)
        except ValueError as exc:
            return json_response({"status": "error", "message": str(exc)}, 400)
        found = state.corpus.search("szwb", now=state.now())
        items: list[dict[str, Any]] = [
            {
                "newsId": i.native_id,
                "headline": i.title,
                "content": i.text,
                "pubDate": f"{i.created_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}",
                "link": f"/szwb/news/{i.native_id}.html",
                "author": "深圳晚报",
                "images": [f"/szwb/img/{i.native_id}_{k}.jpg" for k in range(i.images)],
            }
            for i in _slice(found, page, size, active)
        ]
        pages = max(1, -(-len(found) // size))
        key = "list" if active.layout_changed else "items"
        result = {key: items, "page": page, "pages": pages, "hasNext": page < pages}
        return json_response({"status": "success", "result": result})

    return _guarded(state, "szwb", _json_refusals("深圳晚报", "szwb"), [("/api/news/list", news)])


def oeeee(state: SimState) -> list[BaseRoute]:
    site = "奥一网"

    async def listing(request: Request, active: Active) -> Response:
        page = int(request.path_params["page"])
        found = state.corpus.search("oeeee", now=state.now())
        css = "list-item" if active.layout_changed else "item"
        rows = "".join(
            f'<li class="{css}"><a class="item-title" href="/oeeee/html/{i.native_id}.html">'
            f'{escape(i.title)}</a><span class="item-time">{exact(i.created_at)}</span></li>'
            for i in _slice(found, page, PAGE_SIZE, active)
        )
        more = page * PAGE_SIZE < len(found) and not active.silent_block
        nxt = f'<a class="next" href="list_{page + 1}.html">下一页</a>' if more else ""
        body = f'<ul class="news-list">{rows}</ul><div class="pages">{nxt}</div>'
        return HTMLResponse(_page_html(site, "民生", body))

    async def article(request: Request, active: Active) -> Response:
        item = _item(state, "oeeee", request.path_params["id"])
        if item is None:
            return _missing(site)
        body = (
            f'<div class="content-title"><h1>{escape(item.title)}</h1></div>'
            f'<p class="meta"><span class="time">{exact(item.created_at)}</span>'
            f'<span class="author">{escape(item.author.name)}</span></p>'
            f'<div class="content-body">{_paragraphs(item)}</div>'
        )
        return HTMLResponse(_page_html(site, item.title, body))

    return _guarded(
        state,
        "oeeee",
        html_pages(site, "oeeee"),
        [
            ("/mp/list_{page:int}.html", listing),
            ("/html/{id}.html", article),
        ],
    )


def _atom(items: Sequence[Item], base: str, site: str) -> str:
    entries = "".join(
        f"<entry><title>{escape(i.title)}</title>"
        f'<link rel="alternate" href="{base}/jingbao/content/{i.native_id}.htm"/>'
        f"<id>urn:jingbao:{i.native_id}</id>"
        f"<published>{i.created_at.astimezone(SHANGHAI).isoformat()}</published>"
        f'<summary type="html">{escape(_paragraphs(i))}</summary></entry>'
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{site}</title>{entries}</feed>"
    )


def _json_refusals(site: str, prefix: str) -> FaultPages:
    """App APIs behind a CDN: refusals come as the CDN's and the site's HTML pages."""
    return html_pages(site, prefix)


def _guarded(
    state: SimState, prefix: str, pages: FaultPages, endpoints: list[tuple[str, Any]]
) -> list[BaseRoute]:
    return [
        Route(path, guarded(prefix, state.faults, pages, handler)) for path, handler in endpoints
    ]


SITES: dict[str, Routes] = {
    "sznews": sznews,
    "dute": dute,
    "nfplus": nfplus,
    "jingbao": jingbao,
    "szwb": szwb,
    "oeeee": oeeee,
}
