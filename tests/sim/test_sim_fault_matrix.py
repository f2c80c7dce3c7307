from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from crawlers.signing import sign_locally
from sim.platforms import FAULT_KINDS, PLATFORMS, SimState
from sim.platforms.douyin import fnv1a, search_token
from tests.sim.conftest import WIDE

Q = quote(WIDE)


def _heimao() -> dict[str, str]:
    params = {"keywords": "", "page_size": "10", "page": "1"}
    return params | sign_locally("heimao-sha256", params, {"now": "1763780000", "rs": "ab12"})


ENDPOINTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "weibo": ("GET", f"/weibo/api/container/getIndex?containerid=100103type%3D1%26q%3D{Q}", {}),
    "news": ("GET", "/news/rss.xml", {}),
    "forum": ("GET", "/forum/forum-2-1.html", {}),
    "tousu": ("GET", "/tousu/api/complaints?limit=20", {}),
    "douyin": ("GET", f"/douyin/search/{Q}", {}),
    "xhs": ("POST", "/xhs/api/sns/web/v1/search/notes", {"json": {"keyword": WIDE}}),
    "bilibili": ("GET", f"/bilibili/x/web-interface/search/type?search_type=video&keyword={Q}", {}),
    "zhihu": ("GET", f"/zhihu/api/v4/search_v3?t=general&q={Q}&offset=0&limit=20", {}),
    "kuaishou": (
        "POST",
        "/kuaishou/graphql",
        {"json": {"operationName": "visionSearchPhoto", "variables": {"keyword": WIDE}}},
    ),
    "tieba": ("GET", f"/tieba/f?kw={quote('深圳')}&ie=utf-8", {}),
    "wechat": ("GET", f"/wechat/weixin?type=2&query={Q}", {}),
    "channels": ("POST", "/channels/cgi-bin/mmsearch-bin/searchfinder", {"json": {"query": WIDE}}),
    "szhome": ("GET", "/szhome/bbs/list-yzwd-1.html", {}),
    "heimao": ("GET", "/heimao/api/index/s?" + urlencode(_heimao()), {}),
    "liuyan": ("POST", "/liuyan/v1/threads/list/df", {"json": {"fid": "1149"}}),
    "12345": ("GET", "/12345/nanshan/list", {}),
    "toutiao": ("GET", f"/toutiao/api/search/content/?keyword={Q}", {}),
    "sznews": ("GET", "/sznews/node_31234.htm", {}),
    "dute": ("GET", "/dute/api/v1/articles?channelId=sz", {}),
    "nfplus": ("GET", "/nfplus/api/column/articles?columnId=shenzhen", {}),
    "jingbao": ("GET", "/jingbao/rss.xml", {}),
    "szwb": ("GET", "/szwb/api/news/list", {}),
    "oeeee": ("GET", "/oeeee/mp/list_1.html", {}),
}
REFUSALS = ("rate_limit", "server_error", "captcha", "login_expired", "ban")


def test_every_platform_has_a_matrix_entry() -> None:
    assert set(ENDPOINTS) == set(PLATFORMS)


async def fetch(client: httpx.AsyncClient, platform: str, fault: str | None) -> httpx.Response:
    method, path, extra = ENDPOINTS[platform]
    headers = {"X-Sim-Fault": fault} if fault else {}
    return await client.request(method, path, headers=headers, **extra)


@pytest.mark.parametrize("platform", sorted(ENDPOINTS))
@pytest.mark.parametrize("fault", FAULT_KINDS)
async def test_every_fault_changes_what_every_platform_answers(
    client: httpx.AsyncClient, state: SimState, platform: str, fault: str
) -> None:
    client.cookies.set("web_session", state.sessions.issue("xhs").token)
    normal = await fetch(client, platform, None)
    faulty = await fetch(client, platform, fault + (";delay_s=0" if fault == "slow" else ""))
    assert normal.status_code == 200
    if fault == "slow" or (fault == "duplicates" and platform != "news"):
        # paged first pages repeat nothing (see the page-2 test); the feed repeats items
        assert faulty.content == normal.content
    elif fault in REFUSALS:
        assert faulty.content != normal.content
        assert faulty.status_code != 200 or len(faulty.content) < len(normal.content)
    else:
        assert faulty.status_code == 200 and faulty.content != normal.content
    if fault == "rate_limit":
        assert faulty.status_code == 429 and faulty.headers["retry-after"] == "5"
    by_fault = (await client.get("/_admin/stats")).json()["platforms"][platform]["by_fault"]
    assert by_fault == {"none": 1, fault: 1}


def second_pages(state: SimState) -> dict[str, tuple[str, str, dict[str, Any]]]:
    sign = fnv1a(f"{WIDE}|10|{search_token(state.corpus.seed, WIDE)}")
    return {
        "weibo": ("GET", ENDPOINTS["weibo"][1] + "&page=2", {}),
        "forum": ("GET", "/forum/forum-2-2.html", {}),
        "douyin": (
            "GET",
            f"/douyin/aweme/v1/web/general/search/single/?keyword={Q}&offset=10&a_bogus={sign}",
            {},
        ),
        "xhs": ("POST", ENDPOINTS["xhs"][1], {"json": {"keyword": WIDE, "page": 2}}),
        "bilibili": ("GET", ENDPOINTS["bilibili"][1] + "&page=2", {}),
        "zhihu": ("GET", ENDPOINTS["zhihu"][1].replace("offset=0", "offset=20"), {}),
    }


@pytest.mark.parametrize("platform", ["weibo", "forum", "douyin", "xhs", "bilibili", "zhihu"])
async def test_duplicates_make_second_pages_repeat_first_page_items(
    client: httpx.AsyncClient, state: SimState, platform: str
) -> None:
    client.cookies.set("web_session", state.sessions.issue("xhs").token)
    method, path, extra = second_pages(state)[platform]
    first = (await fetch(client, platform, None)).text
    clean = await client.request(method, path, **extra)
    repeated = await client.request(method, path, headers={"X-Sim-Fault": "duplicates"}, **extra)
    assert clean.status_code == repeated.status_code == 200
    assert len(repeated.content) > len(clean.content)
    ids = re.findall(r"(?:\"id\":\"|\"bvid\":\"|aweme_id\":\"|thread-)(\w+)", repeated.text)
    assert any(native in first for native in ids)
