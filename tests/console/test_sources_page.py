"""The ops view: a grid by platform in the one state vocabulary, with the ops buttons."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from crawlers.checkpoint import Checkpoint
from crawlers.states import STATES, describe
from tests.console.conftest import bearer, log_in
from xianban.records import CrawlTask, Record, utcnow
from xianban.store import Store


async def test_each_crawler_state_is_shown_in_chinese_with_its_tone(
    client: httpx.AsyncClient, store: Store
) -> None:
    now = utcnow()
    resting = Checkpoint(open_until=now + timedelta(minutes=30))
    for code in ("ok", "captcha", "banned", "login_required", "layout_changed", "queued"):
        await store.set_source_state(f"s-{code}", state=code)
    await store.set_source_state(
        "s-rate", state="rate_limited", cursor=resting.model_dump_json(), last_success=now
    )
    await store.set_source_state("s-paused", state="ok", paused=True)
    page = (await client.get("/sources", headers=bearer("ops"))).text
    for code in ("ok", "captcha", "banned", "login_required", "layout_changed", "queued"):
        info = STATES[code]
        badge = f'<span class="badge state-{info.tone}" title="{info.meaning}">{info.label}</span>'
        assert badge in page
    assert describe("rate_limited", resting_until=resting.open_until).label in page
    assert "限流中 至 " in page and "已暂停" in page
    for raw in ('">ok<', '">captcha<', '">layout_changed<', '">queued<'):
        assert raw not in page, "raw state codes must not reach the page"


async def test_configured_sources_are_grouped_by_platform_with_chinese_names(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/sources", headers=bearer("ops"))).text
    assert '<section class="platform' in page and "<h2>微博" in page and "<h2>抖音" in page
    assert "未采集" in page  # configured, never crawled: still listed


async def test_errors_of_the_last_day_are_counted_by_kind_and_charted(
    client: httpx.AsyncClient, store: Store
) -> None:
    now = utcnow()
    checkpoint = Checkpoint()
    checkpoint.count_error(now - timedelta(hours=30), "banned")  # older than a day: gone
    checkpoint.count_error(now - timedelta(hours=2), "captcha")
    checkpoint.count_error(now - timedelta(hours=2), "captcha")
    checkpoint.count_error(now - timedelta(minutes=5), "rate_limited")
    assert checkpoint.errors_by_kind(now) == {"captcha": 2, "rate_limited": 1}
    hours = checkpoint.errors_by_hour(now)
    assert hours[-1] == {"rate_limited": 1} and hours[-3] == {"captcha": 2}
    await store.set_source_state("s-x", state="rate_limited", cursor=checkpoint.model_dump_json())
    page = (await client.get("/sources", headers=bearer("ops"))).text
    assert "验证码 2" in page and "限流中 1" in page and "已封禁 1" not in page
    assert page.count('class="bar-warn"') == 2  # two hours with errors, one bar each


async def test_rerun_keeps_the_last_success_and_queues_the_tasks(
    client: httpx.AsyncClient, store: Store, published: list[Record]
) -> None:
    csrf = await log_in(client, "ops", name="liops")
    last = utcnow() - timedelta(hours=3)
    resting = Checkpoint(open_until=utcnow() + timedelta(hours=1), failures=2)
    await store.set_source_state(
        "weibo-search", state="captcha", last_success=last, cursor=resting.model_dump_json()
    )
    assert (await client.post("/sources/weibo-search/rerun")).status_code == 403  # no CSRF
    done = await client.post("/sources/weibo-search/rerun", data={"csrf": csrf})
    assert done.headers["location"] == "/sources?done=rerun"
    state = await store.get_source_state("weibo-search")
    assert state is not None and state.state == "queued" and state.last_success == last
    assert not Checkpoint.parse(state.cursor).is_open(utcnow())
    tasks = [r for r in published if isinstance(r, CrawlTask)]
    assert tasks and {t.source for t in tasks} == {"weibo-search"}
    page = (await client.get("/sources?done=rerun")).text
    assert "最近成功时间保留" in page and "待重采" in page
    audit = [(r.action, r.target) for r in await store.list_audit() if r.actor == "liops"]
    assert ("source.rerun", "weibo-search") in audit


async def test_only_login_walled_sources_offer_a_login_and_unknown_ones_are_404(
    client: httpx.AsyncClient,
) -> None:
    csrf = await log_in(client, "ops", name="liops")
    page = (await client.get("/sources")).text
    assert 'action="/sources/xhs-search/login"' in page
    assert 'action="/sources/weibo-search/login"' not in page
    missing = await client.post("/sources/nowhere/rerun", data={"csrf": csrf})
    assert missing.status_code == 404
    refused = await client.post("/sources/weibo-search/login", data={"csrf": csrf})
    assert refused.status_code == 400 and "不支持扫码登录" in refused.text


async def test_analysts_cannot_see_or_touch_sources(client: httpx.AsyncClient) -> None:
    assert (await client.get("/sources", headers=bearer("analyst"))).status_code == 403


async def test_ops_log_a_source_in_by_qr_code_from_the_console(
    store: Store, tmp_path: Path
) -> None:
    from console import create_app
    from crawlers.sessions import SessionPool
    from sim.server import SimServer
    from tests.console.conftest import TOKENS
    from xianban.settings import Settings

    async with SimServer() as sim:
        settings = Settings(data_dir=tmp_path, sim_url=sim.url)
        app = create_app(store=store, publish=None, settings=settings, tokens=TOKENS)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as c:
            csrf = await log_in(c, "ops", name="liops")
            shown = await c.post("/sources/xhs-search/login", data={"csrf": csrf})
            assert shown.status_code == 200 and "xhsdiscover://" in shown.text
            qr_id = shown.text.split('name="qr_id" value="')[1].split('"')[0]
            code = shown.text.split('name="code" value="')[1].split('"')[0]
            form = {"csrf": csrf, "qr_id": qr_id, "code": code}
            waiting = await c.post("/sources/xhs-search/login/check", data=form)
            assert waiting.status_code == 200 and "尚未确认扫码" in waiting.text
            async with httpx.AsyncClient(base_url=sim.url) as admin:
                (await admin.post(f"/_admin/qrcode/{qr_id}/scan")).raise_for_status()
            done = await c.post("/sources/xhs-search/login/check", data=form)
            assert done.headers["location"] == "/sources?done=logged_in"
    (account,) = SessionPool.for_source(tmp_path, "xhs-search").accounts()
    assert account.state == "live"
    audit = [(r.action, r.target) for r in await store.list_audit() if r.actor == "liops"]
    assert ("source.login", "xhs-search") in audit
