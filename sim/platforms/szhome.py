"""家在深圳 (szhome)-style homeowners' forum: its own markup, for a config-only source.

- ``GET /szhome/bbs/list-<board>-<page>.html`` (board ``yzwd``, 业主问答) → 20 topics a
  page, newest first: ``div.topic-list div.topic-item`` with ``a.topic-title`` (href
  ``topic-<id>.html``, relative), ``span.topic-author``, ``span.topic-time``
  ("3小时前", "昨天 12:30"); ``a.page-next`` while more. Unknown board → 404.
- ``GET /szhome/bbs/topic-<id>.html`` → ``h1.topic-subject``, ``a.poster-name``,
  ``span.post-time`` ("2026-11-20 12:30"), ``span.ip-from`` ("IP属地：广东"),
  ``div.topic-content`` (paragraphs, images).
- Layout change: ``topic-item`` → ``thread-item``, ``topic-content`` → ``post-body``.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.pages import html_pages, login_page
from sim.platforms.state import SimState
from sim.platforms.tieba import exact, relative

PREFIX = "szhome"
SITE = "家在深圳"
BOARDS = {"yzwd": "业主问答"}
PAGE_SIZE = 20

ITEM = """<div class="{css}"><a class="topic-title" href="topic-{id}.html">{title}</a>
<span class="topic-author">{author}</span><span class="topic-time">{when}</span></div>"""
TOPIC = """<div class="topic-head"><h1 class="topic-subject">{title}</h1>
<div class="poster"><a class="poster-name">{author}</a><span class="post-time">{when}</span>
<span class="ip-from">IP属地：{ip}</span></div></div>
<div class="{css}">{paragraphs}{images}</div>"""


def page_html(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}'
        f' - {SITE}</title></head><body><div class="wrap">{body}</div></body></html>'
    )


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    async def board(request: Request, active: Active) -> Response:
        code, page = request.path_params["board"], request.path_params["page"]
        if code not in BOARDS:
            return HTMLResponse(page_html("版块不存在", "<p>您访问的版块不存在</p>"), 404)
        found = corpus.search(PREFIX, now=state.now())
        start = (page - 1) * PAGE_SIZE
        served = (
            [] if active.silent_block else found[max(0, start - active.overlap) : start + PAGE_SIZE]
        )
        now = state.now()
        css = "thread-item" if active.layout_changed else "topic-item"
        rows = "".join(
            ITEM.format(
                css=css,
                id=i.native_id,
                title=escape(i.title),
                author=escape(i.author.name),
                when=relative(i.created_at, now),
            )
            for i in served
        )
        more = start + PAGE_SIZE < len(found) and not active.silent_block
        nxt = f'<a class="page-next" href="list-{code}-{page + 1}.html">下一页</a>' if more else ""
        body = f'<h2>{BOARDS[code]}</h2><div class="topic-list">{rows}</div>'
        body += f'<div class="pages">{nxt}</div>'
        return HTMLResponse(page_html(BOARDS[code], body))

    async def topic(request: Request, active: Active) -> Response:
        item = corpus.get(str(request.path_params["id"]))
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return HTMLResponse(page_html("帖子不存在", "<p>帖子不存在或已被删除</p>"), 404)
        paragraphs = "".join(f"<p>{escape(line)}</p>" for line in item.text.split("\n") if line)
        images = "".join(
            f'<img src="//img.szhome.com/bbs/{item.native_id}_{k}.jpg">' for k in range(item.images)
        )
        body = TOPIC.format(
            title=escape(item.title),
            author=escape(item.author.name),
            when=exact(item.created_at),
            ip=item.ip_region,
            css="post-body" if active.layout_changed else "topic-content",
            paragraphs=paragraphs,
            images=images,
        )
        return HTMLResponse(page_html(item.title, body))

    pages = html_pages(SITE, PREFIX)
    guard = state.faults
    return [
        Route("/bbs/list-{board}-{page:int}.html", guarded(PREFIX, guard, pages, board)),
        Route("/bbs/topic-{id:int}.html", guarded(PREFIX, guard, pages, topic)),
        Route("/login", login_page(SITE, PREFIX)),
    ]
