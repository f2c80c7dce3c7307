from __future__ import annotations

import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from html import unescape

import httpx

from sim.platforms import SimState
from sim.platforms.rss_news import FEED_SIZE

ATOM = "{http://www.w3.org/2005/Atom}"


async def test_rss_holds_the_latest_items_newest_first(
    client: httpx.AsyncClient, state: SimState
) -> None:
    response = await client.get("/news/rss.xml")
    assert response.status_code == 200 and "xml" in response.headers["content-type"]
    items = ET.fromstring(response.content).findall("./channel/item")
    shown = min(FEED_SIZE, len(state.corpus.search("news", now=state.now())))
    assert len(items) == shown > 5
    dates = [parsedate_to_datetime(i.findtext("pubDate") or "") for i in items]
    assert dates == sorted(dates, reverse=True)
    assert max(dates) <= state.now()
    guids = [i.findtext("guid") or "" for i in items]
    assert len(set(guids)) == shown
    newest = state.corpus.search("news", now=state.now())[0]
    assert guids[0].endswith(f"/{newest.native_id}.htm")
    assert newest.text.split("\n")[0] in unescape(items[0].findtext("description") or "")


async def test_atom_feed_has_the_same_entries(client: httpx.AsyncClient) -> None:
    rss = ET.fromstring((await client.get("/news/rss.xml")).content)
    feed = ET.fromstring((await client.get("/news/atom.xml")).content)
    entries = feed.findall(f"{ATOM}entry")
    links = [e.find(f"{ATOM}link").get("href") for e in entries]  # type: ignore[union-attr]
    assert links == [i.findtext("link") for i in rss.findall("./channel/item")]


async def test_article_page_shows_the_whole_post(
    client: httpx.AsyncClient, state: SimState
) -> None:
    feed = ET.fromstring((await client.get("/news/rss.xml")).content)
    link = feed.findtext("./channel/item/link") or ""
    page = await client.get(link)
    assert page.status_code == 200
    item = state.corpus.get(link.rsplit("/", 1)[1].removesuffix(".htm"))
    assert item is not None
    assert '<h1 class="article-title">' in page.text
    assert item.text.split("\n")[0] in unescape(page.text)


async def test_unknown_article_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/news/content/2026-11/22/content_1.htm")
    assert response.status_code == 404 and "不存在" in response.text


async def test_layout_change_swaps_the_feed_format(client: httpx.AsyncClient) -> None:
    changed = await client.get("/news/rss.xml", params={"_fault": "layout_changed"})
    assert ET.fromstring(changed.content).tag == f"{ATOM}feed"
    article = await client.get(
        ET.fromstring((await client.get("/news/rss.xml")).content).findtext("./channel/item/link")
        or "",
        headers={"X-Sim-Fault": "layout_changed"},
    )
    assert "article-title" not in article.text and "headline" in article.text


async def test_silent_block_is_a_valid_empty_feed(client: httpx.AsyncClient) -> None:
    response = await client.get("/news/rss.xml", params={"_fault": "silent_block"})
    assert response.status_code == 200
    assert ET.fromstring(response.content).findall("./channel/item") == []


async def test_duplicates_repeat_guids(client: httpx.AsyncClient, state: SimState) -> None:
    response = await client.get("/news/rss.xml", params={"_fault": "duplicates;overlap=4"})
    guids = [i.findtext("guid") for i in ET.fromstring(response.content).findall("./channel/item")]
    shown = min(FEED_SIZE, len(state.corpus.search("news", now=state.now())))
    assert len(guids) == shown + 4 and len(set(guids)) == shown


async def test_login_wall_redirects_to_the_login_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/news/rss.xml", params={"_fault": "login_expired"})
    assert response.status_code == 302
    assert response.headers["location"].startswith("/news/login?redirect=")
    assert "登录" in (await client.get(response.headers["location"])).text
