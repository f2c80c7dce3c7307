"""类案治理 in the console: who may tag, assign and follow; CSRF; hostile text; the audit log;
a follower's 新增 count; the briefing's 类案 section showing what was decided; and the 复查
result on a case page (the other half of this change)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from console.auth import ROLES, Role
from reports.similar import group_key
from tests.console import samples
from tests.console.conftest import bearer, log_in, tampered
from xianban.records import Case, utcnow
from xianban.store import Store
from xianban.store.reporting import case_fact
from xianban.store.similar_cases import followed_by, get_similar_case, similar_case_notes

UNIT = "龙华区城市管理和综合执法局"


def recent_case(n: int, *, days_ago: float) -> Case:
    """A case of the samples' group (龙华区龙华街道 · 市政设施), opened ``days_ago``."""
    opened = utcnow() - timedelta(days=days_ago)
    return samples.case(n).model_copy(
        update={
            "case_id": f"XB-SIM{n:04d}",
            "cluster_id": f"cluster-sim-{n}",
            "opened_at": opened,
            "dispatch_due": opened + timedelta(minutes=30),
            "history": [e.model_copy(update={"at": opened}) for e in samples.case(n).history],
        }
    )


@pytest.fixture
async def group_id(store: Store) -> str:
    for n, days in ((1, 1), (2, 2), (3, 9)):
        await store.save_case(recent_case(n, days_ago=days))
    key = group_key(case_fact(recent_case(1, days_ago=1).model_dump(mode="json")))
    assert key is not None
    return key.group_id


def _form(**fields: str) -> dict[str, str]:
    return {"status": "following", "tags": "", "unit": "", "assignee": "", "note": "", **fields}


async def test_the_list_ranks_the_group_and_its_page_lists_its_cases(
    client: httpx.AsyncClient, group_id: str
) -> None:
    listing = await client.get("/similar", headers=bearer("viewer"))
    assert listing.status_code == 200
    assert f'data-group="{group_id}"' in listing.text
    assert "龙华区龙华街道 · 市政设施" in listing.text
    page = await client.get(f"/similar/{group_id}", headers=bearer("viewer"))
    assert page.status_code == 200
    assert all(f"XB-SIM{n:04d}" in page.text for n in (1, 2, 3))
    assert "未处置" in page.text
    assert 'id="govern-form"' not in page.text  # a viewer sees no form


async def test_an_unknown_group_is_404(client: httpx.AsyncClient, group_id: str) -> None:
    for method, path in (("GET", ""), ("POST", "/follow")):
        response = await client.request(
            method, f"/similar/no-such-group{path}", headers=bearer("analyst")
        )
        assert response.status_code == 404
        assert "没有找到类案" in response.json()["detail"]


async def test_an_analyst_tags_assigns_and_every_change_is_audited(
    client: httpx.AsyncClient, store: Store, group_id: str
) -> None:
    csrf = await log_in(client, "analyst", name="zhou")
    saved = await client.post(
        f"/similar/{group_id}",
        data={
            "csrf": csrf,
            **_form(tags="台阶破损，天桥", unit=UNIT, assignee="王工", note="已约谈"),
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/similar/{group_id}?done=saved"
    record = await get_similar_case(store, group_id)
    assert record is not None
    assert (record.tags, record.unit, record.assignee, record.status) == (
        ("台阶破损", "天桥"),
        UNIT,
        "王工",
        "following",
    )
    audit = [(r.actor, r.action, r.target) for r in await store.list_audit(limit=10)]
    assert [a for a in audit if a[1].startswith("similar.")] == [
        ("zhou", "similar.noted", group_id),
        ("zhou", "similar.status", group_id),
        ("zhou", "similar.assigned", group_id),
        ("zhou", "similar.tagged", group_id),
    ]
    page = (await client.get(saved.headers["location"])).text
    assert "已保存" in page and "跟进中" in page and "（责任人：王工）" in page
    assert "交办：" + UNIT in page and "备注：已约谈" in page and "zhou" in page

    # Saving the same form again changes nothing and audits nothing.
    again = await client.post(
        f"/similar/{group_id}",
        data={"csrf": csrf, **_form(tags="台阶破损、天桥", unit=UNIT, assignee="王工")},
    )
    assert again.headers["location"].endswith("done=unchanged")
    after = [r for r in await store.list_audit(limit=50) if r.action.startswith("similar.")]
    assert len(after) == 4


async def test_a_leader_may_govern_and_the_other_roles_may_not(
    client: httpx.AsyncClient, store: Store, group_id: str
) -> None:
    allowed: set[Role] = {"analyst", "leader", "admin"}
    for role in ROLES:
        response = await client.post(
            f"/similar/{group_id}", data=_form(status="governed"), headers=bearer(role)
        )
        if role in allowed:
            assert response.status_code == 303, (role, response.text)
        else:
            assert response.status_code == 403, role
            assert "无权" in response.json()["detail"]
    record = await get_similar_case(store, group_id)
    assert record is not None and record.status == "governed"


async def test_a_form_without_its_csrf_token_changes_nothing(
    client: httpx.AsyncClient, store: Store, group_id: str
) -> None:
    csrf = await log_in(client, "leader", name="chen")
    for data in (_form(tags="无令牌"), {"csrf": tampered(csrf), **_form(tags="假令牌")}):
        response = await client.post(f"/similar/{group_id}", data=data)
        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]
        followed = await client.post(f"/similar/{group_id}/follow", data={"csrf": "x"})
        assert followed.status_code == 403
    assert await get_similar_case(store, group_id) is None
    assert not [r for r in await store.list_audit() if r.action.startswith("similar.")]


async def test_a_unit_outside_the_duties_list_and_bad_tags_are_refused(
    client: httpx.AsyncClient, store: Store, group_id: str
) -> None:
    cases = [
        (_form(unit="不存在的单位"), "权责清单中没有承办单位"),
        (_form(assignee="王工"), "请先选择责任单位"),
        (_form(tags="、".join(f"标签{n}" for n in range(11))), "标签最多 10 个"),
        (_form(tags="很" * 21), "过长"),
    ]
    for data, message in cases:
        response = await client.post(f"/similar/{group_id}", data=data, headers=bearer("leader"))
        assert response.status_code == 400
        assert message in response.json()["detail"]
    bad_status = await client.post(
        f"/similar/{group_id}", data=_form(status="done"), headers=bearer("leader")
    )
    assert bad_status.status_code == 422
    assert await get_similar_case(store, group_id) is None


async def test_hostile_text_is_escaped_everywhere_it_shows(
    client: httpx.AsyncClient, group_id: str
) -> None:
    hostile = "<b>x</b>"
    csrf = await log_in(client, "analyst")
    await client.post(
        f"/similar/{group_id}",
        data={
            "csrf": csrf,
            **_form(tags=hostile, unit=UNIT, assignee="<i>y</i>", note=samples.HOSTILE),
        },
    )
    for path in (f"/similar/{group_id}", "/similar", "/reports"):
        page = (await client.get(path)).text
        assert "<b>x</b>" not in page and "<i>y</i>" not in page and "<script>" not in page
        assert "&lt;b&gt;x&lt;/b&gt;" in page, path
    detail = (await client.get(f"/similar/{group_id}")).text
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in detail


async def test_a_follower_sees_the_cases_that_joined_since_they_last_looked(
    client: httpx.AsyncClient, store: Store, group_id: str
) -> None:
    csrf = await log_in(client, "leader", name="chen")
    followed = await client.post(f"/similar/{group_id}/follow", data={"csrf": csrf})
    assert followed.status_code == 303
    assert set(await followed_by(store, "chen")) == {group_id}
    listing = (await client.get("/similar")).text
    assert _row(listing, group_id).count("已关注") == 1 and "新增" not in _row(listing, group_id)

    await store.save_case(recent_case(4, days_ago=0))  # a new case joins the group
    listing = (await client.get("/similar")).text
    assert 'data-new="1"' in _row(listing, group_id) and "新增 1 件" in listing
    page = (await client.get(f"/similar/{group_id}")).text
    assert "上次查看后新增 1 件" in page
    assert re.search(r'<tr class="fresh">\s*<td[^>]*><a[^>]*>XB-SIM0004</a>', page)
    # Having looked, nothing is new any more.
    assert "新增" not in _row((await client.get("/similar")).text, group_id)
    assert "上次查看后新增" not in (await client.get(f"/similar/{group_id}")).text

    unfollowed = await client.post(f"/similar/{group_id}/unfollow", data={"csrf": csrf})
    assert unfollowed.status_code == 303
    assert await followed_by(store, "chen") == {}
    actions = [r.action for r in await store.list_audit() if r.action.startswith("similar.")]
    assert actions == ["similar.unfollowed", "similar.followed"]


async def test_the_briefing_shows_what_was_decided_and_links_the_group(
    client: httpx.AsyncClient, store: Store, group_id: str
) -> None:
    await client.post(
        f"/similar/{group_id}",
        data=_form(tags="台阶", unit=UNIT, assignee="王工"),
        headers=bearer("leader"),
    )
    page = (await client.get("/reports", headers=bearer("viewer"))).text
    assert f'href="/similar/{group_id}"' in page
    assert f"跟进中 · 责任单位：{UNIT}（王工） · 标签：台阶" in page
    notes = await similar_case_notes(store, group_id)
    assert [n.kind for n in notes] == ["tags", "unit", "assignee", "status"]


def _row(html: str, group_id: str) -> str:
    start = html.index(f'data-group="{group_id}"')
    return html[start : html.index("</tr>", start)]


async def test_a_case_page_shows_its_recheck(client: httpx.AsyncClient, store: Store) -> None:
    await store.save_case(samples.case(7, status="closed").model_copy(update={"recheck": "passed"}))
    await store.save_case(samples.case(8))
    passed = (await client.get("/cases/XB-CASE0007", headers=bearer("viewer"))).text
    assert "复查通过（结案后未再收到同一问题的报告）" in passed
    assert "尚未复查" in (await client.get("/cases/XB-CASE0008", headers=bearer("viewer"))).text
