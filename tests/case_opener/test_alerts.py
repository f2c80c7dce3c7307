"""Urgent alerts reach the duty group's robots (企业微信, 钉钉, 飞书) and mailbox, signed, in
their formats, within one supervision tick, and a burst of fifty is one digest."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from case_opener.alert_channels import (
    Channel,
    ChannelConfig,
    Digest,
    dingtalk_sign,
    feishu_sign,
    wecom_message,
)
from case_opener.alerts import AlertDesk, AlertsConfig
from case_opener.supervision import Supervisor
from sim.mailbox import Mailbox
from sim.robots import _dingtalk_ok, _feishu_ok
from sim.server import SimServer
from xianban.records import Geo, Lead, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store
from xianban.store.verification import pending_alerts

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
PHONE = "13812345678"


def urgent(n: int, *, at: datetime = NOW) -> Verdict:
    lead = Lead(
        lead_id=f"l{n}",
        cluster_id=f"c{n}",
        post_ids=[f"weibo:{n}"],
        platform="weibo",
        text=f"西乡固戍地铁站旁楼道一股燃气味，越来越浓 联系 {PHONE}",
        category="water_power_gas",
        urgent=True,
        urgency_triggers=["燃气味"],
        geo=Geo(district="宝安区", street="西乡街道", poi="固戍地铁站"),
        score=0.7,
        found_at=at,
    )
    return Verdict(
        verdict_id=f"v{n}",
        cluster_id=lead.cluster_id,
        lead=lead,
        decision="needs_review",
        by="rule:review",
        reason="待研判",
        decided_at=at,
    )


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with SimServer(corpus_size=50, judge_routing=False) as server:
        yield server


@pytest.fixture
async def supervisor(tmp_path: Path, sim: SimServer) -> AsyncIterator[Supervisor]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/a.db")
    settings = Settings(sim_url=sim.url, workorder_url=sim.workorder_url)
    sup = Supervisor(StageContext(settings=settings, store=store))
    await sup.start()
    yield sup
    await sup.close()
    await store.close()


async def test_an_urgent_lead_reaches_every_robot_within_one_tick(
    supervisor: Supervisor, sim: SimServer
) -> None:
    await supervisor.ctx.store.record_verdict(urgent(1))
    await supervisor.sweep(now=NOW)
    [wecom] = sim.robots.of("wecom")
    assert wecom.body["msgtype"] == "markdown"
    content = wecom.body["markdown"]["content"]
    assert content.startswith("## 先办值班提醒：紧急线索 1 条")
    assert "宝安区西乡街道固戍地铁站" in content and "燃气味" in content
    assert PHONE not in content and "138****5678" in content  # masked before it leaves
    [ding] = sim.robots.of("dingtalk")  # accepted: its sign matched the robot's secret
    assert ding.body["msgtype"] == "markdown" and ding.body["markdown"]["title"].startswith("先办")
    [feishu] = sim.robots.of("feishu")
    assert feishu.body["msg_type"] == "post" and feishu.body["sign"]
    post = feishu.body["content"]["post"]["zh_cn"]
    assert post["title"].startswith("先办值班提醒") and post["content"][0][0]["tag"] == "text"
    assert await pending_alerts(supervisor.ctx.store) == []
    await supervisor.sweep(now=NOW + timedelta(minutes=5))
    assert len(sim.robots.of("wecom")) == 1  # told once


async def test_the_digest_links_to_the_console_where_duty_staff_open_it(
    tmp_path: Path, sim: SimServer
) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/a.db")
    public = "https://xianban.sz.example.cn/console/"
    settings = Settings(sim_url=sim.url, workorder_url=sim.workorder_url, console_public_url=public)
    try:
        async with Supervisor(StageContext(settings=settings, store=store)) as supervisor:
            await store.record_verdict(urgent(1))
            await supervisor.sweep(now=NOW)
    finally:
        await store.close()
    [wecom] = sim.robots.of("wecom")
    link = "https://xianban.sz.example.cn/console/review?urgent=1"
    assert f"[在控制台查看]({link})" in wecom.body["markdown"]["content"]
    [feishu] = sim.robots.of("feishu")
    lines = feishu.body["content"]["post"]["zh_cn"]["content"]
    hrefs = [part.get("href") for line in lines for part in line]
    assert link in hrefs and "127.0.0.1" not in str(feishu.body)
    unset = Settings(console_host="0.0.0.0", console_port=8080)
    assert unset.console_address == "http://0.0.0.0:8080"  # only the bind address is known


async def test_fifty_at_once_are_one_digest_and_a_burst_waits_for_the_next(
    supervisor: Supervisor, sim: SimServer
) -> None:
    for n in range(50):
        await supervisor.ctx.store.record_verdict(urgent(n))
    await supervisor.sweep(now=NOW)
    for platform in ("wecom", "dingtalk", "feishu"):
        assert len(sim.robots.of(platform)) == 1, platform
    content = sim.robots.of("wecom")[0].body["markdown"]["content"]
    assert "紧急线索 50 条" in content and "另有 30 条" in content
    assert len(content.encode()) <= 4096

    await supervisor.ctx.store.record_verdict(urgent(99, at=NOW + timedelta(seconds=10)))
    await supervisor.sweep(now=NOW + timedelta(seconds=20))
    assert len(sim.robots.of("wecom")) == 1  # rate limited: it waits
    await supervisor.sweep(now=NOW + timedelta(seconds=90))
    assert len(sim.robots.of("wecom")) == 2
    assert "紧急线索 1 条" in sim.robots.of("wecom")[1].body["markdown"]["content"]


async def test_a_channel_that_fails_gets_its_alerts_again_alone(
    tmp_path: Path, sim: SimServer
) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/b.db")
    try:
        wrong = Channel(
            ChannelConfig(name="钉钉", kind="dingtalk"),
            url=f"{sim.url}/robots/dingtalk/robot/send?access_token=xianban-duty",
            secret="SECnot-the-secret",
        )
        wecom = Channel(
            ChannelConfig(name="企微", kind="wecom"),
            url=f"{sim.url}/robots/wecom/cgi-bin/webhook/send?key=xianban-duty",
            secret=None,
        )
        desk = AlertDesk(store, AlertsConfig(digest_every_s=0), [wecom, wrong])
        await store.record_verdict(urgent(1))
        assert await desk.tick(NOW) == 0
        assert len(sim.robots.of("wecom")) == 1 and sim.robots.of("dingtalk") == []
        [waiting] = await pending_alerts(store)
        assert waiting.deliveries["企微"] == "ok"
        assert "310000" in waiting.deliveries["钉钉"]
        wrong.secret = "SECxianban-demo-dingtalk"
        assert await desk.tick(NOW + timedelta(minutes=1)) == 1
        assert len(sim.robots.of("wecom")) == 1 and len(sim.robots.of("dingtalk")) == 1
        await desk.close()
    finally:
        await store.close()


async def test_alerts_by_email(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/m.db")
    try:
        async with Mailbox() as box:
            mail = Channel(
                ChannelConfig(
                    name="值班邮箱",
                    kind="email",
                    smtp_host=box.host,
                    smtp_port=box.port,
                    sender="xianban@sz.example",
                    recipients=["duty@sz.example", "lead@sz.example"],
                ),
                url=None,
                secret=None,
            )
            desk = AlertDesk(store, AlertsConfig(digest_every_s=0), [mail])
            for n in range(3):
                await store.record_verdict(urgent(n))
            assert await desk.tick(NOW) == 3
            [message] = box.messages
            assert message["Subject"] == "【先办】先办值班提醒：紧急线索 3 条"
            assert box.envelopes[0][1] == ["duty@sz.example", "lead@sz.example"]
            body = message.get_content()
            assert "燃气味" in body and PHONE not in body
            await desk.close()
    finally:
        await store.close()


def test_signatures_are_the_platforms_own() -> None:
    ms = 1_700_000_000_000
    sign = dingtalk_sign("SECabc", ms)
    # the documented recipe: HmacSHA256(secret, "timestamp\nsecret"), base64, URL-encoded
    assert urllib.parse.unquote_plus(sign) == "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM="
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    assert _dingtalk_ok(
        "SECabc", str(now_ms), urllib.parse.unquote_plus(dingtalk_sign("SECabc", now_ms))
    )
    assert not _dingtalk_ok("SECabc", str(ms), urllib.parse.unquote_plus(sign))  # too old
    now_s = now_ms // 1000
    assert _feishu_ok("abc", str(now_s), feishu_sign("abc", now_s))
    assert not _feishu_ok("abd", str(now_s), feishu_sign("abc", now_s))


def test_a_wecom_digest_fits_its_4096_bytes() -> None:
    lines = [f"【紧急】第 {n} 条：" + "燃气味" * 30 for n in range(200)]
    message = wecom_message(Digest(title="先办值班提醒", lines=lines, link="http://c/review"))
    content = message["markdown"]["content"]
    assert (
        len(content.encode()) <= 4096
        and "另有" in content
        and content.endswith("(http://c/review)")
    )


async def test_robots_refuse_unknown_keys_and_bad_messages(sim: SimServer) -> None:
    async with httpx.AsyncClient(base_url=f"{sim.url}/robots") as http:
        bad_key = await http.post("/wecom/cgi-bin/webhook/send?key=nope", json={"msgtype": "text"})
        assert bad_key.json()["errcode"] == 93000
        bad_type = await http.post(
            "/wecom/cgi-bin/webhook/send?key=xianban-duty", json={"msgtype": "video"}
        )
        assert bad_type.json()["errcode"] == 40008
        unsigned = await http.post(
            "/feishu/open-apis/bot/v2/hook/xianban-duty", json={"msg_type": "text"}
        )
        assert unsigned.json()["code"] == 19021
