"""A Discuz!-style local forum ("深圳论坛"): board list pages and thread detail pages.

The markup follows Discuz! X, the engine most Chinese city forums run: static URLs
(``forum-2-1.html``, ``thread-<tid>-1-1.html``, relative hrefs), ``a.xst`` thread titles,
``td.by`` author/time cells, ``div.pg`` pagination with ``a.nxt``, and ``td.t_f`` post
bodies. Recent posts show relative times ("3 天前") with the exact time in the ``title``
attribute, as Discuz does. The layout-change fault renames every class a scraper keys on.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.items import SHANGHAI, Item
from sim.platforms.listing import paginate
from sim.platforms.pages import html_pages, login_page
from sim.platforms.state import SimState

PREFIX = "forum"
SITE = "深圳论坛"
PAGE_SIZE = 20
BOARDS = {2: "深圳民生", 36: "生活杂谈"}
RENDER_CACHE_SIZE = 2048  # board pages kept rendered; crawlers re-read the first pages often
CLASSES = {"title": "s xst", "by": "by", "pager": "pg", "next": "nxt", "body": "t_f"}
CHANGED = {
    "title": "thread-title",
    "by": "author-cell",
    "pager": "pager",
    "next": "next-page",
    "body": "post-body",
}


def board_of(item: Item) -> int:
    """Boards split by id, not by content, so the board says nothing about the truth."""
    return 2 if int(item.native_id) % 34 < 24 else 36


def shown_time(at: datetime, now: datetime) -> str:
    exact = f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
    age = (now - at).total_seconds()
    if age >= 7 * 86_400:
        return f"<span>{exact}</span>"
    if age >= 86_400:
        relative = f"{int(age // 86_400)}&nbsp;天前"
    elif age >= 3600:
        relative = f"{int(age // 3600)}&nbsp;小时前"
    else:
        relative = f"{max(1, int(age // 60))}&nbsp;分钟前"
    return f'<span title="{exact}">{relative}</span>'


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - {SITE} - Powered by Discuz!</title></head><body>"
        f'<div id="pt" class="bm cl"><a href="/{PREFIX}/">{SITE}</a> <em>&rsaquo;</em> '
        f"{body}</body></html>"
    )


def list_page(
    fid: int, page: int, pages: int, items: list[Item], now: datetime, css: dict[str, str]
) -> str:
    rows = "".join(
        f'<tbody id="normalthread_{i.native_id}"><tr><th class="common">'
        f'<a href="thread-{i.native_id}-1-1.html" class="{css["title"]}">{escape(i.title)}</a>'
        f'</th><td class="{css["by"]}"><cite><a href="space-uid-{i.author.id}.html">'
        f"{escape(i.author.name)}</a></cite><em>{shown_time(i.created_at, now)}</em></td>"
        f'<td class="num"><a href="thread-{i.native_id}-1-1.html" class="xi2">{i.comments}</a>'
        f"<em>{i.likes * 13 + i.comments}</em></td></tr></tbody>"
        for i in items
    )
    links = "".join(
        f"<strong>{n}</strong>" if n == page else f'<a href="forum-{fid}-{n}.html">{n}</a>'
        for n in range(max(1, page - 4), min(pages, page + 5) + 1)
    )
    if page < pages:
        links += f'<a href="forum-{fid}-{page + 1}.html" class="{css["next"]}">下一页</a>'
    pager = (
        f'<div class="{css["pager"]}">{links}'
        f'<label><span title="共 {pages} 页"> / {pages} 页</span></label></div>'
    )
    return _page(
        BOARDS[fid],
        f'<a href="forum-{fid}-1.html">{BOARDS[fid]}</a></div>'
        f'<div id="threadlist" class="tl bm"><table id="threadlisttableid" summary="forum_{fid}">'
        f"{rows}</table></div>{pager}",
    )


def thread_page(item: Item, now: datetime, css: dict[str, str]) -> str:
    tid = item.native_id
    body = escape(item.text).replace("\n", "<br />\r\n")
    images = "".join(
        f'<img class="zoom" src="/{PREFIX}/data/attachment/forum/{tid}_{k}.jpg" />'
        for k in range(item.images)
    )
    fid = board_of(item)
    return _page(
        item.title,
        f'<a href="forum-{fid}-1.html">{BOARDS[fid]}</a></div>'
        f'<h1 class="ts"><span id="thread_subject">{escape(item.title)}</span></h1>'
        f'<div id="postlist"><div id="post_{tid}"><table class="plhin"><tr>'
        f'<td class="pls"><div class="authi"><a class="xw1" href="space-uid-{item.author.id}.html">'
        f'{escape(item.author.name)}</a></div></td><td class="plc"><div class="pi">'
        f'<div class="authi"><em id="authorposton{tid}">发表于 {shown_time(item.created_at, now)}'
        f'</em><span class="ip-location">IP属地：{item.ip_region}</span></div></div>'
        f'<div class="pct"><div class="pcb"><div class="t_fsz"><table><tr>'
        f'<td class="{css["body"]}" id="postmessage_{tid}">{body}</td></tr></table>'
        f'<div class="pattl">{images}</div></div></div></div></td></tr></table></div></div>',
    )


def _missing(message: str) -> Response:
    return HTMLResponse(
        _page(
            "提示信息", f'</div><div id="messagetext" class="alert_error"><p>{message}</p></div>'
        ),
        404,
    )


def routes(state: SimState) -> list[BaseRoute]:
    rendered: dict[tuple[int, int, datetime, str | None, int], str] = {}

    async def board(request: Request, active: Active) -> Response:
        fid, page = int(request.path_params["fid"]), int(request.path_params["page"])
        if fid not in BOARDS or page < 1:
            return _missing("抱歉，指定的版块不存在")
        now = state.now()
        key = (fid, page, now, active.kind, active.overlap)
        html = rendered.get(key)
        if html is None:
            threads = [i for i in state.corpus.search(PREFIX, now=now) if board_of(i) == fid]
            pages = max(1, -(-len(threads) // PAGE_SIZE))
            listing = paginate(threads, page, PAGE_SIZE, cap=len(threads), overlap=active.overlap)
            shown = [] if active.silent_block else listing.items
            css = CHANGED if active.layout_changed else CLASSES
            if len(rendered) >= RENDER_CACHE_SIZE:
                rendered.clear()
            rendered[key] = html = list_page(fid, page, pages, shown, now, css)
        return HTMLResponse(html)

    async def thread(request: Request, active: Active) -> Response:
        item = state.corpus.get(str(request.path_params["tid"]))
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return _missing("抱歉，指定的主题不存在或已被删除或正在被审核")
        css = CHANGED if active.layout_changed else CLASSES
        return HTMLResponse(thread_page(item, state.now(), css))

    pages = html_pages(SITE, PREFIX)
    guard = state.faults
    return [
        Route("/forum-{fid:int}-{page:int}.html", guarded(PREFIX, guard, pages, board)),
        Route("/thread-{tid:int}-1-1.html", guarded(PREFIX, guard, pages, thread)),
        Route("/login", login_page(SITE, PREFIX)),
    ]
