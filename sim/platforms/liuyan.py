"""人民网领导留言板 (liuyan.people.com.cn): letters to Shenzhen's leaders, official replies.

- ``POST /liuyan/v1/threads/list/df`` ``{"fid", "lastItem", "rows" (≤ 20), "orderType": 2,
  "showUnAnswer": 1}`` → ``{"resultCode": "200", "resultMsg": "success", "resultData":
  {"data": [{"tid", "threadTitle", "threadContent" (first 40 characters), "dateline" (unix
  s), "stateInfo" (已回复/办理中), "typeName", "domainName", "fid", "forumName",
  "nickName"}]}}``, newest first; ``lastItem`` is the last tid served (keyset paging, "" for
  the first page); fewer than ``rows`` means the last page. Boards (``fid``): 1148
  深圳市委书记, 1149 深圳市市长; another fid → ``resultCode`` "400" "版块不存在".
- ``GET /liuyan/v1/threads/content?tid=`` → ``resultData.data``: the letter in full
  (``threadContent``, ``threadTitle``, ``dateline``, ``nickName``, ``ipLocation``,
  ``forumName``) and ``answerList`` ``[{"answerId", "answerContent", "answerTime",
  "answerOrgName"}]`` — the department's reply, when it has answered.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sim.platforms.faults import Active, guarded
from sim.platforms.items import Item
from sim.platforms.pages import json_pages, json_response
from sim.platforms.state import SimState
from sim.platforms.venues import BOARDS, board_of, spread

PREFIX = "liuyan"
SITE = "人民网领导留言板"
FORUMS = dict(BOARDS[PREFIX])
TYPES = ("投诉", "求助", "建言", "咨询")
DOMAINS = ("城建", "交通", "环保", "治安", "物业", "市场监管")


def thread(item: Item, replied: bool) -> dict[str, Any]:
    fid = board_of(PREFIX, item.native_id)[0]
    return {
        "tid": int(item.native_id),
        "threadTitle": item.title,
        "threadContent": item.text[:40],
        "dateline": int(item.created_at.timestamp()),
        "stateInfo": "已回复" if replied else "办理中",
        "typeName": TYPES[spread("type", item.native_id, len(TYPES))],
        "domainName": DOMAINS[spread("domain", item.native_id, len(DOMAINS))],
        "fid": int(fid),
        "forumName": FORUMS[fid],
        "nickName": item.author.name,
    }


def routes(state: SimState) -> list[BaseRoute]:
    corpus = state.corpus

    def answers(item: Item) -> list[dict[str, Any]]:
        now = state.now()
        return [
            {
                "answerId": int(t.comment.native_id),
                "answerContent": t.comment.text,
                "answerTime": int(t.comment.created_at.timestamp()),
                "answerOrgName": t.comment.author.name,
            }
            for t in corpus.threads(item)
            if t.comment.created_at <= now
        ]

    def error(code: str, msg: str) -> Response:
        return json_response({"resultCode": code, "resultMsg": msg, "resultData": None})

    async def listing(request: Request, active: Active) -> Response:
        try:
            body = json.loads(await request.body())
            fid = str(body.get("fid") or "")
            rows = int(body.get("rows") or 10)
            last = str(body.get("lastItem") or "")
        except (ValueError, TypeError, AttributeError):
            return error("400", "参数错误")
        if fid not in FORUMS:
            return error("400", "版块不存在")
        if not 1 <= rows <= 20:
            return error("400", "rows 应在 1 到 20 之间")
        found = [
            i
            for i in corpus.search(PREFIX, now=state.now())
            if board_of(PREFIX, i.native_id)[0] == fid
        ]
        start = 0
        if last:
            start = next((n + 1 for n, i in enumerate(found) if i.native_id == last), len(found))
        served = [] if active.silent_block else found[max(0, start - active.overlap) : start + rows]
        key = "list" if active.layout_changed else "data"
        data = [thread(i, bool(answers(i))) for i in served]
        return json_response(
            {"resultCode": "200", "resultMsg": "success", "resultData": {key: data}}
        )

    async def content(request: Request, active: Active) -> Response:
        item = corpus.get(request.query_params.get("tid", ""))
        if item is None or item.site != PREFIX or item.created_at > state.now():
            return error("404", "留言不存在")
        replies = answers(item)
        data = thread(item, bool(replies)) | {
            "threadContent": item.text,
            "ipLocation": item.ip_region,
            "answerList": replies,
        }
        return json_response(
            {"resultCode": "200", "resultMsg": "success", "resultData": {"data": data}}
        )

    def login_wall(_: Request, __: Active) -> Response:
        return error("401", "请先登录")

    throttled = {"resultCode": "429", "resultMsg": "访问过于频繁", "resultData": None}
    pages = json_pages(SITE, PREFIX, throttled=throttled, login_wall=login_wall)
    board = state.faults
    return [
        Route("/v1/threads/list/df", guarded(PREFIX, board, pages, listing), methods=["POST"]),
        Route("/v1/threads/content", guarded(PREFIX, board, pages, content)),
    ]
