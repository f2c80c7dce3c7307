from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode

from sim.platforms import SimState

LIST = "http://sim/forum/forum-2-1.html"


def one(tree: HTMLParser | LexborNode, selector: str) -> LexborNode:
    node = tree.css_first(selector)
    assert node is not None, f"no {selector}"
    return node


async def crawl_board(client: httpx.AsyncClient, url: str) -> list[str]:
    ids: list[str] = []
    while url:
        tree = HTMLParser((await client.get(url)).text)
        ids += [re.findall(r"\d+", a.attributes["href"] or "")[0] for a in tree.css("a.xst")]
        nxt = tree.css_first("div.pg a.nxt")
        url = urljoin(url, nxt.attributes["href"] or "") if nxt else ""
    return ids


async def test_board_pages_link_to_every_thread_once(
    client: httpx.AsyncClient, state: SimState
) -> None:
    ids = await crawl_board(client, LIST)
    assert len(ids) == len(set(ids)) > 20  # more than one page
    visible = state.corpus.search("forum", now=state.now())
    other = await crawl_board(client, "http://sim/forum/forum-36-1.html")
    assert sorted(ids + other) == sorted(i.native_id for i in visible)


async def test_list_rows_show_title_author_and_time(client: httpx.AsyncClient) -> None:
    tree = HTMLParser((await client.get(LIST)).text)
    rows = tree.css("tbody[id^=normalthread_]")
    assert len(rows) == 20
    for row in rows:
        assert one(row, "a.xst").text().strip()
        assert one(row, "td.by cite a").text().strip()
        stamp = one(row, "td.by em span")
        exact = stamp.attributes.get("title") or stamp.text()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", exact or "")
    assert "共" in (one(tree, "div.pg label span").attributes["title"] or "")


async def test_thread_page_holds_the_post(client: httpx.AsyncClient, state: SimState) -> None:
    tree = HTMLParser((await client.get(LIST)).text)
    href = one(tree, "a.xst").attributes["href"] or ""
    page = HTMLParser((await client.get(urljoin(LIST, href))).text)
    tid = re.findall(r"\d+", href)[0]
    item = state.corpus.get(tid)
    assert item is not None
    assert one(page, "#thread_subject").text() == item.title
    assert one(page, f"td.t_f#postmessage_{tid}").text().replace("\r", "") == item.text
    assert len(page.css("div.pattl img")) == item.images
    assert "IP属地：" in one(page, "span.ip-location").text()


async def test_unknown_board_and_thread_are_404_with_the_forum_message(
    client: httpx.AsyncClient,
) -> None:
    board = await client.get("/forum/forum-99-1.html")
    assert board.status_code == 404 and "版块不存在" in board.text
    thread = await client.get("/forum/thread-1-1-1.html")
    assert thread.status_code == 404 and "主题不存在" in thread.text


async def test_layout_change_renames_the_classes(client: httpx.AsyncClient) -> None:
    tree = HTMLParser((await client.get(LIST, params={"_fault": "layout_changed"})).text)
    assert tree.css("a.xst") == [] and tree.css("div.pg") == []
    assert len(tree.css("a.thread-title")) == 20


async def test_silent_block_keeps_the_page_but_drops_the_rows(client: httpx.AsyncClient) -> None:
    response = await client.get(LIST, params={"_fault": "silent_block"})
    tree = HTMLParser(response.text)
    assert response.status_code == 200 and tree.css_first("#threadlisttableid") is not None
    assert tree.css("a.xst") == []


async def test_duplicates_repeat_rows_of_the_previous_page(client: httpx.AsyncClient) -> None:
    first = HTMLParser((await client.get(LIST)).text).css("a.xst")
    second = HTMLParser(
        (await client.get("/forum/forum-2-2.html", params={"_fault": "duplicates;overlap=2"})).text
    ).css("a.xst")
    assert [a.text() for a in second[:2]] == [a.text() for a in first[-2:]]


async def test_captcha_and_ban_pages(client: httpx.AsyncClient) -> None:
    captcha = await client.get(LIST, params={"_fault": "captcha"})
    assert captcha.status_code == 200 and "请输入验证码" in captcha.text
    assert "安全验证 - 深圳论坛" in captcha.text
    ban = await client.get(LIST, params={"_fault": "ban"})
    assert ban.status_code == 403 and "访问受限" in ban.text
