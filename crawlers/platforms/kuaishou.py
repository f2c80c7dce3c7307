"""Kuaishou web search through its GraphQL endpoint (``visionSearchPhoto``), paged by
``pcursor`` until "no_more"; with ``options.comments`` the busiest videos' comments
(``visionCommentList``) and every sub-comment (``visionSubCommentList``) come too.

Kuaishou answers refusals with HTTP 200: ``result`` 400002 is its captcha (a slider at
``url``), any other result but 1 an answer the adapter does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from crawlers.base import Fetcher, Page
from crawlers.comments import CommentOptions, as_int, busiest, comment_post, page_to_end
from crawlers.errors import Captcha, LayoutChanged
from xianban.records import Author, CrawlTask, Engagement, Post

GRAPHQL = "/graphql"
END = "no_more"
SEARCH_QUERY = (
    "query visionSearchPhoto($keyword: String, $pcursor: String, $searchSessionId: String, "
    "$page: String) { visionSearchPhoto(keyword: $keyword, pcursor: $pcursor, "
    "searchSessionId: $searchSessionId, page: $page) { result llsid feeds { type author "
    "{ id name } photo { id caption timestamp likeCount realLikeCount viewCount coverUrl } "
    "commentCount } searchSessionId pcursor } }"
)
COMMENT_QUERY = (
    "query commentListQuery($photoId: String, $pcursor: String) { visionCommentList(photoId: "
    "$photoId, pcursor: $pcursor) { commentCount pcursor rootComments { commentId authorId "
    "authorName content timestamp likedCount subCommentCount subCommentsPcursor } } }"
)
SUB_QUERY = (
    "query visionSubCommentList($photoId: String, $rootCommentId: String, $pcursor: String) "
    "{ visionSubCommentList(photoId: $photoId, rootCommentId: $rootCommentId, pcursor: "
    "$pcursor) { pcursor subComments { commentId authorId authorName content timestamp "
    "likedCount replyToUserName } } }"
)


class KuaishouOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: CommentOptions | None = Field(None, description="read the busiest threads")


def _ms(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


async def _call(fetch: Fetcher, operation: str, query: str, variables: dict[str, Any]) -> Any:
    body = await fetch.post_json(
        GRAPHQL, json_body={"operationName": operation, "variables": variables, "query": query}
    )
    data = (body.get("data") or {}).get(operation) if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise LayoutChanged(f"kuaishou {operation}: no data.{operation} ({body!r:.200})")
    result = data.get("result", 1)
    if result == 400002:
        raise Captcha(f"kuaishou {operation}: captcha ({data.get('url')})")
    if result != 1:
        raise LayoutChanged(f"kuaishou {operation}: result {result!r}")
    return data


def to_post(entry: Any, source: str) -> Post:
    photo = entry.get("photo") if isinstance(entry, dict) else None
    if not isinstance(photo, dict) or not photo.get("id") or photo.get("timestamp") is None:
        raise LayoutChanged("kuaishou search: a feed without photo.id or timestamp")
    author = entry.get("author") or {}
    return Post(
        platform="kuaishou",
        native_id=str(photo["id"]),
        source=source,
        url=f"https://www.kuaishou.com/short-video/{photo['id']}",
        author=Author(id=author.get("id"), name=author.get("name")),
        text=str(photo.get("caption") or ""),
        media=[photo["coverUrl"]] if isinstance(photo.get("coverUrl"), str) else [],
        created_at=_ms(photo["timestamp"]),
        engagement=Engagement(
            likes=as_int(photo.get("realLikeCount")) or as_int(photo.get("likeCount")),
            comments=as_int(entry.get("commentCount")),
            views=as_int(photo.get("viewCount")),
        ),
    )


def _comment(raw: Any, photo: str, source: str, answers: str) -> Post:
    if not isinstance(raw, dict) or not raw.get("commentId") or "content" not in raw:
        raise LayoutChanged(f"kuaishou comments of {photo}: a comment without id or content")
    return comment_post(
        platform="kuaishou",
        native_id=str(raw["commentId"]),
        source=source,
        url=f"https://www.kuaishou.com/short-video/{photo}?commentId={raw['commentId']}",
        reply_to=answers,
        text=str(raw["content"]),
        author_id=raw.get("authorId"),
        author_name=raw.get("authorName"),
        created_at=_ms(raw["timestamp"]),
        likes=as_int(raw.get("likedCount")),
    )


async def comment_thread(photo: str, source: str, fetch: Fetcher) -> list[Post]:
    """Every root comment, then every sub-comment of each (not just the two shown)."""

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        variables = {"photoId": photo, "pcursor": cursor or ""}
        data = await _call(fetch, "visionCommentList", COMMENT_QUERY, variables)
        roots = data.get("rootComments")
        if not isinstance(roots, list):
            raise LayoutChanged(f"kuaishou comments of {photo}: no rootComments")
        nxt = data.get("pcursor")
        return roots, str(nxt) if nxt not in (None, "", END) and roots else None

    roots = await page_to_end(page, f"kuaishou comments of {photo}")
    comments = [_comment(c, photo, source, f"kuaishou:{photo}") for c in roots]
    posts = list(comments)
    for raw, comment in zip(roots, comments, strict=True):
        if as_int(raw.get("subCommentCount")) > 0:
            posts += await _subs(photo, comment, source, fetch)
    return posts


async def _subs(photo: str, root: Post, source: str, fetch: Fetcher) -> list[Post]:
    where = f"kuaishou sub-comments of {root.native_id}"

    async def page(cursor: str | None) -> tuple[list[Any], str | None]:
        variables = {"photoId": photo, "rootCommentId": root.native_id, "pcursor": cursor or ""}
        data = await _call(fetch, "visionSubCommentList", SUB_QUERY, variables)
        subs = data.get("subComments")
        if not isinstance(subs, list):
            raise LayoutChanged(f"{where}: no subComments")
        nxt = data.get("pcursor")
        return subs, str(nxt) if nxt not in (None, "", END) and subs else None

    return [_comment(s, photo, source, root.post_id) for s in await page_to_end(page, where)]


class KuaishouSearch:
    name = "kuaishou"

    def __init__(self, options: KuaishouOptions | None = None) -> None:
        self.options = options or KuaishouOptions()

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(KuaishouOptions.model_validate(options))

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        page_cursor, _, session = (cursor or "").partition("|")
        variables = {
            "keyword": task.query or "",
            "pcursor": page_cursor,
            "page": "search",
            "searchSessionId": session,
        }
        data = await _call(fetch, "visionSearchPhoto", SEARCH_QUERY, variables)
        feeds = data.get("feeds")
        if not isinstance(feeds, list):
            raise LayoutChanged(f"kuaishou search: no feeds list ({sorted(data)})")
        posts = [
            to_post(f, task.source) for f in feeds if isinstance(f, dict) and f.get("type") == 1
        ]
        if feeds and not posts:
            raise LayoutChanged("kuaishou search: feeds without a photo entry")
        comments = self.options.comments
        out = list(posts)
        if comments is not None:
            for post in busiest(posts, comments):
                out += await comment_thread(post.native_id, task.source, fetch)
        nxt = data.get("pcursor")
        more = nxt not in (None, "", END) and bool(posts)
        return Page(
            posts=out, next_cursor=f"{nxt}|{data.get('searchSessionId') or ''}" if more else None
        )
