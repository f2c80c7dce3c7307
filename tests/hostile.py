"""Hostile records for every stage's topic: hypothesis strategies and valid neighbours.

Every strategy here yields bytes (or ``None``, a null value) that the topic's model
refuses; the oracle (``refused``) is checked inside the strategy, so a mutation that
happens to stay valid is never counted as a bad record.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from xianban.records import (
    Case,
    CrawlTask,
    Lead,
    Post,
    Record,
    RecordError,
    Verdict,
    utcnow,
)

SPARKS = "龙华区民治街道白石龙社区门口的路灯底座一直在冒火花，小孩天天从旁边走过，有没有人管啊"
MANHOLE = "南山区蛇口街道海上世界门口的井盖丢了好几天，晚上路过的人很容易踩空，有没有人管啊"
"""What the valid posts report: another problem than the valid leads' and verdicts'. A post
copying a lead joins that lead's cluster (whatever its category and place), and the
lead's cluster would then get a verdict per post, not one."""
MODELS: dict[str, type[Record]] = {m.topic: m for m in (CrawlTask, Post, Lead, Verdict, Case)}
"""Each consumer stage's input topic and the record it expects there."""
CRAWL_SOURCE = "sznews-rss"
"""A real source the crawler can crawl against the simulator (a feed: one fetch)."""


def lead(n: str, *, cluster: str | None = None) -> Lead:
    return Lead(
        lead_id=f"fz{n}",
        cluster_id=cluster or f"fz-c{n}",
        post_ids=[f"fuzz:{n}"],
        platform="fuzz",
        text=SPARKS,
        category="municipal_facilities",
        urgent=True,
        score=0.97,
        reasons=["fuzz"],
    )


def valid(topic: str, n: str) -> Record:
    """A record the stage on ``topic`` handles normally; ``n`` makes its ids unique."""
    now = utcnow()
    if topic == CrawlTask.topic:
        return CrawlTask(task_id=f"fuzz-{n}", source=CRAWL_SOURCE, pages=1)
    if topic == Post.topic:
        return Post(platform="fuzz", native_id=n, text=f"{MANHOLE} #{n}", created_at=now)
    if topic == Lead.topic:
        return lead(n)
    if topic == Verdict.topic:
        made = lead(n, cluster=f"fz-v{n}")
        return Verdict(
            verdict_id=f"fz-v{n}",
            cluster_id=made.cluster_id,
            lead=made,
            decision="confirmed",
            by="rule:fuzz",
            reason="fuzz",
        )
    return Case(
        case_id=f"XB-FUZZ{n}",
        cluster_id=f"fz-k{n}",
        department="区城管局",
        category="municipal_facilities",
        priority="ordinary",
        title="【一般】路灯问题",
        description=SPARKS,
        post_ids=[f"fuzz:{n}"],
        opened_at=now,
        dispatch_due=now + timedelta(hours=2),
    )


def refused(topic: str, raw: bytes | None) -> bool:
    try:
        MODELS[topic].from_bytes(raw)
    except RecordError:
        return True
    return False


def _encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def _bounded_text_fields(topic: str) -> list[str]:
    """Top-level string fields with a length limit: a huge value there is refused."""
    huge = "长" * 100_001
    data = _TEMPLATES[topic]
    return [
        name
        for name, value in data.items()
        if isinstance(value, str) and refused(topic, _encode({**data, name: huge}))
    ]


_TEMPLATES: dict[str, dict[str, Any]] = {
    topic: valid(topic, "0").model_dump(mode="json") for topic in MODELS
}
_RAW = {topic: _encode(data) for topic, data in _TEMPLATES.items()}
_BOUNDED = {topic: _bounded_text_fields(topic) for topic in MODELS}
WRONG_VALUES: list[Any] = [[{"?": None}], {"?": [1]}, [], {}, -1, 1.5, True, "", "🦀" * 3]


KINDS = (
    "null",
    "empty",
    "truncated",
    "invalid_utf8",
    "wrong_type",
    "missing_field",
    "unknown_field",
    "future_schema",
    "huge_field",
    "not_an_object",
    "deep_nesting",
    "random_bytes",
    "utf16",
)


class _Draws:
    """The strategies ``hostile`` draws from, built once per topic: thousands of records
    are drawn per run, and a strategy built per draw is validated and labelled anew."""

    kind = st.sampled_from(KINDS)
    bad_utf8 = st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80", b"\xf8\x88"])
    unknown_value: st.SearchStrategy[Any] = st.sampled_from([1, "x", None, [], {}])
    future = st.integers(2, 2**40)
    one_in_ten = st.integers(0, 9)
    wide_char = st.sampled_from("长🦀")
    wide_size = st.integers(100_001, 200_000)
    ascii_size = st.integers(100_001, 100_064)
    not_an_object = st.sampled_from([b"[]", b'"post"', b"42", b"null", b"true", b"[{}]"])
    depth = st.integers(100, 5_000)
    random_bytes = st.binary(min_size=1, max_size=300)

    def __init__(self, topic: str) -> None:
        data = _TEMPLATES[topic]
        raw = _RAW[topic]
        self.cut = st.integers(0, len(raw) - 1)
        self.at = st.integers(0, len(raw))
        # Only the (field, value) pairs the model refuses: one pair it accepts (an empty
        # string for a free-text field) would make hypothesis throw the whole example away.
        wrong = [
            (name, value)
            for name in sorted(data)
            for value in WRONG_VALUES
            if refused(topic, _encode({**data, name: value}))
        ]
        self.wrong_type = st.sampled_from(wrong)
        required = [n for n, f in MODELS[topic].model_fields.items() if f.is_required()]
        self.required = st.sampled_from(required)
        self.unknown = st.text(min_size=1, max_size=20).filter(lambda n: n not in data)
        self.bounded = st.sampled_from(_BOUNDED[topic])


_DRAWS = {topic: _Draws(topic) for topic in MODELS}


@st.composite
def hostile(draw: st.DrawFn, topic: str) -> bytes | None:
    """One record the model on ``topic`` refuses, of every kind a consumer can meet."""
    data = _TEMPLATES[topic]
    raw = _RAW[topic]
    d = _DRAWS[topic]
    kind = draw(d.kind)
    value: bytes | None
    if kind == "null":
        value = None
    elif kind == "empty":
        value = b""
    elif kind == "truncated":
        value = raw[: draw(d.cut)]
    elif kind == "invalid_utf8":
        at = draw(d.at)
        value = raw[:at] + draw(d.bad_utf8) + raw[at:]
    elif kind == "wrong_type":
        name, wrong = draw(d.wrong_type)
        value = _encode({**data, name: wrong})
    elif kind == "missing_field":
        name = draw(d.required)
        value = _encode({k: v for k, v in data.items() if k != name})
    elif kind == "unknown_field":
        value = _encode({**data, draw(d.unknown): draw(d.unknown_value)})
    elif kind == "future_schema":
        value = _encode({**data, "schema_version": draw(d.future)})
    elif kind == "huge_field":
        name = draw(d.bounded)
        # Mostly ASCII just over the limit (hundreds of these go through each run); one in
        # ten wide characters up to twice it, at most 800 kB: under Kafka's 1 MiB.
        if draw(d.one_in_ten) == 0:
            char, size = draw(d.wide_char), draw(d.wide_size)
        else:
            char, size = "x", draw(d.ascii_size)
        value = _encode({**data, name: char * size})
    elif kind == "not_an_object":
        value = draw(d.not_an_object)
    elif kind == "deep_nesting":
        depth = draw(d.depth)
        value = b"[" * depth + b"]" * depth
    elif kind == "random_bytes":
        value = draw(d.random_bytes)
    else:
        value = raw.decode().encode("utf-16")
    assume(refused(topic, value))
    return value
