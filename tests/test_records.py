from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from xianban.records import (
    CATEGORIES,
    Case,
    CaseEvent,
    CrawlTask,
    DeadLetter,
    Geo,
    Lead,
    Post,
    RecordError,
    Verdict,
    stable_id,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def make_lead(**over: object) -> Lead:
    data: dict[str, object] = {
        "lead_id": "l1",
        "cluster_id": "c1",
        "post_ids": ["weibo:1"],
        "platform": "weibo",
        "text": "龙华民治路灯冒火花",
        "category": "municipal_facilities",
        "urgent": True,
        "geo": Geo(district="龙华区", street="民治街道"),
        "score": 0.9,
    }
    data.update(over)
    return Lead.model_validate(data)


def test_every_record_round_trips_as_json() -> None:
    lead = make_lead()
    records = [
        CrawlTask(task_id="t1", source="weibo", query="路灯"),
        Post(platform="weibo", native_id="1", text="路灯坏了", created_at=NOW),
        lead,
        Verdict(
            verdict_id="v1",
            cluster_id="c1",
            lead=lead,
            decision="confirmed",
            by="rule:x",
            reason="r",
        ),
        Case(
            case_id="XB-1",
            cluster_id="c1",
            department="龙华区城市管理和综合执法局",
            category="municipal_facilities",
            priority="urgent",
            title="t",
            description="d",
            post_ids=["weibo:1"],
            opened_at=NOW,
            dispatch_due=NOW,
            history=[CaseEvent(at=NOW, status="pending")],
        ),
        DeadLetter.for_bytes(
            stage="s", source_topic="posts", original=b"\xff{", reason="bad", error_type="E"
        ),
    ]
    for record in records:
        raw = record.to_bytes()
        assert json.loads(raw)["schema_version"] == 1
        assert type(record).from_bytes(raw) == record


def test_a_comment_names_the_post_it_answers_and_old_posts_still_decode() -> None:
    comment = Post(platform="douyin", native_id="c1", text="同问", reply_to="douyin:73")
    assert Post.from_bytes(comment.to_bytes()).reply_to == "douyin:73"
    letter = Post(platform="liuyan", native_id="9", text="x", addressed_to="深圳市长")
    assert Post.from_bytes(letter.to_bytes()).addressed_to == "深圳市长"
    old = json.loads(Post(platform="weibo", native_id="1", text="x").to_bytes())
    del old["reply_to"], old["addressed_to"]
    assert Post.from_bytes(json.dumps(old)).reply_to is None


def test_keys_are_natural_ids() -> None:
    post = Post(platform="douyin", native_id="73", text="x")
    assert post.post_id == "douyin:73" == post.key()
    assert CrawlTask(task_id="t", source="zhihu").key() == "zhihu"
    assert make_lead(cluster_id="c9").key() == "c9"


def test_validation_errors_name_the_field() -> None:
    with pytest.raises(RecordError) as err:
        Post.from_bytes(b'{"platform": "weibo", "text": 5}')
    message = str(err.value)
    assert "native_id: Field required" in message
    assert "text: Input should be a valid string" in message


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"platform": "weibo", "native_id": "1", "text": "x", "surprise": 1}',
        b'{"platform": "weibo", "native_id": "1", "text": "x", '
        b'"created_at": "2026-11-22T10:00:00"}',
        b'{"platform": "weibo", "native_id": "1", "text": "x", "schema_version": 2}',
        b'{"platform": "", "native_id": "1", "text": "x"}',
    ],
    ids=["not-json", "unknown-field", "naive-datetime", "future-schema", "empty-platform"],
)
def test_malformed_posts_are_rejected(raw: bytes) -> None:
    with pytest.raises(RecordError):
        Post.from_bytes(raw)


def test_lead_rejects_unknown_category_and_bad_score() -> None:
    with pytest.raises(RecordError, match="category"):
        Lead.from_dict(make_lead().model_dump() | {"category": "aliens"})
    with pytest.raises(RecordError, match="score"):
        Lead.from_dict(make_lead().model_dump() | {"score": 1.5})
    assert len(CATEGORIES) == 18


def test_dead_letter_keeps_original_bytes_exactly() -> None:
    original = bytes(range(256))
    letter = DeadLetter.for_bytes(
        stage="leadfinder", source_topic="posts", original=original, reason="r", error_type="E"
    )
    assert DeadLetter.from_bytes(letter.to_bytes()).original == original


def test_a_null_value_is_a_record_error_and_its_dead_letter_says_null() -> None:
    with pytest.raises(RecordError, match="null value"):
        Post.from_bytes(None)
    with pytest.raises(RecordError, match="empty value"):
        Post.from_bytes(b"")
    letter = DeadLetter.for_bytes(
        stage="leadfinder", source_topic="posts", original=None, reason="r", error_type="E"
    )
    back = DeadLetter.from_bytes(letter.to_bytes())
    assert back.null_value and back.original == b"" and back.original_size is None
    empty = DeadLetter.for_bytes(
        stage="leadfinder", source_topic="posts", original=b"", reason="r", error_type="E"
    )
    assert not empty.null_value and empty.original_size == 0


def test_a_dead_letter_too_big_for_the_bus_is_cut_there_not_in_the_store() -> None:
    original = bytes(range(256)) * 4_000
    letter = DeadLetter.for_bytes(
        stage="leadfinder",
        source_topic="posts",
        original=original,
        reason="原因" * 5_000,
        error_type="RecordError",
        key="k" * 10_000,
    )
    assert len(letter.reason) == DeadLetter.MAX_REASON and letter.record_key
    assert len(letter.record_key) == DeadLetter.MAX_KEY
    assert letter.original == original and not letter.truncated
    cut = letter.for_bus(200_000)
    assert cut.truncated and len(cut.to_bytes()) <= 200_000
    assert original.startswith(cut.original) and len(cut.original) > 100_000
    assert cut.original_size == len(original)
    assert letter.for_bus(2_000_000) is letter


def test_stable_id_is_deterministic_and_separates_parts() -> None:
    assert stable_id("a", "b") == stable_id("a", "b")
    assert stable_id("ab", "c") != stable_id("a", "bc")


def test_a_record_written_twice_is_serialised_once_and_a_copy_afresh() -> None:
    from xianban.store.engine import dump_json

    lead = make_lead()
    stored = dump_json(lead)  # the store's JSON column, then the bus
    assert lead.to_bytes() == stored.encode() == lead.model_dump_json().encode()
    assert lead.json_text() is stored
    moved = lead.model_copy(update={"cluster_id": "c2"})
    assert json.loads(moved.to_bytes())["cluster_id"] == "c2"
    assert json.loads(lead.to_bytes())["cluster_id"] == "c1"
    from xianban import records

    more = records._WRITTEN_MAX + 100  # more than are remembered
    many = [make_lead(lead_id=f"l{i}") for i in range(more)]
    assert [json.loads(x.to_bytes())["lead_id"] for x in many] == [x.lead_id for x in many]
    assert json.loads(many[0].to_bytes())["lead_id"] == "l0"
    held = records._WRITTEN.values()
    assert len(held) <= records._WRITTEN_MAX
    assert records._written_chars == sum(len(text) for _, text in held)


def test_the_json_remembered_stays_within_its_budget() -> None:
    from xianban import records

    long = "长" * (records._WRITTEN_CHARS // 2)  # JSON short enough to be held
    count = 2 * records._WRITTEN_BUDGET // len(long)  # twice the budget in all
    posts = [
        Post(platform="weibo", native_id=f"n{i}", text=long, created_at=NOW) for i in range(count)
    ]
    texts = [p.json_text() for p in posts]
    assert records._written_chars <= records._WRITTEN_BUDGET
    assert records._WRITTEN.get(id(posts[-1]), (None,))[0] is posts[-1]
    assert id(posts[0]) not in records._WRITTEN
    assert records._written_chars == sum(len(text) for _, text in records._WRITTEN.values())
    assert [p.json_text() for p in posts] == texts  # the ones let go are made again
