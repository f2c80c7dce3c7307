"""WeChat official-account articles through the Sogou WeChat search (weixin.sogou.com).

A result page lists articles with a ``/link?url=…`` redirect each; the ``url`` parameter
is the article (mp.weixin.qq.com), read for its full text, account, publication time
(``var ct``) and IP属地 (``#js_ip_wording``). The result list is capped at ten pages, so
sources split by keyword. Sogou's antispider answers with its verification page (the
captcha state); a result page without ``ul.news-list`` or its "no result" box is a layout
change, never an empty search.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged
from crawlers.platforms.html_list import text_of
from crawlers.urls import resolve
from xianban.records import Author, CrawlTask, PlaceHints, Post

SEARCH = "/weixin"
CT = re.compile(r"""var\s+ct\s*=\s*["'](\d{9,11})["']""")
TIME_CONVERT = re.compile(r"timeConvert\('(\d{9,11})'\)")


def article_links(html: str, page_url: str) -> tuple[list[str], bool]:
    """Absolute article URLs of a result page, and whether a next page follows."""
    tree = LexborHTMLParser(html)
    listing = tree.css_first("ul.news-list")
    if listing is None:
        if tree.css_first("#noresult_part1_container") is not None:
            return [], False
        raise LayoutChanged("wechat search: no ul.news-list nor a no-result box")
    links = []
    for item in listing.css("li"):
        anchor = item.css_first("div.txt-box h3 a")
        href = anchor.attributes.get("href") if anchor is not None else None
        if not href:
            raise LayoutChanged("wechat search: a result without div.txt-box h3 a")
        target = parse_qs(urlsplit(href).query).get("url", [href])[0]
        link = resolve(target, page_url)
        if link is None:
            raise LayoutChanged(f"wechat search: a result linking nowhere ({href!r})")
        links.append(link)
    return links, tree.css_first("a#sogou_next") is not None


def to_post(html: str, url: str, source: str) -> Post:
    tree = LexborHTMLParser(html)
    mid = parse_qs(urlsplit(url).query).get("mid", [""])[0]
    body = text_of(tree.css_first("div#js_content"))
    stamp = CT.search(html)
    if not mid or body is None or stamp is None:
        gone = "该内容已被发布者删除" in html
        why = "deleted by its account" if gone else "no #js_content, mid or ct"
        raise LayoutChanged(f"wechat article {url}: {why}")
    paragraphs = [text_of(p) for p in tree.css("div#js_content p")]
    return Post(
        platform="wechat",
        native_id=mid,
        source=source,
        url=url,
        author=Author(name=text_of(tree.css_first("a#js_name"))),
        title=text_of(tree.css_first("h1#activity-name")),
        text="\n".join(p for p in paragraphs if p) or body,
        created_at=datetime.fromtimestamp(int(stamp.group(1)), tz=UTC),
        place_hints=PlaceHints(ip_location=text_of(tree.css_first("#js_ip_wording"))),
    )


class WechatArticles:
    name = "wechat"

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        number = int(cursor or 1)
        params = {"type": 2, "query": task.query or "", "page": number, "ie": "utf8"}
        html = await fetch.get_text(SEARCH, params=params)
        links, more = article_links(html, fetch.url_of(SEARCH))
        links = list(dict.fromkeys(links))  # an article listed twice is read once
        pages = await asyncio.gather(*(fetch.get_text(link) for link in links))
        posts = [to_post(text, link, task.source) for text, link in zip(pages, links, strict=True)]
        return Page(posts=posts, next_cursor=str(number + 1) if more and posts else None)
