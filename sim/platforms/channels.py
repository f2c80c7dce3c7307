"""WeChat Channels (视频号) search, as the 微信搜一搜 page's JSON answers it.

``POST /channels/cgi-bin/mmsearch-bin/searchfinder`` with ``{"query", "lastBuffer",
"count" (≤ 20)}`` → ``{"ret": 0, "errMsg": "", "data": {"objectList": [{"id",
"objectNonceId", "createtime" (unix s), "nickname", "username", "objectDesc":
{"description", "media": [{"thumbUrl"}]}, "likeCount", "commentCount", "forwardCount",
"favCount", "ipRegionInfo": {"regionText"}}], "lastBuffer" (opaque), "continueFlag": 0|1}}``.
A bad ``lastBuffer`` or ``count`` → ``{"ret": -1, "errMsg": "invalid argument"}``; the
session wall → ``{"ret": 300330, "errMsg": "请先登录"}``; layout change: ``objectList`` →
``object_list``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.items import Item
from sim.platforms.pages import json_pages, json_response
from sim.platforms.state import SimState

PREFIX = "channels"
SITE = "微信视频号"
MAX_COUNT = 20


def finder_object(item: Item) -> dict[str, Any]:
    return {
        "id": item.native_id,
        "objectNonceId": f"{int(item.native_id) % 10**12:x}_0_0",
        "createtime": int(item.created_at.timestamp()),
        "nickname": item.author.name,
        "username": f"v2_{item.author.id:x}@finder",
        "objectDesc": {
            "description": item.text,
            "media": [{"thumbUrl": f"https://finder.video.qq.com/thumb/{item.native_id}.jpg"}]
            if item.images
            else [],
        },
        "likeCount": item.likes,
        "commentCount": item.comments,
        "forwardCount": item.shares,
        "favCount": item.likes // 3,
        "ipRegionInfo": {"regionText": item.ip_region},
    }


def _buffer(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(buffer: str) -> int:
    if not buffer:
        return 0
    try:
        offset = json.loads(base64.b64decode(buffer, validate=True))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ValueError("invalid argument") from None
    if not isinstance(offset, int) or offset < 0:
        raise ValueError("invalid argument")
    return offset


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    async def search(request: Request, active: Active) -> Response:
        try:
            body = json.loads(await request.body())
            offset = _offset(str(body.get("lastBuffer") or ""))
            count = int(body.get("count") or 10)
            if not 1 <= count <= MAX_COUNT:
                raise ValueError("invalid argument")
        except (ValueError, TypeError, AttributeError):
            return json_response({"ret": -1, "errMsg": "invalid argument"})
        found = corpus.search(PREFIX, str(body.get("query") or ""), now=state.now())
        found = found[: state.result_cap]
        first = max(0, offset - active.overlap)
        served = [] if active.silent_block else found[first : offset + count]
        more = offset + count < len(found) and not active.silent_block
        key = "object_list" if active.layout_changed else "objectList"
        data = {
            key: [finder_object(i) for i in served],
            "lastBuffer": _buffer(offset + count) if more else "",
            "continueFlag": int(more),
        }
        return json_response({"ret": 0, "errMsg": "", "data": data})

    def login_wall(_: Request, __: Active) -> Response:
        return json_response({"ret": 300330, "errMsg": "请先登录"})

    pages = json_pages(
        SITE, PREFIX, throttled={"ret": 200002, "errMsg": "操作太频繁"}, login_wall=login_wall
    )
    return [
        Route(
            "/cgi-bin/mmsearch-bin/searchfinder",
            guarded(PREFIX, state.faults, pages, search),
            methods=["POST"],
        ),
    ]
