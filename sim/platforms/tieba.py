"""Baidu Tieba as its PC pages serve it: a bar's thread list, a thread's floors, 楼中楼.

- ``GET /tieba/f?kw=<bar>&ie=utf-8&pn=<offset>[&rn=<per page, default 50>]`` → the bar
  page; the thread list sits inside an HTML comment in ``code#pagelet_html_frs-list``
  (Tieba ships it that way and renders it with script), rows
  ``li.j_thread_list[data-field='{"id", "author_name", "reply_num"}']`` with ``a.j_th_tit``
  (``/p/<tid>``), ``div.threadlist_abs`` and ``span.threadlist_reply_date`` ("3分钟前",
  "昨天 12:30", "11-20"); ``a.next.pagination-item`` (下一页) while more. Unknown bar →
  the "抱歉，根据相关法律法规、政策，本吧暂不开放" page (no list).
- ``GET /tieba/p/<tid>?pn=<n>`` → ``h3.core_title_txt``, floors
  ``div.l_post[data-field='{"author": {"user_name"}, "content": {"post_id", "post_no",
  "comment_num"}}']`` with ``div.d_post_content`` and ``span.tail-info`` (``IP属地:广东``,
  ``N楼``, ``2026-11-20 12:30``); 30 floors a page; 1楼 is the thread itself, the rest its
  comments; ``li.l_pager a`` 下一页 while more.
- ``GET /tieba/p/comment?tid=&pid=&pn=`` → the 楼中楼 of a floor, 10 a page:
  ``li.lzl_single_post[data-field='{"spid", "user_name"}']`` with ``span.lzl_content_main``
  and ``span.lzl_time``; ``p.j_pager a`` 下一页 while more.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.comments import Comment
from sim.platforms.faults import Active, guarded
from sim.platforms.items import SHANGHAI, Item
from sim.platforms.listing import parse_int
from sim.platforms.pages import html_pages, login_page
from sim.platforms.state import SimState
from sim.platforms.venues import BOARDS, board_of

PREFIX = "tieba"
SITE = "百度贴吧"
FLOORS = 30
LZL = 10
BAR_NAMES = {code for code, _ in BOARDS[PREFIX]}


def relative(at: datetime, now: datetime) -> str:
    """How Tieba's lists print a time: minutes/hours ago, 昨天, then the date."""
    age = now - at
    seconds = age.total_seconds()
    if seconds < 3600:
        return f"{max(1, int(seconds // 60))}分钟前"
    local, today = at.astimezone(SHANGHAI), now.astimezone(SHANGHAI)
    if local.date() == today.date():
        return f"{int(seconds // 3600)}小时前"
    if (today.date() - local.date()).days == 1:
        return f"昨天 {local:%H:%M}"
    return f"{local:%m-%d}"


def exact(at: datetime) -> str:
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def _field(data: object) -> str:
    return escape(json.dumps(data, ensure_ascii=False), quote=True)


def page_shell(title: str, body: str) -> str:
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="UTF-8">
<title>{escape(title)}_百度贴吧</title></head><body><div id="container">{body}</div>
</body></html>"""


ROW = """<li class=" {row_class} clearfix thread_item_box" data-field="{field}">
<div class="threadlist_title pull_left j_th_tit ">
<a rel="noreferrer" href="/p/{tid}" title="{title}" target="_blank" class="j_th_tit ">{title}</a>
</div>
<div class="threadlist_abs threadlist_abs_onlyline ">{summary}</div>
<span class="threadlist_reply_date pull_right j_reply_data" title="最后回复时间">{when}</span>
</li>"""
BAR = """<div class="card_title"><a class="card_title_fname" href="/f?kw={kw_q}">{kw}吧</a></div>
<code class="pagelet_html" id="pagelet_html_frs-list/pagelet/thread_list" style="display:none;">
<!--<ul id="thread_list" class="threadlist_bright j_threadlist_bright">{rows}</ul>--></code>
<div id="frs_list_pager" class="pagination-default clearfix">{pager}</div>"""
FLOOR = """<div class="l_post l_post_bright j_l_post clearfix" data-field="{field}">
<div class="d_author"><a class="p_author_name j_user_card">{name}</a></div>
<div class="d_post_content_main">
<div id="post_content_{pid}" class="d_post_content j_d_post_content">{text}</div>
<div class="post-tail-wrap"><span class="tail-info">IP属地:{ip}</span>
<span class="tail-info">{no}楼</span><span class="tail-info">{when}</span></div>
</div></div>"""
THREAD = """<h3 class="{css} pull-left text-overflow" title="{title}">{title}</h3>
<div class="p_postlist" id="j_p_postlist">{floors}</div>
<li class="l_pager pager_theme_4 pb_list_pager">{nxt}</li>
<li class="l_reply_num"><span class="red">{pages}</span>页</li>"""
LZL_ROW = """<li class="lzl_single_post j_lzl_s_p" data-field="{field}">
<a class="at j_user_card">{name}</a>:<span class="lzl_content_main">{text}</span>
<div class="lzl_content_reply"><span class="lzl_time">{when}</span></div></li>"""
GONE = '<div class="page404">很抱歉，该贴已被删除。</div>'
CLOSED_BAR = '<div class="page404"><p>抱歉，根据相关法律法规、政策，本吧暂不开放。</p></div>'


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    def bar_items(kw: str) -> list[Item]:
        return [
            i
            for i in corpus.search(PREFIX, now=state.now())
            if board_of(PREFIX, i.native_id)[0] == kw
        ]

    def visible(item: Item) -> list[tuple[Comment, list[Comment]]]:
        now = state.now()
        return [
            (t.comment, [r for r in t.replies if r.created_at <= now])
            for t in corpus.threads(item)
            if t.comment.created_at <= now
        ]

    async def bar(request: Request, active: Active) -> Response:
        params = request.query_params
        kw = params.get("kw", "")
        try:
            pn = parse_int(params.get("pn"), "pn", 0, minimum=0)
            rn = parse_int(params.get("rn"), "rn", 50)
        except ValueError as exc:
            return HTMLResponse(page_shell("参数错误", f"<p>{escape(str(exc))}</p>"), 400)
        if kw not in BAR_NAMES:
            return HTMLResponse(page_shell(kw, CLOSED_BAR))
        found = bar_items(kw)
        served = [] if active.silent_block else found[max(0, pn - active.overlap) : pn + rn]
        now = state.now()
        row_class = "thread-row" if active.layout_changed else "j_thread_list"
        rows = []
        for item in served:
            threads = visible(item)
            field = {"id": int(item.native_id), "author_name": item.author.name}
            field |= {"reply_num": len(threads), "is_good": False}
            last = max([item.created_at, *(c.created_at for c, _ in threads)])
            rows.append(
                ROW.format(
                    row_class=row_class,
                    field=_field(field),
                    tid=item.native_id,
                    title=escape(item.title),
                    summary=escape(item.text[:60]),
                    when=relative(last, now),
                )
            )
        more = pn + rn < len(found) and not active.silent_block
        pager = ""
        if more:
            href = f"//tieba.baidu.com/f?kw={quote(kw)}&amp;ie=utf-8&amp;pn={pn + rn}"
            pager = f'<a href="{href}" class="next pagination-item ">下一页&gt;</a>'
        body = BAR.format(kw_q=quote(kw), kw=escape(kw), rows="".join(rows), pager=pager)
        return HTMLResponse(page_shell(f"{kw}吧", body))

    def floor(pid: str, no: int, name: str, text: str, ip: str, at: datetime, lzl: int) -> str:
        content = {"post_id": int(pid), "post_no": no, "comment_num": lzl}
        field = {"author": {"user_name": name}, "content": content}
        body = escape(text).replace("\n", "<br>")
        return FLOOR.format(
            field=_field(field), name=escape(name), pid=pid, text=body, ip=ip, no=no, when=exact(at)
        )

    async def thread(request: Request, active: Active) -> Response:
        item = corpus.get(request.path_params["tid"])
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return HTMLResponse(page_shell("贴子不存在", GONE), 404)
        try:
            pn = parse_int(request.query_params.get("pn"), "pn", 1)
        except ValueError as exc:
            return HTMLResponse(page_shell("参数错误", f"<p>{escape(str(exc))}</p>"), 400)
        author = item.author.name
        floors = [floor(item.native_id, 1, author, item.text, item.ip_region, item.created_at, 0)]
        floors += [
            floor(c.native_id, n + 2, c.author.name, c.text, c.ip_region, c.created_at, len(r))
            for n, (c, r) in enumerate(visible(item))
        ]
        pages = max(1, -(-len(floors) // FLOORS))
        served = [] if active.silent_block else floors[(pn - 1) * FLOORS : pn * FLOORS]
        nxt = f'<a href="/p/{item.native_id}?pn={pn + 1}">下一页</a>' if pn < pages else ""
        body = THREAD.format(
            css="core_title_text" if active.layout_changed else "core_title_txt",
            title=escape(item.title),
            floors="".join(served),
            nxt=nxt,
            pages=pages,
        )
        return HTMLResponse(page_shell(item.title, body))

    async def lzl(request: Request, active: Active) -> Response:
        params = request.query_params
        item = corpus.get(params.get("tid", ""))
        try:
            pn = parse_int(params.get("pn"), "pn", 1)
        except ValueError as exc:
            return HTMLResponse(f"<p>{escape(str(exc))}</p>", 400)
        replies = None
        if item is not None and item.site == PREFIX:
            replies = next((r for c, r in visible(item) if c.native_id == params.get("pid")), None)
        if replies is None:
            return HTMLResponse('<ul class="j_lzl_m_w"></ul>', 404)
        served = [] if active.silent_block else replies[(pn - 1) * LZL : pn * LZL]
        rows = "".join(
            LZL_ROW.format(
                field=_field({"spid": int(r.native_id), "user_name": r.author.name}),
                name=escape(r.author.name),
                text=escape(r.text),
                when=exact(r.created_at),
            )
            for r in served
        )
        more = pn * LZL < len(replies)
        pager = ""
        if more:
            pager = f'<p class="j_pager l_pager pager_theme_2"><a href="#{pn + 1}">下一页</a></p>'
        return HTMLResponse(f'<ul class="j_lzl_m_w">{rows}</ul>{pager}')

    pages = html_pages(SITE, PREFIX)
    board = state.faults
    return [
        Route("/f", guarded(PREFIX, board, pages, bar)),
        Route("/p/comment", guarded(PREFIX, board, pages, lzl)),
        Route("/p/{tid}", guarded(PREFIX, board, pages, thread)),
        Route("/login", login_page(SITE, PREFIX)),
    ]
