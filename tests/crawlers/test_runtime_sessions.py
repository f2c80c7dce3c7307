"""Login sessions: checked before a crawl, expiry marked once, bans quarantined, rotation.

The xhs adapter belongs to the adapters' half of the work; this file carries a minimal
one (search titles only) so the runtime's session handling is proven against the
simulator's real login wall on its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crawlers.base import Fetcher, Page, QrCode
from crawlers.errors import LoginTimedOut
from crawlers.login import qr_login
from crawlers.platforms import ADAPTERS
from crawlers.sessions import SessionPool
from tests.crawlers.conftest import WIDE, Rig, native_ids, open_rig, task_for
from xianban.records import CrawlTask, Post

QUERY = WIDE


class XhsTitles:
    name = "xhs-test"

    async def qr_create(self, fetch: Fetcher) -> QrCode:
        data = (await fetch.get_json("/api/sns/web/v1/login/qrcode/create"))["data"]
        return QrCode(qr_id=data["qr_id"], code=data["code"], url=data["url"])

    async def qr_poll(self, fetch: Fetcher, qr: QrCode) -> str | None:
        params = {"qr_id": qr.qr_id, "code": qr.code}
        data = (await fetch.get_json("/api/sns/web/v1/login/qrcode/status", params=params))["data"]
        token: str | None = (data.get("login_info") or {}).get("session")
        return token

    async def check_session(self, fetch: Fetcher) -> bool:
        body = await fetch.get_json("/api/sns/web/v2/user/me")
        return not body["data"]["guest"]

    async def page(self, task: CrawlTask, cursor: str | None, fetch: Fetcher) -> Page:
        number = int(cursor or 1)
        query = {"keyword": task.query or "", "page": number, "page_size": 20}
        body = await fetch.post_json("/api/sns/web/v1/search/notes", json_body=query)
        posts = [
            Post(
                platform="xhs",
                native_id=item["id"],
                source=task.source,
                text=item["note_card"]["display_title"],
            )
            for item in body["data"]["items"]
        ]
        return Page(posts, str(number + 1) if body["data"]["has_more"] else None)


@pytest.fixture
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setitem(ADAPTERS, "xhs-test", f"{__name__}:XhsTitles")
    source: dict[str, Any] = {
        "adapter": "xhs-test",
        "base_url": "{sim}/xhs",
        "queries": [QUERY],
        "pages": 5,
    }
    async with open_rig(tmp_path, **source) as opened:
        yield opened


def pool(rig: Rig) -> SessionPool:
    return SessionPool.for_source(rig.settings.data_dir, "weibo-test")


async def login(rig: Rig, lifetime: int | None = None) -> str:
    spec = {"platform": "xhs", "lifetime_requests": lifetime}
    token: str = (await rig.admin.post("/_admin/sessions", json=spec)).json()["token"]
    pool(rig).add(token)
    return token


def all_titles(rig: Rig) -> list[str]:
    return sorted(i.native_id for i in rig.sim.corpus.search("xhs", QUERY, now=rig.sim.now()))


async def states(rig: Rig) -> dict[str, str]:
    return {a.token: a.state for a in pool(rig).accounts()}


async def test_no_live_session_fails_the_task_without_a_request(rig: Rig) -> None:
    assert await rig.crawl(await rig.stage(), task_for(rig)) == []
    row = await rig.store.get_task(task_for(rig).task_id)
    assert row is not None and row.reason and row.reason.startswith("login_required")
    assert await rig.requests() == []


async def test_an_expired_login_is_found_before_the_crawl_and_rotated_past(rig: Rig) -> None:
    stale, fresh = await login(rig), await login(rig)
    await rig.admin.delete("/_admin/sessions", params={"platform": "xhs", "token": stale})
    posts = await rig.crawl(await rig.stage(), task_for(rig))
    assert native_ids(posts) == all_titles(rig)
    assert await states(rig) == {stale: "expired", fresh: "live"}
    statuses = {r["status"] for r in await rig.requests()}
    assert statuses == {200}, "the login wall was never met"


async def test_login_expiring_mid_crawl_is_marked_not_looped(rig: Rig) -> None:
    token = await login(rig, lifetime=1)
    first = await rig.crawl(await rig.stage(), task_for(rig, suffix="-1"))
    assert len(first) == 20, "the page read before the expiry is kept"
    assert await states(rig) == {token: "expired"}
    state = await rig.store.get_source_state("weibo-test")
    assert state is not None and state.state == "login_required"
    sent = len(await rig.requests())
    for n in range(3):
        await rig.crawl(await rig.stage(), task_for(rig, suffix=f"-again{n}"))
    assert len(await rig.requests()) == sent, "no request until ops log in again"
    await login(rig)
    rig.now += timedelta(hours=12)
    rest = await rig.crawl(await rig.stage(), task_for(rig, suffix="-after"))
    assert sorted(native_ids(first) + native_ids(rest)) == all_titles(rig)


async def test_a_banned_account_is_quarantined_and_the_pool_rotates(rig: Rig) -> None:
    banned, spare = await login(rig), await login(rig)
    await rig.admin.post("/_admin/sessions/ban", json={"platform": "xhs", "token": banned})
    stage = await rig.stage()
    assert await rig.crawl(stage, task_for(rig, suffix="-1")) == []
    assert await states(rig) == {banned: "banned", spare: "live"}
    posts = await rig.crawl(stage, task_for(rig, suffix="-2"))
    assert native_ids(posts) == all_titles(rig), "the source did not rest: a spare was live"
    assert await states(rig) == {banned: "banned", spare: "live"}


async def test_a_caught_up_listing_reads_one_page(rig: Rig) -> None:
    await login(rig)
    stage = await rig.stage()
    assert native_ids(await rig.crawl(stage, task_for(rig, suffix="-1"))) == all_titles(rig)
    sent = len(await rig.requests())
    assert await rig.crawl(stage, task_for(rig, suffix="-2")) == []
    paths = [r["path"] for r in (await rig.requests())[sent:]]
    assert len(paths) == 2 and paths[0].endswith("/user/me"), "the login check and page 1"


async def test_a_qr_login_completed_by_ops_joins_the_pool(rig: Rig) -> None:
    source = (await rig.stage()).sources["weibo-test"]
    shown: list[QrCode] = []
    polls: list[float] = []

    async def scan_on_third_poll(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 2:
            await rig.admin.post(f"/_admin/qrcode/{shown[0].qr_id}/scan")

    async with rig.fetcher(source, rig.settings, None) as fetch:
        account = await qr_login(
            XhsTitles(), fetch, pool(rig), show=shown.append, sleep=scan_on_third_poll
        )
    assert shown[0].url.startswith("xhsdiscover://") and len(polls) == 2
    assert await states(rig) == {account.token: "live"}
    posts = await rig.crawl(await rig.stage(), task_for(rig))
    assert native_ids(posts) == all_titles(rig)


async def test_an_unscanned_qr_code_times_out(rig: Rig) -> None:
    source = (await rig.stage()).sources["weibo-test"]
    async with rig.fetcher(source, rig.settings, None) as fetch:
        with pytest.raises(LoginTimedOut):
            await qr_login(
                XhsTitles(), fetch, pool(rig), show=lambda qr: None, sleep=rig.sleep, timeout_s=10
            )
    assert pool(rig).accounts() == []
