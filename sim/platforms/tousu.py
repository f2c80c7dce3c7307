"""A complaint platform's JSON API (黑猫投诉 / 领导留言板 style) paged by an opaque cursor.

The cursor is a keyset — the (timestamp, id) of the last item served — so posts arriving
at the top while a crawler pages down never shift what the next page holds, and a crawler
that stores ``next_cursor`` resumes exactly where it stopped. The layout-change fault
moves the payload (``result.records`` and ``result.cursor``) the way an API version bump
does.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.items import SHANGHAI, Item
from sim.platforms.listing import parse_epoch, parse_int
from sim.platforms.pages import JSON_TYPE, compact_json, json_pages, json_response
from sim.platforms.state import SimState

PREFIX = "tousu"
SITE = "民生投诉平台"
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
STATUSES = ("待分配", "处理中", "已回复", "已完成")


def encode_cursor(item: Item) -> str:
    raw = f"{int(item.created_at.timestamp())}:{item.native_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """``(timestamp, id)`` of the last item served; ``ValueError`` if it was not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, native_id = raw.split(":", 1)
        return int(stamp), native_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"cursor 参数无效：{cursor!r}") from None


def complaint(item: Item) -> dict[str, Any]:
    local = item.created_at.astimezone(SHANGHAI)
    return {
        "id": item.native_id,
        "title": item.title,
        "content": item.text,
        "status": STATUSES[int(item.native_id) % len(STATUSES)],
        "created_at": f"{local:%Y-%m-%d %H:%M:%S}",
        "timestamp": int(item.created_at.timestamp()),
        "user": {"uid": str(item.author.id), "nickname": item.author.name},
        "supports": item.likes,
        "comments": item.comments,
        "views": item.likes * 17 + item.comments,
        "images": [f"/{PREFIX}/img/{item.native_id}_{k}.jpg" for k in range(item.images)],
        "ip_location": item.ip_region,
        "url": f"/{PREFIX}/api/complaints/{item.native_id}",
    }


def _error(message: str, status: int = 400) -> Response:
    return json_response({"code": 40001, "msg": message, "data": None}, status)


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus
    rendered: dict[str, str] = {}

    async def search(request: Request, active: Active) -> Response:
        params = request.query_params
        try:
            limit = parse_int(params.get("limit"), "limit", DEFAULT_LIMIT)
            since = parse_epoch(params.get("since"), "since")
            until = parse_epoch(params.get("until"), "until")
            after = decode_cursor(params["cursor"]) if params.get("cursor") else None
        except ValueError as exc:
            return _error(str(exc))
        if limit > MAX_LIMIT:
            return _error(f"参数 limit 不能超过 {MAX_LIMIT}，收到 {limit}")
        found = corpus.search(
            PREFIX, params.get("keyword", ""), now=state.now(), since=since, until=until
        )
        start = 0
        if after is not None:
            key = (after[0], after[1])
            start = next(
                (
                    n
                    for n, i in enumerate(found)
                    if (int(i.created_at.timestamp()), i.native_id) < key
                ),
                len(found),
            )
        end = max(start, min(start + limit, state.result_cap))
        served = [] if active.silent_block else list(found[max(0, start - active.overlap) : end])
        has_more = not active.silent_block and end < min(len(found), state.result_cap)
        next_cursor = encode_cursor(found[end - 1]) if has_more else ""
        records = ",".join(record_json(i) for i in served)
        more = "true" if has_more else "false"
        if active.layout_changed:
            payload = (
                f'"result":{{"records":[{records}],'
                f'"cursor":{{"next":"{next_cursor}","more":{more}}}}}'
            )
        else:
            payload = (
                f'"data":{{"list":[{records}],"next_cursor":"{next_cursor}","has_more":{more}}}'
            )
        body = f'{{"code":0,"msg":"success",{payload}}}'
        return Response(body.encode(), media_type=JSON_TYPE)

    def record_json(item: Item) -> str:
        """A record as JSON text, rendered once per post: pages are re-read constantly."""
        text = rendered.get(item.native_id)
        if text is None:
            rendered[item.native_id] = text = compact_json(complaint(item))
        return text

    async def detail(request: Request, active: Active) -> Response:
        item = corpus.get(request.path_params["native_id"])
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return _error("投诉不存在或已被删除", 404)
        return json_response({"code": 0, "msg": "success", "data": complaint(item)})

    def login_wall(_: Request, __: Active) -> Response:
        return json_response({"code": 40101, "msg": "请先登录", "data": None}, 401)

    pages = json_pages(
        SITE,
        PREFIX,
        throttled={"code": 42901, "msg": "访问过于频繁", "data": None},
        login_wall=login_wall,
    )
    board = state.faults
    return [
        Route("/api/complaints", guarded(PREFIX, board, pages, search)),
        Route("/api/complaints/{native_id}", guarded(PREFIX, board, pages, detail)),
    ]
