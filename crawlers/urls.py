"""Absolute http(s) links for every post: analysts click them, so a path is a broken link.

Two kinds of relative link reach an adapter: paths it asked the fetcher for (relative to
the source's ``base_url``, merged the way httpx merges them: ``url_of``), and links a page
or an API answer contains (relative to that page, resolved as a browser would:
``resolve``). ``absolute_post`` is the last guard the crawl applies to every post: links
resolved against the source, protocol-relative ``//cdn…`` given https, anything that is
still not http(s) (``javascript:``, ``data:``) dropped from media and refused as a url.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from xianban.records import Post


def is_absolute(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def url_of(base_url: str, path: str) -> str:
    """The absolute URL the fetcher requests for ``path`` (httpx's base_url merge)."""
    if is_absolute(path):
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def resolve(link: str | None, page_url: str) -> str | None:
    """A link found on ``page_url``, made absolute; None when it is not an http(s) link."""
    if not link or not link.strip():
        return None
    link = link.strip()
    if link.startswith("//"):
        link = "https:" + link
    found = urljoin(page_url, link)
    return found if is_absolute(found) else None


def absolute_post(post: Post, base_url: str) -> Post:
    """The post with its url and media absolute (resolved against the source's base)."""
    root = base_url.rstrip("/") + "/"
    url = post.url if is_absolute(post.url) else resolve(post.url, root)
    media = [m for m in (m if is_absolute(m) else resolve(m, root) for m in post.media) if m]
    if url == post.url and media == post.media:
        return post
    return post.model_copy(update={"url": url, "media": media})
