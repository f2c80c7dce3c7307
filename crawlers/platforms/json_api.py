"""Generic JSON API adapter: a site's search or list API is a YAML entry, no code.

The source's ``options`` say where the query and cursor go, where the items and the
next cursor are in the answer (dotted paths), and which item field fills which Post
field. An answer without the list where the map says it is means the site changed its
API: that is ``LayoutChanged``, never an empty page, so it cannot pass for a quiet day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged
from crawlers.urls import resolve
from xianban.records import Author, CrawlTask, Engagement, PlaceHints, Post


class FieldMap(BaseModel):
    """Dotted paths inside one item (``user.nickname``); only ``id`` and ``text`` required."""

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    title: str | None = None
    url: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    created_at: str | None = Field(
        None, description="Unix seconds, or an ISO / 'YYYY-MM-DD HH:MM:SS' time"
    )
    likes: str | None = None
    comments: str | None = None
    shares: str | None = None
    ip_location: str | None = None
    media: str | None = Field(None, description="a list of URLs")


class JsonApiOptions(BaseModel):
    """A JSON API source's ``options`` in configs/sources.yaml."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(min_length=1, description="Post.platform of every item")
    path: str = Field(description="the API's path under base_url")
    params: dict[str, str | int] = Field(default_factory=dict, description="sent every time")
    query_param: str | None = Field(None, description="where the task's query goes")
    cursor_param: str = Field("page", description="where the cursor goes (absent: page 1)")
    items: str = Field(description="dotted path of the list of items in the answer")
    next_cursor: str | None = Field(
        None, description="dotted path of the next cursor; none = page numbers 1, 2, …"
    )
    has_more: str | None = Field(None, description="dotted path of a 'more pages' flag")
    fields: FieldMap
    link_base: str | None = Field(None, description="resolves relative item and media URLs")
    timezone: str = Field("Asia/Shanghai", description="of times given without an offset")


def dig(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def to_time(value: Any, zone: ZoneInfo) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, zone)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


class JsonApiAdapter:
    name = "json_api"

    def __init__(self, options: JsonApiOptions) -> None:
        self.options = options
        self.zone = ZoneInfo(options.timezone)

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(JsonApiOptions.model_validate(options))

    def field(self, item: Mapping[str, Any], name: str) -> Any:
        path = getattr(self.options.fields, name)
        return dig(item, path) if path else None

    def link(self, value: Any, page: str) -> str | None:
        """A link in an item, absolute: against ``link_base`` or the API's own URL."""
        if not isinstance(value, str) or not value:
            return None
        base = self.options.link_base
        return resolve(urljoin(base, value) if base else value, page)

    def count(self, item: Mapping[str, Any], name: str) -> int:
        value = self.field(item, name)
        return value if isinstance(value, int) and value >= 0 else 0

    def to_post(self, item: Any, source: str, page: str = "") -> Post:
        if not isinstance(item, Mapping):
            raise LayoutChanged(f"{self.options.platform}: an item is not an object")
        native_id, text = self.field(item, "id"), self.field(item, "text")
        if native_id in (None, "") or not isinstance(text, str) or not text.strip():
            raise LayoutChanged(f"{self.options.platform}: an item without an id or text")
        author_id, title = self.field(item, "author_id"), self.field(item, "title")
        ip, media = self.field(item, "ip_location"), self.field(item, "media")
        return Post(
            platform=self.options.platform,
            native_id=str(native_id),
            source=source,
            url=self.link(self.field(item, "url"), page),
            author=Author(
                id=str(author_id) if author_id not in (None, "") else None,
                name=self.field(item, "author_name"),
            ),
            title=title if isinstance(title, str) else None,
            text=text,
            media=[url for m in media if (url := self.link(m, page))]
            if isinstance(media, list)
            else [],
            created_at=to_time(self.field(item, "created_at"), self.zone),
            engagement=Engagement(
                likes=self.count(item, "likes"),
                comments=self.count(item, "comments"),
                shares=self.count(item, "shares"),
            ),
            place_hints=PlaceHints(ip_location=ip if isinstance(ip, str) and ip else None),
        )

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        opts = self.options
        params: dict[str, Any] = dict(opts.params)
        if opts.query_param is not None:
            params[opts.query_param] = task.query or ""
        if cursor is not None:
            params[opts.cursor_param] = cursor
        body = await fetch.get_json(opts.path, params=params)
        items = dig(body, opts.items)
        if not isinstance(items, list):
            raise LayoutChanged(f"{opts.platform}: no list at {opts.items!r} in the answer")
        page = fetch.url_of(opts.path)
        posts = [self.to_post(item, task.source, page) for item in items]
        more = dig(body, opts.has_more) if opts.has_more else bool(posts)
        if not more or not posts:
            return Page(posts=posts, next_cursor=None)
        if opts.next_cursor is None:
            return Page(posts=posts, next_cursor=str(int(cursor or "1") + 1))
        nxt = dig(body, opts.next_cursor)
        return Page(posts=posts, next_cursor=str(nxt) if nxt not in (None, "") else None)
