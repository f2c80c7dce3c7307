"""A local news site's RSS 2.0 feed, a government portal's Atom feed, and the article pages.

Feeds carry only the latest ``FEED_SIZE`` items and no paging, as real ones do: a crawler
keeps up by polling and remembering guids. The layout-change fault swaps the format
(RSS ⇄ Atom), the change a site makes when it moves to a new CMS.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import format_datetime
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.items import SHANGHAI, Item
from sim.platforms.pages import html_pages, login_page
from sim.platforms.state import SimState

PREFIX = "news"
FEED_SIZE = 50
SITE = "深圳新闻网"
XML = "application/xml; charset=utf-8"


def article_path(item: Item) -> str:
    return f"/{PREFIX}/content/{item.created_at.astimezone(SHANGHAI):%Y-%m/%d}/{item.native_id}.htm"


def headline(item: Item) -> str:
    return item.title


def summary_html(item: Item) -> str:
    """The post as the article's lead paragraph: no framing of our own, since the written
    pool's news items are notices and reports as well as readers' complaints."""
    body = escape(item.text).replace("\n", "<br/>")
    return f"<p>{body}</p>"


def rss(items: Sequence[Item], base: str) -> str:
    entries = "".join(
        f"<item><title>{escape(headline(i))}</title>"
        f"<link>{base}{article_path(i)}</link>"
        f'<guid isPermaLink="true">{base}{article_path(i)}</guid>'
        f"<description>{escape(summary_html(i))}</description>"
        f"<pubDate>{format_datetime(i.created_at.astimezone(SHANGHAI))}</pubDate>"
        f"<author>{SITE}</author><category>民生</category></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{SITE} - 民生</title><link>{base}/{PREFIX}/</link>"
        f"<description>{SITE}民生频道</description><language>zh-cn</language>"
        f"{entries}</channel></rss>"
    )


def atom(items: Sequence[Item], base: str) -> str:
    updated = items[0].created_at.isoformat() if items else "2026-01-01T00:00:00+08:00"
    entries = "".join(
        f"<entry><title>{escape(headline(i))}</title>"
        f'<link rel="alternate" href="{base}{article_path(i)}"/>'
        f"<id>urn:sz-gov:{i.native_id}</id>"
        f"<published>{i.created_at.isoformat()}</published>"
        f"<updated>{i.created_at.isoformat()}</updated>"
        f'<summary type="html">{escape(summary_html(i))}</summary>'
        f"<author><name>深圳市人民政府 政民互动</name></author></entry>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>深圳市人民政府 - 民意速递</title><id>urn:sz-gov:feed</id>"
        f'<link rel="self" href="{base}/{PREFIX}/atom.xml"/><updated>{updated}</updated>'
        f"{entries}</feed>"
    )


def article(item: Item, *, layout_changed: bool) -> str:
    title, info, content = (
        ("headline", "meta-line", "rich-text")
        if layout_changed
        else ("article-title", "article-info", "article-content")
    )
    when = f"{item.created_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(headline(item))}_{SITE}</title></head><body>
<div class="main"><h1 class="{title}">{escape(headline(item))}</h1>
<div class="{info}"><span class="time">{when}</span><span class="source">来源：{SITE}</span>
<span class="editor">责任编辑：{escape(item.author.name)}</span></div>
<div class="{content}">{summary_html(item)}</div></div></body></html>"""


def routes(state: SimState) -> list[BaseRoute]:
    def latest(active: Active) -> list[Item]:
        if active.silent_block:
            return []
        items = list(state.corpus.search(PREFIX, now=state.now())[:FEED_SIZE])
        return items + items[: active.overlap]

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def rss_feed(request: Request, active: Active) -> Response:
        items = latest(active)
        text = atom(items, base(request)) if active.layout_changed else rss(items, base(request))
        return Response(text, media_type=XML)

    async def atom_feed(request: Request, active: Active) -> Response:
        items = latest(active)
        text = rss(items, base(request)) if active.layout_changed else atom(items, base(request))
        return Response(text, media_type=XML)

    async def article_page(request: Request, active: Active) -> Response:
        item = state.corpus.get(request.path_params["native_id"])
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return HTMLResponse("<html><body><h1>404 您访问的页面不存在</h1></body></html>", 404)
        return HTMLResponse(article(item, layout_changed=active.layout_changed))

    pages = html_pages(SITE, PREFIX)
    board = state.faults
    return [
        Route("/rss.xml", guarded(PREFIX, board, pages, rss_feed)),
        Route("/atom.xml", guarded(PREFIX, board, pages, atom_feed)),
        Route(
            "/content/{month}/{day}/{native_id}.htm",
            guarded(PREFIX, board, pages, article_page),
        ),
        Route("/login", login_page(SITE, PREFIX)),
    ]
