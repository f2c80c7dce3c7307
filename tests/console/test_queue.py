"""The queue an analyst works all day: filters, paging, the lead page, and every action."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from console import create_app
from tests.console import samples
from tests.console.conftest import TOKENS, bearer, log_in
from xianban.records import Author, Engagement, Geo, Lead, PlaceHints, Post, Record, Verdict
from xianban.settings import Settings
from xianban.store import Store

HTML = {"Accept": "text/html"}


def lead(n: int, *, cluster: str | None = None, **changes: object) -> Lead:
    base = samples.lead(n).model_copy(
        update={
            "cluster_id": cluster or f"cluster-{n}",
            "found_at": samples.OPENED + timedelta(minutes=n),
        }
    )
    return base.model_copy(update=changes)


async def queue(store: Store, subject: Lead, *, by: str = "rule:review") -> Verdict:
    verdict = Verdict(
        verdict_id=f"v-{subject.cluster_id}",
        cluster_id=subject.cluster_id,
        lead=subject,
        decision="needs_review",
        by=by,
        reason="得分居中，待分析员研判",
        decided_at=subject.found_at,
    )
    await store.upsert_lead(subject)
    await store.record_verdict(verdict)
    return verdict


async def test_the_queue_is_paged_50_at_a_time_and_filters_by_place_urgency_and_rule(
    client: httpx.AsyncClient, store: Store
) -> None:
    for n in range(1, 121):
        district = "宝安区" if n > 100 else "龙华区"
        street = "西乡街道" if n > 100 else "龙华街道"
        await queue(
            store,
            lead(n, urgent=n % 20 == 0, geo=Geo(district=district, street=street), score=n / 200),
            by="rule:jurisdiction" if n % 3 == 0 else "rule:review",
        )
    first = (await client.get("/review", headers=bearer("analyst"))).text
    assert "共 120 条待审核" in first
    assert first.count('class="card lead') == 50
    assert "第 1–50 条，共 120 条 · 第 1 / 3 页" in first
    assert 'href="/review?page=2" accesskey="n"' in first
    # urgent first, each with its clock
    cards = re.findall(r'id="lead-(cluster-\d+)"', first)
    assert cards[:6] == [f"cluster-{n}" for n in (20, 40, 60, 80, 100, 120)]
    assert "派单时限" in first and "已超时" in first

    third = (await client.get("/review?page=3", headers=bearer("analyst"))).text
    assert third.count('class="card lead') == 20

    def count(page: str) -> int:
        return int(re.search(r"共 (\d+) 条待审核", page).group(1))  # type: ignore[union-attr]

    async def get(query: str) -> str:
        response = await client.get(f"/review?{query}", headers=bearer("analyst"))
        assert response.status_code == 200, response.text
        return response.text

    assert count(await get("district=宝安区")) == 20
    assert count(await get("street=西乡街道&urgent=1")) == 1
    assert count(await get("urgent=0")) == 114
    assert count(await get("rule=rule:jurisdiction")) == 40
    assert count(await get("min_score=0.5&max_score=0.55")) == 11
    assert count(await get("platform=weibo&category=municipal_facilities")) == 120
    assert count(await get("age=3d")) == 120  # all found in 2026, long ago
    filtered = await get("district=宝安区&sort=score")
    # paging links keep the filters
    assert "district=%E5%AE%9D%E5%AE%89%E5%8C%BA" in filtered or "共 20 条待审核" in filtered
    bad = await client.get("/review?category=aliens", headers=bearer("analyst"))
    assert bad.status_code == 400 and "未知的分类：aliens" in bad.json()["detail"]
    bad = await client.get("/review?min_score=2", headers=bearer("analyst"))
    assert bad.status_code == 400 and "0 到 1" in bad.json()["detail"]


async def test_the_lead_page_shows_the_whole_clusters_evidence(
    store: Store, tmp_path: Path
) -> None:
    posts = [
        Post(
            platform="forum",
            native_id="88002992",
            source="szforum-minsheng",
            url="/thread-88002992-1-1.html",
            author=Author(id="u77", name="西乡老街坊", followers=321, verified=True),
            text="西乡街道固戍地铁站旁边井盖没了",
            media=["https://img.example/p1.jpg", "javascript:alert(1)"],
            engagement=Engagement(likes=12, comments=3, shares=1, views=900),
            place_hints=PlaceHints(ip_location="广东"),
            created_at=samples.OPENED,
        ),
        Post(
            platform="tousu",
            native_id=samples.PHONE,
            source="tousu-api",
            url=f"/tousu/api/complaints/{samples.PHONE}",
            text="固戍地铁站井盖丢失",
        ),
    ]
    for post in posts:
        await store.upsert_post(post)
    geo = Geo(district="宝安区", street="西乡街道", poi="固戍地铁站")
    first = lead(
        1,
        cluster="c-well",
        post_ids=[posts[0].post_id],
        platform="forum",
        url=posts[0].url,
        geo=geo,
        reasons=["问题:市政设施(井盖)", "地名库:地点:固戍地铁站→宝安区西乡街道"],
        features={"problem": 0.8, "place": 0.3},
    )
    second = lead(
        2,
        cluster="c-well",
        post_ids=[posts[1].post_id],
        platform="tousu",
        url=posts[1].url,
        geo=geo,
        lead_id="lead-2",
    )
    await store.upsert_lead(first)
    await queue(store, second)
    settings = Settings(data_dir=tmp_path, sim_url="http://127.0.0.1:8100")
    app = create_app(store=store, publish=None, settings=settings, tokens=TOKENS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
        response = await client.get("/review/c-well", headers={**bearer("analyst"), **HTML})
    page = response.text
    for expected in (
        "西乡老街坊",
        "ID u77",
        "粉丝 321",
        "赞 12 · 评论 3 · 转发 1 · 播放/阅读 900",
        "IP属地 广东",
        "地名库:地点:固戍地铁站→宝安区西乡街道",  # how the place was resolved
        "问题:市政设施(井盖)",  # the score's reasons
        "problem=0.80",
        "2 条报告",
        "宝安区西乡街道办事处",  # who would act, and the street office for 现场核查
    ):
        assert expected in page, expected
    # absolute, unmasked links to the platforms; only http(s) becomes a link
    assert 'href="http://127.0.0.1:8100/forum/thread-88002992-1-1.html"' in page
    assert f'href="http://127.0.0.1:8100/tousu/api/complaints/{samples.PHONE}"' in page
    assert 'href="https://img.example/p1.jpg"' in page
    assert 'href="javascript:alert(1)"' not in page
    assert "javascript:alert(1)" in page  # shown, as text


def test_links_are_made_absolute_against_the_source() -> None:
    from console.links import absolute, link

    assert (
        absolute("/thread-1-1-1.html", "http://sim:1/forum")
        == "http://sim:1/forum/thread-1-1-1.html"
    )
    assert (
        absolute("/tousu/api/complaints/173", "http://sim:1/tousu")
        == "http://sim:1/tousu/api/complaints/173"
    )
    assert absolute("thread-2.html", "https://bbs.sz.cn") == "https://bbs.sz.cn/thread-2.html"
    assert absolute("//m.weibo.cn/1", None) == "https://m.weibo.cn/1"
    assert link("javascript:alert(1)", "https://x.cn") is not None
    assert link("javascript:alert(1)", "https://x.cn").href is None  # type: ignore[union-attr]
    assert link("data:text/html,hi").href is None  # type: ignore[union-attr]
    assert link("/relative-without-base").href is None  # type: ignore[union-attr]


async def test_reject_needs_a_reason_and_the_reason_is_audited(
    client: httpx.AsyncClient, store: Store, published: list[Record]
) -> None:
    await queue(store, lead(1))
    csrf = await log_in(client, "analyst", name="zhaolei")
    refused = await client.post("/review/cluster-1/reject", data={"csrf": csrf})
    assert refused.status_code == 400 and "须填写理由" in refused.json()["detail"]
    response = await client.post(
        "/review/cluster-1/reject",
        data={"csrf": csrf, "reason": "广告或垃圾推广", "note": "卖房广告"},
    )
    assert response.status_code == 303
    [row] = [r for r in await store.list_audit() if r.action == "lead.rejected"]
    assert row.actor == "zhaolei" and row.detail is not None
    assert row.detail["reason"] == "广告或垃圾推广；卖房广告"
    [verdict] = published
    assert isinstance(verdict, Verdict) and verdict.reason == "广告或垃圾推广；卖房广告"


async def test_two_analysts_on_one_lead_get_a_clear_conflict(
    store: Store, app: FastAPI, published: list[Record]
) -> None:
    queued = await queue(store, lead(1))
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://c.test") as wang,
        httpx.AsyncClient(transport=transport, base_url="http://c.test") as li,
    ):
        wang_csrf = await log_in(wang, "analyst", name="wang")
        li_csrf = await log_in(li, "analyst", name="li")
        both = {"version": queued.verdict_id}
        first = await wang.post("/review/cluster-1/confirm", data={"csrf": wang_csrf, **both})
        assert first.status_code == 303
        second = await li.post(
            "/review/cluster-1/reject",
            data={"csrf": li_csrf, "reason": "重复报告", **both},
        )
        assert second.status_code == 409
        message = second.json()["detail"]
        assert "analyst:wang" in message and "已确认" in message and "请刷新" in message
        # wang's double click is not a conflict, and changes nothing
        again = await wang.post("/review/cluster-1/confirm", data={"csrf": wang_csrf, **both})
        assert again.status_code == 303
    assert [v.decision for v in published if isinstance(v, Verdict)] == ["confirmed"]
    latest = await store.latest_verdict("cluster-1")
    assert latest is not None and latest.by == "analyst:wang"


async def test_relocating_is_checked_against_the_gazetteer(
    client: httpx.AsyncClient, store: Store, published: list[Record]
) -> None:
    await queue(store, lead(1))
    headers = bearer("analyst")
    wrong = await client.post(
        "/review/cluster-1/amend",
        data={"category": "road_traffic", "district": "罗湖区", "street": "西乡街道"},
        headers=headers,
    )
    assert wrong.status_code == 400
    assert "罗湖区没有“西乡街道”这个街道" in wrong.json()["detail"]
    nowhere = await client.post(
        "/review/cluster-1/amend",
        data={"category": "road_traffic", "district": "宝安区", "street": "幸福街道"},
        headers=headers,
    )
    assert nowhere.status_code == 400
    assert published == []
    short = await client.post(
        "/review/cluster-1/amend",
        data={"category": "road_traffic", "street": "西乡", "community": "固戍"},
        headers=headers,
    )
    assert short.status_code == 303
    [amended] = published
    assert isinstance(amended, Verdict)
    assert amended.lead.geo == Geo(district="宝安区", street="西乡街道", community="固戍社区")


async def test_merge_two_leads_and_merge_into_a_filed_one(
    client: httpx.AsyncClient, store: Store, published: list[Record]
) -> None:
    await queue(store, lead(1))
    await queue(store, lead(2, lead_id="lead-2", post_ids=["weibo:2002"]))
    headers = bearer("analyst")
    response = await client.post(
        "/review/cluster-2/merge", data={"target": "cluster-1"}, headers=headers
    )
    assert response.status_code == 303
    merged = await store.latest_verdict("cluster-2")
    target = await store.latest_verdict("cluster-1")
    assert merged is not None and target is not None
    assert (merged.decision, merged.merged_into) == ("rejected", "cluster-1")
    assert target.decision == "needs_review"
    assert set(target.lead.post_ids) == {"weibo:1001", "weibo:2002"}
    assert {m.lead_id for m in await store.leads_in_cluster("cluster-1")} == {"lead-1", "lead-2"}
    page = (await client.get("/review", headers=headers)).text
    assert 'id="lead-cluster-2"' not in page and "同类报告 2 条" in page

    # into a lead already confirmed: the reports go to its case as corroboration
    await queue(store, lead(3, lead_id="lead-3", post_ids=["weibo:3003"]))
    await client.post("/review/cluster-1/confirm", headers=headers)
    await client.post("/review/cluster-3/merge", data={"target": "cluster-1"}, headers=headers)
    attached = await store.latest_verdict("cluster-3")
    assert attached is not None and attached.decision == "confirmed"
    assert attached.duplicate_of == "cluster-1"
    assert (
        await client.post("/review/cluster-1/merge", data={"target": "cluster-1"}, headers=headers)
    ).status_code == 400
    actions = [r.action for r in await store.list_audit()]
    assert actions.count("lead.merged") == 2 and "lead.merged_in" in actions


async def test_split_reports_off_into_a_new_lead(
    client: httpx.AsyncClient, store: Store, published: list[Record]
) -> None:
    for n in (1, 2, 3):
        member = lead(n, cluster="c-mixed", lead_id=f"lead-{n}", post_ids=[f"weibo:{n}"])
        await store.upsert_lead(member)
    current = await queue(store, lead(3, cluster="c-mixed", lead_id="lead-3", post_ids=["weibo:3"]))
    headers = bearer("analyst")
    none = await client.post("/review/c-mixed/split", data={"lead": ["nope"]}, headers=headers)
    assert none.status_code == 400
    response = await client.post(
        "/review/c-mixed/split",
        data={"lead": ["lead-3"], "version": current.verdict_id},
        headers=headers,
    )
    assert response.status_code == 303
    new_cluster = response.headers["location"].split("/review/")[1].split("?")[0]
    kept = await store.latest_verdict("c-mixed")
    split_off = await store.latest_verdict(new_cluster)
    assert kept is not None and split_off is not None
    assert set(kept.lead.post_ids) == {"weibo:1", "weibo:2"}
    assert split_off.lead.post_ids == ["weibo:3"] and split_off.decision == "needs_review"
    assert [m.lead_id for m in await store.leads_in_cluster(new_cluster)] == ["lead-3"]
    assert len(await store.leads_in_cluster("c-mixed")) == 2


async def test_bulk_confirm_and_reject(
    client: httpx.AsyncClient, store: Store, published: list[Record]
) -> None:
    verdicts = [await queue(store, lead(n)) for n in (1, 2, 3, 4)]
    headers = bearer("analyst")
    items = [f"{v.cluster_id}|{v.verdict_id}" for v in verdicts]
    response = await client.post(
        "/review/bulk", data={"op": "confirm", "item": items[:3]}, headers=headers
    )
    assert response.status_code == 303 and "ok=3&failed=0" in response.headers["location"]
    no_reason = await client.post(
        "/review/bulk", data={"op": "reject", "item": items[3:]}, headers=headers
    )
    assert no_reason.status_code == 400
    again = await client.post(
        "/review/bulk",
        data={"op": "reject", "item": items, "reason": "重复报告"},
        headers=headers,
    )
    assert "ok=1&failed=3" in again.headers["location"]
    decisions = [v.decision for v in published if isinstance(v, Verdict)]
    assert decisions == ["confirmed"] * 3 + ["rejected"]


async def test_a_site_check_round_trip_decides_the_lead(
    client: httpx.AsyncClient, store: Store, published: list[Record]
) -> None:
    await queue(store, lead(1, geo=Geo(district="宝安区", street="石岩街道")))
    await queue(store, lead(2, geo=Geo(district="宝安区", street="石岩街道")))
    csrf = await log_in(client, "analyst", name="chen")
    sent = await client.post(
        "/review/cluster-1/site-check", data={"csrf": csrf, "note": "看护栏是否松动"}
    )
    assert sent.status_code == 303
    listed = (await client.get("/api/v1/site-checks", headers=bearer("api"))).json()
    [check] = listed["site_checks"]
    assert check["unit"] == "宝安区石岩街道办事处" and check["status"] == "requested"
    in_queue = await store.latest_verdict("cluster-1")
    assert in_queue is not None and in_queue.decision == "needs_review"
    assert "已派 宝安区石岩街道办事处 现场核查" in in_queue.reason

    answer = {"result": "confirmed", "note": "护栏底座锈断", "photo": "IMG_0412"}
    url = f"/api/v1/site-checks/{check['check_id']}"
    done = await client.post(url, json=answer, headers=bearer("api"))
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    assert (await client.post(url, json=answer, headers=bearer("api"))).status_code == 200
    other = await client.post(url, json={"result": "not_found"}, headers=bearer("api"))
    assert other.status_code == 409
    decided = await store.latest_verdict("cluster-1")
    assert decided is not None and decided.decision == "confirmed"
    assert decided.by == "site_check:宝安区石岩街道办事处"
    assert "护栏底座锈断" in decided.reason and "IMG_0412" in decided.reason

    # and through the console: not found rejects the lead
    await client.post("/review/cluster-2/site-check", data={"csrf": csrf})
    page = (await client.get("/review/cluster-2")).text
    check_id = re.search(r"/site-check/(SC-[0-9A-F]+)", page).group(1)  # type: ignore[union-attr]
    result = await client.post(
        f"/review/cluster-2/site-check/{check_id}",
        data={"csrf": csrf, "result": "not_found", "note": "现场已修复"},
    )
    assert result.status_code == 303
    rejected = await store.latest_verdict("cluster-2")
    assert rejected is not None and rejected.decision == "rejected"
    assert "现场核查未发现问题：现场已修复" in rejected.reason
    actions = [r.action for r in await store.list_audit() if r.action.startswith("lead.")]
    assert actions.count("lead.site_check") == 2 and actions.count("lead.site_checked") == 2


@pytest.mark.parametrize("path", ["/cases", "/audit", "/dead-letters"])
async def test_cases_audit_and_dead_letters_are_paged(
    client: httpx.AsyncClient, store: Store, path: str
) -> None:
    for n in range(1, 56):
        await store.save_case(samples.case(n, escalations=n % 2))
        await store.audit(
            actor="li", action="lead.rejected", target=f"c{n}", detail={"reason": "x"}
        )
        letter = samples.dead_letter().model_copy(update={"offset": n})
        await store.add_dead_letter(letter)
    page = (await client.get(path, headers=bearer("admin"))).text
    assert "共 55" in page and "第 1 / 2 页" in page
    second = (await client.get(f"{path}?page=2", headers=bearer("admin"))).text
    assert "第 51–55 条" in second


async def test_case_list_filters_and_sorts(client: httpx.AsyncClient, store: Store) -> None:
    for n in range(1, 8):
        case = samples.case(n, escalations=n % 2)
        if n > 5:
            case = case.model_copy(update={"geo": Geo(district="宝安区"), "reroutes": 1})
        await store.save_case(case)
    headers = bearer("viewer")

    async def total(query: str) -> int:
        text = (await client.get(f"/cases?{query}", headers=headers)).text
        return int(re.search(r"共 (\d+) 件", text).group(1))  # type: ignore[union-attr]

    assert await total("") == 7
    assert await total("district=宝安区") == 2
    assert await total("escalated=1") == 4
    assert await total("returned=1") == 2
    assert await total("department=城市管理&sort=escalations") == 7
    audit = (await client.get("/audit?actor=nobody", headers=bearer("admin"))).text
    assert "共 0 条" in audit
