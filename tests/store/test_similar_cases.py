"""类案 governance on SQLite and PostgreSQL: tracking once, changes with who and when, the
notes in order, following (twice is once), last-looked times that never move back, and two
people saving at once each seeing the other's result."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from xianban.store import Store
from xianban.store.similar_cases import (
    SimilarChange,
    UnknownSimilarCase,
    follow_similar_case,
    followed_by,
    followers_of,
    get_similar_case,
    mark_seen,
    similar_case_notes,
    similar_cases,
    track_similar_case,
    unfollow_similar_case,
    update_similar_case,
)

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


async def _track(store: Store, group_id: str = "g1", *, at: datetime = T0) -> None:
    await track_similar_case(
        store,
        group_id=group_id,
        kind="place",
        category="construction_noise",
        label="南山区粤海街道 · 施工噪音",
        by="lihua",
        at=at,
    )


async def test_a_group_is_tracked_once_and_starts_open(store: Store) -> None:
    first = await track_similar_case(
        store,
        group_id="g1",
        kind="merchant",
        category="consumer_rights",
        label="某健身房 · 消费维权",
        by="lihua",
        at=T0,
    )
    again = await track_similar_case(
        store,
        group_id="g1",
        kind="merchant",
        category="consumer_rights",
        label="某健身房 · 消费维权",
        by="wangfang",
        at=T0 + timedelta(hours=1),
    )
    assert first == again
    assert (first.status, first.tags, first.unit, first.assignee) == ("open", (), None, None)
    assert (first.created_by, first.created_at) == ("lihua", T0)
    assert await get_similar_case(store, "nope") is None


async def test_changes_are_kept_with_who_and_when(store: Store) -> None:
    await _track(store)
    changes = await update_similar_case(
        store,
        "g1",
        by="lihua",
        at=T0 + timedelta(minutes=5),
        tags=[" 夜间施工 ", "夜间施工", "", "噪音"],
        unit="南山区住房和建设局",
        assignee="王工",
        status="following",
        note="约谈施工单位",
    )
    assert changes == [
        SimilarChange("tags", (), ("夜间施工", "噪音")),
        SimilarChange("unit", None, "南山区住房和建设局"),
        SimilarChange("assignee", None, "王工"),
        SimilarChange("status", "open", "following"),
    ]
    record = await get_similar_case(store, "g1")
    assert record is not None
    assert record.tags == ("夜间施工", "噪音")
    assert (record.unit, record.assignee) == ("南山区住房和建设局", "王工")
    assert record.status == "following"
    assert (record.updated_by, record.updated_at) == ("lihua", T0 + timedelta(minutes=5))

    # Saving the same values again changes nothing and writes no note.
    same = await update_similar_case(
        store, "g1", by="wangfang", at=T0 + timedelta(hours=1), tags=["夜间施工", "噪音"]
    )
    assert same == []
    unchanged = await get_similar_case(store, "g1")
    assert unchanged is not None and unchanged.updated_by == "lihua"

    await update_similar_case(
        store, "g1", by="wangfang", at=T0 + timedelta(days=3), status="governed", unit=None
    )
    notes = await similar_case_notes(store, "g1")
    assert [(n.kind, n.text, n.by) for n in notes] == [
        ("tags", "夜间施工、噪音", "lihua"),
        ("unit", "南山区住房和建设局", "lihua"),
        ("assignee", "王工", "lihua"),
        ("status", "following", "lihua"),
        ("note", "约谈施工单位", "lihua"),
        ("unit", "", "wangfang"),
        ("status", "governed", "wangfang"),
    ]
    assert notes[0].at == T0 + timedelta(minutes=5)
    assert notes[-1].at == T0 + timedelta(days=3)


async def test_an_untracked_group_cannot_be_changed(store: Store) -> None:
    with pytest.raises(UnknownSimilarCase):
        await update_similar_case(store, "never", by="lihua", status="following")


async def test_many_groups_are_read_at_once(store: Store) -> None:
    for n in range(3):
        await _track(store, f"g{n}", at=T0 + timedelta(minutes=n))
    assert set(await similar_cases(store)) == {"g0", "g1", "g2"}
    assert set(await similar_cases(store, ["g2", "g0", "missing"])) == {"g0", "g2"}
    assert await similar_cases(store, []) == {}


async def test_following_is_once_per_person_and_seen_never_moves_back(store: Store) -> None:
    await _track(store)
    await _track(store, "g2")
    assert await follow_similar_case(store, "g1", "lihua", at=T0) is True
    assert await follow_similar_case(store, "g1", "lihua", at=T0 + timedelta(days=1)) is False
    assert await follow_similar_case(store, "g1", "wangfang", at=T0 + timedelta(hours=2))
    assert await follow_similar_case(store, "g2", "lihua", at=T0)
    assert [f.follower for f in await followers_of(store, "g1")] == ["lihua", "wangfang"]
    mine = await followed_by(store, "lihua")
    assert set(mine) == {"g1", "g2"}
    assert mine["g1"].seen_at == T0 == mine["g1"].followed_at

    await mark_seen(store, "g1", "lihua", at=T0 + timedelta(days=2))
    await mark_seen(store, "g1", "lihua", at=T0 + timedelta(days=1))  # an older page
    await mark_seen(store, "g1", "zhaolei", at=T0 + timedelta(days=2))  # not a follower
    assert (await followed_by(store, "lihua"))["g1"].seen_at == T0 + timedelta(days=2)
    assert await followed_by(store, "zhaolei") == {}

    assert await unfollow_similar_case(store, "g1", "lihua") is True
    assert await unfollow_similar_case(store, "g1", "lihua") is False
    assert set(await followed_by(store, "lihua")) == {"g2"}


async def test_two_people_saving_at_once_see_each_other(store: Store) -> None:
    await _track(store)
    first, second = await asyncio.gather(
        update_similar_case(store, "g1", by="lihua", status="following"),
        update_similar_case(store, "g1", by="wangfang", status="governed"),
    )
    # One of them went first from "open"; the other changed the first one's result.
    befores = sorted(c.before or "" for c in [*first, *second])
    assert befores in (["following", "open"], ["governed", "open"])
    record = await get_similar_case(store, "g1")
    assert record is not None
    notes = await similar_case_notes(store, "g1")
    assert [n.text for n in notes][-1] == record.status
    assert len(notes) == 2
