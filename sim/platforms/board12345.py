"""The districts' public message boards (区长信箱 / 12345 民意速办), as gov sites render them.

One board per district (``venues.BOARDS["12345"]``: futian … dapeng), each under
``/12345/<district>/``:

- ``GET /12345/<d>/list?page=<n>`` → ``table.msg-list tbody tr`` rows (15 a page, newest
  first): ``td.msg-title a`` (href ``detail?id=<id>``, relative), ``td.msg-time``
  ("2026-11-20"), ``td.msg-state`` (已回复/办理中); ``a.next-page`` while more. An unknown
  district → 404 "栏目不存在".
- ``GET /12345/<d>/detail?id=<id>`` → ``div.msg-detail``: ``h2.msg-subject``,
  ``span.msg-writer``, ``span.msg-date`` ("2026-11-20 12:30"), ``div.msg-body``; a
  reply, when there is one, in ``div.msg-reply`` (``span.reply-dept``, ``span.reply-date``,
  ``div.reply-body``). Another district's letter → 404.
- Layout change: ``msg-list`` → ``letter-list``, ``msg-body`` → ``letter-content``.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.items import SHANGHAI
from sim.platforms.listing import parse_int
from sim.platforms.pages import html_pages, login_page
from sim.platforms.state import SimState
from sim.platforms.tieba import exact
from sim.platforms.venues import BOARDS, board_of

PREFIX = "12345"
SITE = "区长信箱"
DISTRICTS = dict(BOARDS[PREFIX])
PAGE_SIZE = 15

ROW = """<tr><td class="msg-title"><a href="detail?id={id}" title="{title}">{title}</a></td>
<td class="msg-time">{day}</td><td class="msg-state">{state}</td></tr>"""
DETAIL = """<div class="msg-detail"><h2 class="msg-subject">{title}</h2>
<p class="msg-meta">来信人：<span class="msg-writer">{writer}</span>
来信时间：<span class="msg-date">{when}</span></p>
<div class="{body_css}">{text}</div>{reply}</div>"""
REPLY = """<div class="msg-reply"><p>答复单位：<span class="reply-dept">{dept}</span>
答复时间：<span class="reply-date">{when}</span></p><div class="reply-body">{text}</div></div>"""


def page_html(district: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}'
        f" - 深圳市{district}人民政府</title></head>"
        f'<body><div class="main">{body}</div></body></html>'
    )


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    def replies(native_id: str) -> list[tuple[str, str, str]]:
        item = corpus.get(native_id)
        if item is None:
            return []
        now = state.now()
        return [
            (t.comment.author.name, exact(t.comment.created_at), t.comment.text)
            for t in corpus.threads(item)
            if t.comment.created_at <= now
        ]

    async def listing(request: Request, active: Active) -> Response:
        code = request.path_params["district"]
        if code not in DISTRICTS:
            return HTMLResponse(page_html("", "栏目不存在", "<p>栏目不存在</p>"), 404)
        try:
            page = parse_int(request.query_params.get("page"), "page", 1)
        except ValueError as exc:
            return HTMLResponse(page_html(DISTRICTS[code], "参数错误", escape(str(exc))), 400)
        found = [
            i
            for i in corpus.search(PREFIX, now=state.now())
            if board_of(PREFIX, i.native_id)[0] == code
        ]
        start = (page - 1) * PAGE_SIZE
        served = (
            [] if active.silent_block else found[max(0, start - active.overlap) : start + PAGE_SIZE]
        )
        rows = "".join(
            ROW.format(
                id=i.native_id,
                title=escape(i.title),
                day=f"{i.created_at.astimezone(SHANGHAI):%Y-%m-%d}",
                state="已回复" if replies(i.native_id) else "办理中",
            )
            for i in served
        )
        css = "letter-list" if active.layout_changed else "msg-list"
        more = start + PAGE_SIZE < len(found) and not active.silent_block
        nxt = f'<a class="next-page" href="list?page={page + 1}">下一页</a>' if more else ""
        body = (
            f'<h1>{DISTRICTS[code]}区长信箱</h1><table class="{css}"><thead><tr><th>标题</th>'
            f"<th>时间</th><th>状态</th></tr></thead><tbody>{rows}</tbody></table>"
            f'<div class="pager">{nxt}</div>'
        )
        return HTMLResponse(page_html(DISTRICTS[code], "区长信箱", body))

    async def detail(request: Request, active: Active) -> Response:
        code = request.path_params["district"]
        item = corpus.get(request.query_params.get("id", ""))
        if (
            code not in DISTRICTS
            or item is None
            or item.site != PREFIX
            or board_of(PREFIX, item.native_id)[0] != code
            or item.created_at > state.now()
        ):
            return HTMLResponse(page_html("", "信件不存在", "<p>信件不存在或未公开</p>"), 404)
        reply = "".join(
            REPLY.format(dept=escape(dept), when=when, text=escape(text))
            for dept, when, text in replies(item.native_id)
        )
        body = DETAIL.format(
            title=escape(item.title),
            writer=escape(item.author.name[:1] + "**"),
            when=exact(item.created_at),
            body_css="letter-content" if active.layout_changed else "msg-body",
            text=escape(item.text).replace("\n", "<br />"),
            reply=reply,
        )
        return HTMLResponse(page_html(DISTRICTS[code], item.title, body))

    pages = html_pages(SITE, PREFIX)
    board = state.faults
    return [
        Route("/{district}/list", guarded(PREFIX, board, pages, listing)),
        Route("/{district}/detail", guarded(PREFIX, board, pages, detail)),
        Route("/login", login_page(SITE, PREFIX)),
    ]
