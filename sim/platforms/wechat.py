"""WeChat official-account articles as the Sogou WeChat search finds them, and the articles.

- ``GET /wechat/weixin?type=2&query=<words>&page=<n>&ie=utf8`` → weixin.sogou.com's result
  page: ``ul.news-list > li[id^=sogou_vr_11002601_box_]`` with ``div.txt-box h3 a``
  (``/link?url=<article URL, urlencoded>&type=2``, relative), ``p.txt-info`` (summary, the
  words in ``<em>``), ``span.all-time-y2`` (the account) and ``span.s2`` holding
  ``<script>document.write(timeConvert('<unix s>'))</script>``; ``a#sogou_next`` while more;
  10 a page, at most 10 pages. Nothing found: ``div#noresult_part1_container``.
- ``GET /wechat/s?__biz=<account>&mid=<id>&idx=1&sn=<hash>`` → the article as
  mp.weixin.qq.com serves it: ``h1#activity-name``, ``a#js_name`` (account), ``var ct =
  "<unix s>"`` in a script, ``div#js_content`` (paragraphs), ``span#js_ip_wording`` (IP属地).
  A deleted one: "该内容已被发布者删除".
- Refusals: Sogou's antispider is the captcha page; layout change renames ``news-list``.
"""

from __future__ import annotations

import hashlib
from html import escape
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.items import Item
from sim.platforms.listing import parse_int
from sim.platforms.pages import html_pages, login_page
from sim.platforms.state import SimState

PREFIX = "wechat"
SITE = "搜狗微信"
PAGE_SIZE = 10
MAX_PAGES = 10
ACCOUNTS = ("深圳生活圈", "龙华街坊", "南山邻里", "宝安身边事", "深圳本地通", "福田街道民生")

RESULT = """<li id="sogou_vr_11002601_box_{n}" d="ab735a258a90e8e1-{id}">
<div class="txt-box"><h3><a target="_blank" href="{link}" id="sogou_vr_11002601_title_{n}"
 uigs="article_title_{n}">{title}</a></h3>
<p class="txt-info" id="sogou_vr_11002601_summary_{n}">{summary}</p>
<div class="s-p"><span class="all-time-y2">{account}</span><span class="s2"><script>
document.write(timeConvert('{ts}'))</script></span></div></div></li>"""
ARTICLE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><div id="page-content" class="rich_media_area_primary">
<h1 class="rich_media_title" id="activity-name">{title}</h1>
<div id="meta_content" class="rich_media_meta_list"><span class="rich_media_meta_nickname">
<a id="js_name">{account}</a></span><em id="publish_time" class="rich_media_meta_text"></em>
<span id="js_ip_wording_wrp">发表于<span id="js_ip_wording">{ip}</span></span></div>
<div class="rich_media_content" id="js_content">{paragraphs}</div></div>
<script>var ct = "{ts}"; var msg_title = "{title}";</script></body></html>"""


def account(item: Item) -> str:
    return ACCOUNTS[int(hashlib.md5(item.native_id.encode()).hexdigest(), 16) % len(ACCOUNTS)]


def article_path(item: Item) -> str:
    biz = hashlib.sha1(account(item).encode()).hexdigest()[:12]
    sn = hashlib.md5(f"sn:{item.native_id}".encode()).hexdigest()
    return f"/s?{urlencode({'__biz': f'MzA{biz}==', 'mid': item.native_id, 'idx': 1, 'sn': sn})}"


def page_html(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>{body}</body></html>"
    )


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    async def search(request: Request, active: Active) -> Response:
        params = request.query_params
        query = params.get("query", "")
        try:
            page = parse_int(params.get("page"), "page", 1)
        except ValueError as exc:
            return HTMLResponse(page_html("搜狗微信", escape(str(exc))), 400)
        found = corpus.search(PREFIX, query, now=state.now())[: PAGE_SIZE * MAX_PAGES]
        start = (page - 1) * PAGE_SIZE
        served = (
            [] if active.silent_block else found[max(0, start - active.overlap) : start + PAGE_SIZE]
        )
        if not served:
            body = '<div id="noresult_part1_container"><p>暂无与您搜索相关的公众号文章</p></div>'
            return HTMLResponse(page_html(f"{query}的相关微信公众号文章 – 搜狗微信搜索", body))
        words = [w for w in query.split() if w]
        rows = []
        for n, item in enumerate(served):
            summary = escape(item.text[:80])
            for word in words:
                summary = summary.replace(escape(word), f"<em>{escape(word)}</em>")
            link = "/link?" + urlencode({"url": f"/wechat{article_path(item)}", "type": 2})
            rows.append(
                RESULT.format(
                    n=n,
                    id=item.native_id,
                    link=escape(link),
                    title=escape(item.title),
                    summary=summary,
                    account=account(item),
                    ts=int(item.created_at.timestamp()),
                )
            )
        css = "result-list" if active.layout_changed else "news-list"
        more = start + PAGE_SIZE < len(found)
        href = f"?query={quote(query)}&amp;type=2&amp;page={page + 1}"
        nxt = f'<a id="sogou_next" href="{href}">下一页</a>'
        body = (
            f'<div class="news-box"><ul class="{css}">{"".join(rows)}</ul></div>'
            f'<div class="p-fy" id="pagebar_container">{nxt if more else ""}</div>'
        )
        return HTMLResponse(page_html(f"{query}的相关微信公众号文章 – 搜狗微信搜索", body))

    async def article(request: Request, active: Active) -> Response:
        item = corpus.get(request.query_params.get("mid", ""))
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return HTMLResponse(
                page_html("微信公众平台", '<div class="weui-msg">该内容已被发布者删除</div>')
            )
        paragraphs = "".join(f"<p>{escape(line)}</p>" for line in item.text.split("\n") if line)
        return HTMLResponse(
            ARTICLE.format(
                title=escape(item.title),
                account=account(item),
                ip=item.ip_region,
                paragraphs=paragraphs,
                ts=int(item.created_at.timestamp()),
            )
        )

    pages = html_pages(SITE, PREFIX)
    board = state.faults
    return [
        Route("/weixin", guarded(PREFIX, board, pages, search)),
        Route("/s", guarded(PREFIX, board, pages, article)),
        Route("/login", login_page(SITE, PREFIX)),
    ]
