"""Douyin web search: a page whose results exist only after its JavaScript runs.

``/douyin/search/<keyword>`` is an empty ``#root`` plus the first results URL-encoded in
``<script id="RENDER_DATA">``, as douyin.com ships them; ``search.js`` renders the cards
and the "加载更多" button fetches further pages from the search XHR. That XHR needs an
``a_bogus`` signature the page computes (FNV-1a of keyword, offset and the page's token);
without a valid one it answers 200 with an empty body, as the real one does — so the
source needs a browser (or the signing reimplemented), which is the point of this platform.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from sim.platforms.accounts import sec_uid
from sim.platforms.faults import Active, guarded
from sim.platforms.items import Item
from sim.platforms.listing import paginate, parse_int
from sim.platforms.pages import html_pages, json_response, login_page
from sim.platforms.state import SimState

PREFIX = "douyin"
SITE = "抖音"
PAGE_SIZE = 10
XHR = f"/{PREFIX}/aweme/v1/web/general/search/single/"
CARD_CLASSES = {"card": "search-result-card", "desc": "aweme-desc", "author": "author-name"}
CHANGED_CLASSES = {"card": "SwZLHMKk", "desc": "VDYK8Xd7", "author": "j5WZzJdp"}

SEARCH_JS = """(function () {
  function sign(s) {
    var bytes = new TextEncoder().encode(s), h = 0x811c9dc5;
    for (var i = 0; i < bytes.length; i++) { h ^= bytes[i]; h = Math.imul(h, 0x01000193) >>> 0; }
    return ("0000000" + h.toString(16)).slice(-8);
  }
  var app = JSON.parse(decodeURIComponent(document.getElementById("RENDER_DATA").textContent)).app;
  var css = app.classes, root = document.getElementById("root");
  root.innerHTML = '<ul class="search-result-list"></ul>';
  var list = root.firstChild, offset = 0, more = false;
  function text(tag, cls, value) {
    var el = document.createElement(tag); el.className = cls; el.textContent = value; return el;
  }
  function render(page) {
    page.data.forEach(function (entry) {
      var a = entry.aweme_info, li = document.createElement("li");
      li.className = css.card; li.setAttribute("data-aweme-id", a.aweme_id);
      li.appendChild(text("p", css.desc, a.desc));
      li.appendChild(text("span", css.author, a.author.nickname));
      var t = text("span", "publish-time", new Date(a.create_time * 1000).toLocaleString("zh-CN"));
      t.setAttribute("data-ts", a.create_time); li.appendChild(t);
      li.appendChild(text("span", "like-count", a.statistics.digg_count));
      if (a.poi_info) li.appendChild(text("span", "poi-name", a.poi_info.poi_name));
      list.appendChild(li);
    });
    offset = page.cursor; more = page.has_more === 1;
    button.style.display = more ? "" : "none";
  }
  var button = text("button", "load-more", "加载更多");
  root.appendChild(button);
  button.addEventListener("click", function () {
    if (!more) return;
    button.disabled = true;
    var q = "keyword=" + encodeURIComponent(app.keyword) + "&offset=" + offset + "&count=10";
    var sig = sign(app.keyword + "|" + offset + "|" + app.searchToken);
    fetch(app.xhr + "?" + q + "&a_bogus=" + sig, {credentials: "include"})
      .then(function (r) { return r.json(); })
      .then(function (page) { button.disabled = false; render(page); });
  });
  render(app.initial);
})();
"""


def fnv1a(text: str) -> str:
    """The page's signing hash; the JavaScript above computes the same."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def search_token(seed: int, keyword: str) -> str:
    return fnv1a(f"{seed}:{keyword}")


def aweme(item: Item) -> dict[str, Any]:
    return {
        "type": 1,
        "aweme_info": {
            "aweme_id": item.native_id,
            "desc": item.text,
            "create_time": int(item.created_at.timestamp()),
            "author": {
                "uid": str(item.author.id),
                "nickname": item.author.name,
                "follower_count": item.author.followers,
                "sec_uid": sec_uid(item.author),
            },
            "statistics": {
                "digg_count": item.likes,
                "comment_count": item.comments,
                "share_count": item.shares,
            },
            "share_url": f"https://www.iesdouyin.com/share/video/{item.native_id}/",
            **({"poi_info": {"poi_name": item.poi}} if item.poi else {}),
        },
    }


def routes(state: SimState) -> list[BaseRoute]:
    def page_of(keyword: str, offset: int, active: Active) -> dict[str, Any]:
        if active.silent_block:
            return {"status_code": 0, "data": [], "cursor": offset, "has_more": 0}
        found = state.corpus.search(PREFIX, keyword, now=state.now())
        page = offset // PAGE_SIZE + 1
        listing = paginate(found, page, PAGE_SIZE, cap=state.result_cap, overlap=active.overlap)
        return {
            "status_code": 0,
            "data": [aweme(i) for i in listing.items],
            "cursor": offset + PAGE_SIZE,
            "has_more": int(listing.has_more),
        }

    async def search_page(request: Request, active: Active) -> Response:
        keyword = request.path_params["keyword"].strip()
        app = {
            "keyword": keyword,
            "searchToken": search_token(state.corpus.seed, keyword),
            "xhr": XHR,
            "classes": CHANGED_CLASSES if active.layout_changed else CARD_CLASSES,
            "initial": page_of(keyword, 0, active),
        }
        data = quote(json.dumps({"app": app}, ensure_ascii=False, separators=(",", ":")))
        html = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(keyword)} - {SITE}搜索</title></head><body>
<div id="root"><div class="loading">加载中...</div></div>
<script id="RENDER_DATA" type="application/json">{data}</script>
<script src="/{PREFIX}/static/search.js"></script></body></html>"""
        return HTMLResponse(html)

    async def search_xhr(request: Request, active: Active) -> Response:
        params = request.query_params
        keyword = params.get("keyword", "").strip()
        try:
            offset = parse_int(params.get("offset"), "offset", 0, minimum=0)
        except ValueError as exc:
            return json_response({"status_code": 2483, "status_msg": str(exc)}, 400)
        expected = fnv1a(f"{keyword}|{offset}|{search_token(state.corpus.seed, keyword)}")
        if params.get("a_bogus") != expected:
            return Response(b"", 200, media_type="application/json")
        return json_response(page_of(keyword, offset, active))

    async def script(_: Request) -> Response:
        return Response(SEARCH_JS, media_type="application/javascript; charset=utf-8")

    pages = html_pages(SITE, PREFIX)
    board = state.faults
    return [
        Route("/search/{keyword}", guarded(PREFIX, board, pages, search_page)),
        Route("/aweme/v1/web/general/search/single/", guarded(PREFIX, board, pages, search_xhr)),
        Route("/static/search.js", script),
        Route("/login", login_page(SITE, PREFIX)),
    ]
