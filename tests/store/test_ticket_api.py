"""The ticket API's tables on SQLite and PostgreSQL: tokens by digest, the webhook outbox
(per-case numbering, replays, per-case order of claims, leases), the case feed's keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from xianban.records import Case, CaseEvent
from xianban.store import Store
from xianban.store.feeds import CaseFeedFilter, case_feed
from xianban.store.ticket_api import (
    ApiToken,
    EventHead,
    Subscription,
    add_token,
    claim_deliveries,
    delivery_counts,
    end_token,
    enqueue_event,
    put_subscription,
    record_attempt,
    token_by_hash,
)

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def case(n: int, *, at: datetime = T0, status: str = "filed") -> Case:
    return Case.model_validate(
        {
            "case_id": f"XB-{n:04d}",
            "cluster_id": f"cluster-{n}",
            "department": "龙华区城市管理和综合执法局",
            "category": "municipal_facilities",
            "priority": "urgent",
            "title": "天桥台阶破损",
            "description": "天桥台阶断了一块",
            "post_ids": [f"weibo:{n}"],
            "opened_at": at,
            "dispatch_due": at + timedelta(minutes=30),
            "status": status,
            "history": [CaseEvent(at=at, status="pending", note="立案").model_dump(mode="json")],
        }
    )


def subscription(sub_id: str = "sub_1") -> Subscription:
    return Subscription(
        subscription_id=sub_id,
        consumer="dashboard",
        origin="api",
        url="https://hooks.example.cn/x",
        secret="whsec_1",
        event_types=("*",),
        departments=(),
        description="",
        active=True,
        created_at=T0,
        updated_at=T0,
    )


async def _enqueue(store: Store, event_id: str, case_id: str, status: str) -> str | None:
    def body(head: EventHead) -> tuple[str, str]:
        kind = "case.created" if head.first else f"seq{head.seq}:{head.prev_status}"
        return kind, "{}"

    return await enqueue_event(
        store,
        event_id=event_id,
        case_id=case_id,
        status=status,
        department="d",
        body=body,
        wants=lambda sub, kind: True,
        at=T0,
    )


async def test_tokens_are_found_by_digest_and_end_when_told(store: Store) -> None:
    token = ApiToken("tok_1", "dashboard", ("cases:read",), (), "", created_at=T0)
    await add_token(store, token, secret_hash="ab" * 32)
    found = await token_by_hash(store, "ab" * 32)
    assert found is not None and found.scopes == ("cases:read",) and found.usable(T0)
    assert await token_by_hash(store, "cd" * 32) is None
    assert await end_token(store, "tok_1", at=T0 + timedelta(hours=1), revoke=False)
    ending = await token_by_hash(store, "ab" * 32)
    assert ending is not None and ending.usable(T0) and not ending.usable(T0 + timedelta(hours=2))
    assert await end_token(store, "tok_1", at=T0, revoke=True)
    revoked = await token_by_hash(store, "ab" * 32)
    assert revoked is not None and not revoked.usable(T0)
    assert not await end_token(store, "tok_none", at=T0, revoke=True)


async def test_events_are_numbered_per_case_once_each(store: Store) -> None:
    await put_subscription(store, subscription())
    assert await _enqueue(store, "evt_a1", "XB-1", "filed") == "case.created"
    assert await _enqueue(store, "evt_a1", "XB-1", "filed") is None  # replayed record
    assert await _enqueue(store, "evt_a2", "XB-1", "dispatched") == "seq2:filed"
    assert await _enqueue(store, "evt_b1", "XB-2", "filed") == "case.created"
    assert await delivery_counts(store) == {"pending": 3, "delivered": 0, "parked": 0}


async def test_a_later_event_waits_for_the_earlier_one_of_its_case(store: Store) -> None:
    await put_subscription(store, subscription())
    for n in (1, 2, 3):
        await _enqueue(store, f"evt_a{n}", "XB-1", f"s{n}")
    await _enqueue(store, "evt_b1", "XB-2", "s1")
    lease = timedelta(seconds=60)
    first = await claim_deliveries(store, subscription_id="sub_1", now=T0, lease=lease, limit=10)
    assert sorted((d.case_id, d.seq) for d in first) == [("XB-1", 1), ("XB-2", 1)]
    # Leased: nobody else gets them, and the case's next event still waits.
    assert (
        await claim_deliveries(store, subscription_id="sub_1", now=T0, lease=lease, limit=10) == []
    )
    one = next(d for d in first if d.case_id == "XB-1")
    await record_attempt(
        store,
        one.delivery_id,
        at=T0,
        status_code=200,
        error=None,
        duration_ms=3,
        outcome="delivered",
    )
    second = await claim_deliveries(store, subscription_id="sub_1", now=T0, lease=lease, limit=10)
    assert [(d.case_id, d.seq) for d in second] == [("XB-1", 2)]
    # A dispatcher that died holding XB-2's lease: the row comes back once the lease ends.
    later = await claim_deliveries(
        store, subscription_id="sub_1", now=T0 + 2 * lease, lease=lease, limit=10
    )
    assert sorted((d.case_id, d.seq) for d in later) == [("XB-1", 2), ("XB-2", 1)]


async def test_the_case_feed_pages_by_update_time_without_skipping(store: Store) -> None:
    for n in range(5):
        await store.save_case(case(n, at=T0 + timedelta(minutes=n)))
    seen: list[str] = []
    after = None
    while True:
        page = await case_feed(store, CaseFeedFilter(), after=after, limit=2)
        if not page:
            break
        seen += [c.case_id for _, c in page]
        after = (page[-1][0], page[-1][1].case_id)
    assert seen == [f"XB-{n:04d}" for n in range(5)]
    newest = await case_feed(store, CaseFeedFilter(statuses=("filed",)), order="desc", limit=1)
    assert [c.case_id for _, c in newest] == ["XB-0004"]
