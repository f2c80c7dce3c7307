"""人民网领导留言板: the letters on a Shenzhen leader's board, each with its official reply.

A task's query is a board (``fid``); the list is keyset-paged by the last tid served
(``lastItem``) and ends with a short page. Each letter's full text and its reply
(``answerList``) come from ``threads/content``; the reply becomes a post answering the
letter, by the department (``answerOrgName``, verified), and the board's leader becomes the
letter's ``addressed_to``. ``resultCode`` "401"/"429" are the login wall and throttling.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from crawlers.base import Fetcher, Page
from crawlers.comments import comment_post
from crawlers.errors import LayoutChanged, LoginRequired, RateLimited
from xianban.records import Author, CrawlTask, PlaceHints, Post

LIST = "/v1/threads/list/df"
CONTENT = "/v1/threads/content"
ROWS = 10


def data_of(body: Any, where: str) -> Any:
    code = body.get("resultCode") if isinstance(body, dict) else None
    if code == "401":
        raise LoginRequired(f"liuyan {where}: {body.get('resultMsg')}")
    if code == "429":
        raise RateLimited(f"liuyan {where}: {body.get('resultMsg')}")
    data = (body.get("resultData") or {}).get("data") if code == "200" else None
    if data is None:
        raise LayoutChanged(f"liuyan {where}: resultCode {code!r}, no resultData.data")
    return data


def letter(data: Any, source: str) -> list[Post]:
    """The letter and its replies."""
    if not isinstance(data, dict) or not data.get("tid") or data.get("dateline") is None:
        raise LayoutChanged("liuyan content: a letter without tid or dateline")
    tid = str(data["tid"])
    url = f"https://liuyan.people.com.cn/threads/content?tid={tid}"
    post = Post(
        platform="liuyan",
        native_id=tid,
        source=source,
        url=url,
        author=Author(name=data.get("nickName")),
        title=data.get("threadTitle"),
        text=str(data.get("threadContent") or ""),
        created_at=datetime.fromtimestamp(int(data["dateline"]), tz=UTC),
        place_hints=PlaceHints(ip_location=data.get("ipLocation") or None),
        addressed_to=data.get("forumName") or None,
    )
    answers = data.get("answerList") or []
    if not isinstance(answers, list):
        raise LayoutChanged(f"liuyan content {tid}: answerList is not a list")
    replies = []
    for answer in answers:
        if not isinstance(answer, dict) or not answer.get("answerId"):
            raise LayoutChanged(f"liuyan content {tid}: an answer without answerId")
        replies.append(
            comment_post(
                platform="liuyan",
                native_id=str(answer["answerId"]),
                source=source,
                url=f"{url}#answer-{answer['answerId']}",
                reply_to=post.post_id,
                text=str(answer.get("answerContent") or ""),
                author_id=None,
                author_name=answer.get("answerOrgName"),
                created_at=datetime.fromtimestamp(int(answer["answerTime"]), tz=UTC),
                verified=True,
            )
        )
    return [post, *replies]


class LiuyanBoard:
    name = "liuyan"

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        fid = (task.query or "").strip()
        if not fid.isdigit():
            raise ValueError(f"liuyan: the task's query must be a board fid, not {fid!r}")
        body = {
            "fid": fid,
            "lastItem": cursor or "",
            "rows": ROWS,
            "orderType": 2,
            "showUnAnswer": 1,
        }
        threads = data_of(await fetch.post_json(LIST, json_body=body), f"board {fid}")
        if not isinstance(threads, list):
            raise LayoutChanged(f"liuyan board {fid}: data is not a list")
        tids = []
        for thread in threads:
            if not isinstance(thread, dict) or not thread.get("tid"):
                raise LayoutChanged(f"liuyan board {fid}: a letter without tid")
            tids.append(str(thread["tid"]))
        contents = await asyncio.gather(
            *(fetch.get_json(CONTENT, params={"tid": tid}) for tid in tids)
        )
        posts = [p for c in contents for p in letter(data_of(c, "content"), task.source)]
        more = len(tids) == ROWS
        return Page(posts=posts, next_cursor=tids[-1] if more and tids else None)
