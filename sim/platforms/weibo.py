"""Weibo mobile search as m.weibo.cn serves it: ``/api/container/getIndex`` with a containerid.

Shapes follow the real API: a ``card_type`` 9 card per post holding an ``mblog`` whose
``text`` is HTML (topic links, ``url-icon`` emoticon images, @-mention links), counts,
``region_name`` ("发布于 广东"), pictures, and ``retweeted_status`` for reposts. Quirks kept
on purpose: ``followers_count`` is a string such as "3.2万" from ten thousand up, long posts
are cut with a "全文" link and ``isLongText`` (full text at ``/statuses/extend``), and an
empty result is ``{"ok": 0, "msg": "这里还没有内容"}`` — which is also what a silent block
looks like.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms import weibo_feeds
from sim.platforms.faults import Active, guarded
from sim.platforms.items import SHANGHAI, Item
from sim.platforms.listing import paginate, parse_epoch, parse_int
from sim.platforms.pages import JSON_TYPE, compact_json, json_pages, json_response, login_page
from sim.platforms.state import SimState

PREFIX = "weibo"
PAGE_SIZE = 10
LONG_TEXT = 60
SEARCH_CONTAINER = "100103"
EMPTY = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
SOURCES = ("iPhone客户端", "HUAWEI Mate 60 Pro", "微博 weibo.com", "Android", "vivo X100", "小米14")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EMOTICONS = {"怒": "d_nu", "允悲": "d_yunbei", "吐": "d_tu", "泪": "d_lei"}
TOPIC = re.compile(r"#([^#\s]{1,30})#")
EMOTICON = re.compile(r"\[([^\[\]]{1,4})\]")
MENTION = re.compile(r"@([\w\u4e00-\u9fff-]+)")


def created_at(item: Item) -> str:
    """Weibo's ``Sun Nov 22 10:00:00 +0800 2026``, independent of the process locale."""
    t = item.created_at.astimezone(SHANGHAI)
    return f"{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t:%d %H:%M:%S} +0800 {t.year}"


def render_text(text: str) -> str:
    """Plain post text to the HTML m.weibo.cn puts in ``mblog.text``."""

    def topic(m: re.Match[str]) -> str:
        q = quote(f"#{m.group(1)}#")
        return (
            f'<a  href="https://m.weibo.cn/search?containerid=231522type%3D1%26t%3D10%26q%3D{q}'
            f'&extparam={q}" data-hide=""><span class="surl-text">#{m.group(1)}#</span></a>'
        )

    def emoticon(m: re.Match[str]) -> str:
        code = EMOTICONS.get(m.group(1))
        if code is None:
            return m.group(0)
        return (
            f'<span class="url-icon"><img alt=[{m.group(1)}] '
            f'src="https://h5.sinaimg.cn/m/emoticon/icon/default/{code}.png" '
            'style="width:1em; height:1em;" /></span>'
        )

    html = TOPIC.sub(topic, text).replace("\n", "<br />")
    html = EMOTICON.sub(emoticon, html)
    return MENTION.sub(lambda m: f"<a href='/n/{m.group(1)}'>@{m.group(1)}</a>", html)


def location_link(poi: str) -> str:
    """The check-in link Weibo appends to a post's HTML when the author tags a place."""
    return (
        f'<a  href="https://m.weibo.cn/p/index?containerid=2306570042{quote(poi)}" >'
        "<span class='url-icon'><img style='width: 1rem;height: 1rem' "
        "src='https://h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_location_default.png'>"
        f'</span><span class="surl-text">{poi}</span></a>'
    )


def _followers(count: int) -> int | str:
    return count if count < 10_000 else f"{count / 10_000:.1f}万"


def _pid(item: Item, k: int) -> str:
    return hashlib.blake2b(f"{item.native_id}/{k}".encode(), digest_size=11).hexdigest()


def mblog(
    item: Item, corpus_get: Callable[[str], Item | None], *, nested: bool = False
) -> dict[str, Any]:
    is_long = len(item.text) > LONG_TEXT
    text = render_text(item.text[:LONG_TEXT] if is_long else item.text)
    if is_long:
        text += f'...<a href="/status/{item.native_id}">全文</a>'
    if item.poi:
        text += location_link(item.poi)
    pids = [_pid(item, k) for k in range(item.images)]
    user = item.author
    out: dict[str, Any] = {
        "visible": {"type": 0, "list_id": 0},
        "created_at": created_at(item),
        "id": item.native_id,
        "idstr": item.native_id,
        "mid": item.native_id,
        "text": text,
        "textLength": len(item.text.encode("gbk", "replace")),
        "source": SOURCES[int(item.native_id) % len(SOURCES)],
        "favorited": False,
        "isLongText": is_long,
        "pic_ids": pids,
        "pic_num": len(pids),
        "pics": [
            {
                "pid": pid,
                "url": f"https://wx1.sinaimg.cn/orj360/{pid}.jpg",
                "size": "orj360",
                "large": {"size": "large", "url": f"https://wx1.sinaimg.cn/large/{pid}.jpg"},
            }
            for pid in pids
        ],
        "user": {
            "id": user.id,
            "screen_name": user.name,
            "profile_url": f"https://m.weibo.cn/u/{user.id}",
            "followers_count": _followers(user.followers),
            "follow_count": user.followers % 997,
            "verified": user.verified,
            "verified_type": 0 if user.verified else -1,
            "gender": "f" if user.id % 2 else "m",
        },
        "reposts_count": item.shares,
        "comments_count": item.comments,
        "attitudes_count": item.likes,
        "region_name": f"发布于 {item.ip_region}",
    }
    if item.repost_of and not nested:
        original = corpus_get(item.repost_of)
        if original is not None:
            out["retweeted_status"] = mblog(original, corpus_get, nested=True)
    return out


def _search(containerid: str) -> tuple[str | None, datetime | None, datetime | None]:
    """Query and ``timescope`` window of a search containerid, or no query if not a search.

    ``100103type=1&q=路灯&timescope=custom:2026-11-01-0:2026-11-10-23`` is how Weibo's
    advanced search encodes a window (Beijing time, whole hours, end hour included).
    """
    if not containerid.startswith(SEARCH_CONTAINER):
        return None, None, None
    fields = parse_qs(containerid[len(SEARCH_CONTAINER) :])
    query = fields.get("q", [""])[0].strip() or None
    scope = fields.get("timescope", [""])[0]
    if not scope:
        return query, None, None
    kind, _, window = scope.partition(":")
    start, _, end = window.partition(":")
    try:
        if kind != "custom":
            raise ValueError(scope)
        since = datetime.strptime(start, "%Y-%m-%d-%H").replace(tzinfo=SHANGHAI)
        until = datetime.strptime(end, "%Y-%m-%d-%H").replace(tzinfo=SHANGHAI)
    except ValueError:
        raise ValueError(
            f"timescope 应为 custom:YYYY-MM-DD-H:YYYY-MM-DD-H，收到 {scope!r}"
        ) from None
    return query, since, until + timedelta(hours=1, seconds=-1)


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus
    rendered: dict[tuple[str, bool], str] = {}

    async def get_index(request: Request, active: Active) -> Response:
        params = request.query_params
        if params.get("containerid", "").startswith(weibo_feeds.TIMELINE_CONTAINER):
            return await timeline(request, active)
        try:
            query, since, until = _search(params.get("containerid", ""))
            page = parse_int(params.get("page"), "page", 1)
            since = parse_epoch(params.get("starttime"), "starttime") or since
            until = parse_epoch(params.get("endtime"), "endtime") or until
        except ValueError as exc:
            return json_response({"ok": 0, "msg": str(exc)}, 400)
        if query is None or active.silent_block:
            return json_response(EMPTY)
        found = corpus.search(PREFIX, query, now=state.now(), since=since, until=until)
        listing = paginate(found, page, PAGE_SIZE, cap=state.result_cap, overlap=active.overlap)
        if not listing.items:
            return json_response(EMPTY)
        info = {
            "containerid": params.get("containerid"),
            "v_p": 42,
            "show_style": 1,
            "total": len(found),
            "page": page + 1 if listing.has_more else None,
        }
        cards = ",".join(card_json(item, active.layout_changed) for item in listing.items)
        body = f'{{"ok":1,"data":{{"cardlistInfo":{compact_json(info)},"cards":[{cards}]}}}}'
        return Response(body.encode(), media_type=JSON_TYPE)

    def card_json(item: Item, layout_changed: bool) -> str:
        """One card as JSON text, rendered once per post: pages are re-read constantly."""
        key = (item.native_id, layout_changed)
        text = rendered.get(key)
        if text is None:
            blog = mblog(item, corpus.get)
            if layout_changed:
                card: dict[str, Any] = {
                    "card_type": 11,
                    "card_group": [{"card_type": 9, "status": blog}],
                }
            else:
                card = {
                    "card_type": 9,
                    "scheme": f"https://m.weibo.cn/status/{item.native_id}",
                    "mblog": blog,
                }
            rendered[key] = text = compact_json(card)
        return text

    async def extend(request: Request, active: Active) -> Response:
        item = corpus.get(request.query_params.get("id", ""))
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return json_response({"ok": 0, "msg": "内容不存在或已被删除"}, 200)
        content = render_text(item.text) + (location_link(item.poi) if item.poi else "")
        return json_response({"ok": 1, "data": {"ok": 1, "longTextContent": content}})

    def login_wall(request: Request, _: Active) -> Response:
        back = quote(str(request.url))
        return json_response({"ok": -100, "url": f"/{PREFIX}/login?r={back}"})

    pages = json_pages(
        "微博",
        PREFIX,
        throttled={"ok": 0, "errno": "100005", "msg": "请求过于频繁，请稍后再试"},
        login_wall=login_wall,
    )

    def cards(items: list[Item], active: Active) -> list[Any]:
        return [json.loads(card_json(item, active.layout_changed)) for item in items]

    board = state.faults
    feeds, timeline = weibo_feeds.routes(state, pages, cards)
    return [
        Route("/api/container/getIndex", guarded(PREFIX, board, pages, get_index)),
        Route("/statuses/extend", guarded(PREFIX, board, pages, extend)),
        Route("/login", login_page("微博", PREFIX)),
        *feeds,
    ]
