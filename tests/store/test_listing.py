"""Paged, filtered, sorted lists: the same answers on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from tests.console import samples
from xianban.records import Geo, Verdict
from xianban.store import Store
from xianban.store.listing import (
    AuditFilter,
    CaseFilter,
    DeadLetterFilter,
    ReviewFilter,
    audit_contains,
    audit_page,
    case_page,
    confirmed_in_districts,
    confirmed_near,
    confirmed_without_case,
    dead_letter_page,
    review_facets,
    review_page,
)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(store_url)
    try:
        yield opened
    finally:
        await opened.close()


def queued(n: int, *, urgent: bool, district: str = "龙华区", score: float = 0.6) -> Verdict:
    verdict = samples.needs_review(n, urgent=urgent)
    lead = verdict.lead.model_copy(
        update={
            "geo": Geo(district=district, street="龙华街道" if district == "龙华区" else None),
            "score": score,
            "found_at": samples.OPENED + timedelta(minutes=n),
            "platform": "weibo" if n % 2 else "forum",
        }
    )
    return verdict.model_copy(
        update={"lead": lead, "decided_at": samples.OPENED + timedelta(minutes=n)}
    )


async def test_the_queue_pages_filters_and_puts_urgent_first(store: Store) -> None:
    for n in range(1, 121):
        district = "龙华区" if n <= 100 else "宝安区"
        await store.record_verdict(queued(n, urgent=n % 10 == 0, district=district, score=n / 200))
    first = await review_page(store)
    assert (first.total, first.pages, len(first.items)) == (120, 3, 50)
    # the 12 urgent leads first, oldest first, then the rest oldest first
    assert [v.cluster_id for v in first.items[:13]] == [
        *(f"cluster-{n}" for n in range(10, 121, 10)),
        "cluster-1",
    ]
    third = await review_page(store, page=3)
    assert (len(third.items), third.first, third.last) == (20, 101, 120)

    baoan = await review_page(store, ReviewFilter(district="宝安区"))
    assert baoan.total == 20
    urgent = await review_page(store, ReviewFilter(urgent=True, district="龙华区"))
    assert urgent.total == 10
    assert (await review_page(store, ReviewFilter(street="龙华街道"))).total == 100
    assert (await review_page(store, ReviewFilter(platform="forum"))).total == 60
    high = await review_page(store, ReviewFilter(min_score=0.5), sort="score")
    assert high.total == 21
    assert high.items[0].lead.score == pytest.approx(0.6)
    old = ReviewFilter(older_than=samples.OPENED + timedelta(minutes=10))
    assert (await review_page(store, old)).total == 10
    assert (await review_page(store, ReviewFilter(rule="rule:low_corroboration"))).total == 120
    assert (await review_page(store, ReviewFilter(rule="analyst"))).total == 0
    newest = await review_page(store, sort="newest", per_page=2)
    assert [v.cluster_id for v in newest.items] == ["cluster-120", "cluster-119"]

    facets = await review_facets(store)
    assert dict(facets["district"]) == {"龙华区": 100, "宝安区": 20}


async def test_a_decided_lead_leaves_the_queue(store: Store) -> None:
    for n in (1, 2):
        await store.record_verdict(queued(n, urgent=False))
    decided = queued(1, urgent=False).model_copy(
        update={"verdict_id": "v-final", "decision": "confirmed", "by": "analyst:li"}
    )
    await store.record_verdict(decided)
    page = await review_page(store)
    assert [v.cluster_id for v in page.items] == ["cluster-2"]
    assert [v.cluster_id for v in await confirmed_without_case(store, decided_before=_late())] == [
        "cluster-1"
    ]
    await store.save_case(samples.case(1))
    assert await confirmed_without_case(store, decided_before=_late()) == []
    near = await confirmed_near(
        store,
        category="municipal_facilities",
        district="龙华区",
        street="龙华街道",
        since=samples.OPENED - timedelta(days=1),
        exclude_cluster="cluster-9",
    )
    assert [v.cluster_id for v in near] == ["cluster-1"]


async def test_confirmed_in_districts_is_confirmed_near_for_each_district(store: Store) -> None:
    """The verifier's one read per batch: for each district the first ``limit`` of what
    ``confirmed_near`` lists (each cluster's latest verdict, confirmed, carrying its own
    case, in the window, oldest first), a district without any given an empty list."""
    for n in range(1, 31):
        verdict = queued(n, urgent=False, district="龙华区" if n % 3 else "宝安区")
        update: dict[str, object] = {"verdict_id": f"v-{n}", "decision": "confirmed"}
        if n % 7 == 0:
            update["duplicate_of"] = "cluster-1"
        if n % 11 == 0:  # a follow-up: the cluster reported again, its own case
            update["duplicate_of"] = verdict.cluster_id
        if n % 5 == 0:  # decided before the window
            update["decided_at"] = samples.OPENED - timedelta(days=2)
        await store.record_verdict(verdict.model_copy(update=update))
    for n in (4, 8):  # a later verdict is the cluster's latest
        await store.record_verdict(
            queued(n, urgent=False).model_copy(update={"verdict_id": f"w-{n}"})
        )
    since = samples.OPENED - timedelta(days=1)
    for limit in (3, 200):
        lists = await confirmed_in_districts(
            store, ["宝安区", "龙华区", "福田区"], since=since, limit=limit
        )
        assert list(lists) == ["宝安区", "龙华区", "福田区"]
        for district, found in lists.items():
            near = await confirmed_near(
                store,
                category=None,
                district=district,
                street=None,
                since=since,
                exclude_cluster="none",
                limit=limit,
            )
            assert [v.verdict_id for v in found] == [v.verdict_id for v in near]
    assert len(lists["龙华区"]) == 11 and lists["福田区"] == []
    assert {"v-11", "v-22"} <= {v.verdict_id for v in lists["龙华区"]}


def _late() -> datetime:
    return samples.OPENED + timedelta(days=365)


async def test_cases_audit_and_dead_letters_page_and_filter(store: Store) -> None:
    for n in range(1, 61):
        case = samples.case(n, escalations=n % 2)
        if n > 50:
            case = case.model_copy(update={"status": "closed", "reroutes": 1})
        await store.save_case(case)
    page = await case_page(store)
    assert (page.total, len(page.items)) == (60, 50)
    assert (await case_page(store, CaseFilter(statuses=("closed",)))).total == 10
    assert (await case_page(store, CaseFilter(escalated=True))).total == 30
    assert (await case_page(store, CaseFilter(returned=True))).total == 10
    assert (await case_page(store, CaseFilter(department="龙华区城市管理"))).total == 60
    assert (await case_page(store, CaseFilter(district="宝安区"))).total == 0
    assert len((await case_page(store, sort="escalations")).items) == 50

    for n in range(70):
        await store.audit(actor="li" if n % 2 else "wang", action="lead.rejected", target=f"c{n}")
    await store.audit(actor="li", action="login", target="console", detail={"verdict_id": "x"})
    assert (await audit_page(store)).total == 71
    assert (await audit_page(store, AuditFilter(actor="li"))).total == 36
    assert (await audit_page(store, AuditFilter(action="lead."))).total == 70
    oldest = await audit_page(store, sort="oldest", per_page=1)
    assert oldest.items[0].target == "c0"
    assert await audit_contains(store, action="login", target="console", verdict_id="x")
    assert not await audit_contains(store, action="login", target="console", verdict_id="y")

    await store.add_dead_letter(samples.dead_letter())
    assert (await dead_letter_page(store, DeadLetterFilter(stage="leadfinder"))).total == 1
    assert (await dead_letter_page(store, DeadLetterFilter(stage="verifier"))).total == 0
