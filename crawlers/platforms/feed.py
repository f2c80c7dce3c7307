"""Generic RSS 2.0 / Atom adapter: a news site or portal feed is a YAML entry, no code.

Feeds have no paging (only the latest items), so a task reads one page and the
runtime's dedupe by (platform, native id) keeps a polling crawler from producing an
item twice. Both formats are read whatever the source says it serves: sites switch
between them when they change CMS, and that is not a reason to stop crawling them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field
from selectolax.lexbor import LexborHTMLParser

from crawlers.base import Fetcher, Page
from crawlers.errors import LayoutChanged
from crawlers.urls import resolve
from xianban.records import Author, CrawlTask, Post

ATOM = "{http://www.w3.org/2005/Atom}"


class FeedOptions(BaseModel):
    """A feed source's ``options`` in configs/sources.yaml."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(min_length=1, description="Post.platform of every item")
    path: str = Field("", description="the feed's path under base_url ('' = base_url itself)")
    id_pattern: re.Pattern[str] | None = Field(
        None,
        description="regex whose first group, searched in the entry's link, is the native id "
        "(RSS guids and Atom ids of one article differ; its link does not); none = the "
        "entry's guid/id",
    )


def plain_text(html: str) -> str:
    tree = LexborHTMLParser(html)
    return (tree.text(separator="\n") if tree.body else "").strip()


def parse_feed(xml: str) -> list[dict[str, str | None]]:
    """Entries as plain fields; a feed that is not RSS or Atom is a layout change.

    DTDs are refused: a feed has no use for one, and entity expansion is how a hostile
    XML body exhausts memory.
    """
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise LayoutChanged("feed: a DTD in the body (refused; feeds never need one)")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise LayoutChanged(f"feed: not XML ({exc})") from exc
    if root.tag == "rss":
        return [
            {
                "id": item.findtext("guid") or item.findtext("link"),
                "url": item.findtext("link"),
                "title": item.findtext("title"),
                "html": item.findtext("description"),
                "author": item.findtext("author"),
                "date": item.findtext("pubDate"),
            }
            for item in root.iter("item")
        ]
    if root.tag == f"{ATOM}feed":
        return [
            {
                "id": entry.findtext(f"{ATOM}id"),
                "url": next(
                    (
                        link.get("href")
                        for link in entry.iter(f"{ATOM}link")
                        if link.get("rel", "alternate") == "alternate"
                    ),
                    None,
                ),
                "title": entry.findtext(f"{ATOM}title"),
                "html": entry.findtext(f"{ATOM}summary") or entry.findtext(f"{ATOM}content"),
                "author": entry.findtext(f"{ATOM}author/{ATOM}name"),
                "date": entry.findtext(f"{ATOM}published") or entry.findtext(f"{ATOM}updated"),
            }
            for entry in root.iter(f"{ATOM}entry")
        ]
    raise LayoutChanged(f"feed: root element {root.tag!r} is neither RSS nor Atom")


def published(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None


class FeedAdapter:
    name = "feed"

    def __init__(self, options: FeedOptions) -> None:
        self.options = options

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Self:
        return cls(FeedOptions.model_validate(options))

    def native_id(self, entry: dict[str, str | None]) -> str | None:
        pattern, url = self.options.id_pattern, entry["url"]
        if pattern is None:
            return entry["id"]
        found = pattern.search(url or "")
        return found.group(1) if found else None

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        entries = parse_feed(await fetch.get_text(self.options.path))
        posts = []
        for entry in entries:
            native_id, html = self.native_id(entry), entry["html"] or ""
            text = plain_text(html) or (entry["title"] or "")
            if not native_id or not text:
                raise LayoutChanged(f"feed: an entry without an id or text ({entry['url']})")
            created = published(entry["date"])
            posts.append(
                Post(
                    platform=self.options.platform,
                    native_id=native_id,
                    source=task.source,
                    url=resolve(entry["url"], fetch.url_of(self.options.path)),
                    author=Author(name=entry["author"]),
                    title=entry["title"],
                    text=text,
                    created_at=created if created and created.tzinfo else None,
                )
            )
        return Page(posts=posts, next_cursor=None)
