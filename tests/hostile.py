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
        return Post(platform="fuzz", native_id=n, text=f"{SPARKS} #{n}", created_at=now)
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


def _template(topic: str) -> dict[str, Any]:
    data: dict[str, Any] = valid(topic, "0").model_dump(mode="json")
    return data


def _encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def _bounded_text_fields(topic: str) -> list[str]:
    """Top-level string fields with a length limit: a huge value there is refused."""
    huge = "长" * 100_001
    data = _template(topic)
    return [
        name
        for name, value in data.items()
        if isinstance(value, str) and refused(topic, _encode({**data, name: huge}))
    ]


_BOUNDED = {topic: _bounded_text_fields(topic) for topic in MODELS}
WRONG_VALUES: list[Any] = [[{"?": None}], {"?": [1]}, [], {}, -1, 1.5, True, "", "🦀" * 3]


@st.composite
def hostile(draw: st.DrawFn, topic: str) -> bytes | None:
    """One record the model on ``topic`` refuses, of every kind a consumer can meet."""
    data = _template(topic)
    raw = _encode(data)
    kind = draw(
        st.sampled_from(
            [
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
            ]
        )
    )
    value: bytes | None
    if kind == "null":
        value = None
    elif kind == "empty":
        value = b""
    elif kind == "truncated":
        value = raw[: draw(st.integers(0, len(raw) - 1))]
    elif kind == "invalid_utf8":
        at = draw(st.integers(0, len(raw)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80", b"\xf8\x88"]))
        value = raw[:at] + bad + raw[at:]
    elif kind == "wrong_type":
        name = draw(st.sampled_from(sorted(data)))
        value = _encode({**data, name: draw(st.sampled_from(WRONG_VALUES))})
    elif kind == "missing_field":
        required = [n for n, f in MODELS[topic].model_fields.items() if f.is_required()]
        name = draw(st.sampled_from(required))
        value = _encode({k: v for k, v in data.items() if k != name})
    elif kind == "unknown_field":
        name = draw(st.text(min_size=1, max_size=20).filter(lambda n: n not in data))
        value = _encode({**data, name: draw(st.sampled_from([1, "x", None, [], {}]))})
    elif kind == "future_schema":
        value = _encode({**data, "schema_version": draw(st.integers(2, 2**40))})
    elif kind == "huge_field":
        name = draw(st.sampled_from(_BOUNDED[topic]))
        size = draw(st.integers(100_001, 200_000))  # at most 800 kB: under Kafka's 1 MiB
        value = _encode({**data, name: draw(st.sampled_from("长x🦀")) * size})
    elif kind == "not_an_object":
        value = draw(st.sampled_from([b"[]", b'"post"', b"42", b"null", b"true", b"[{}]"]))
    elif kind == "deep_nesting":
        depth = draw(st.integers(100, 5_000))
        value = b"[" * depth + b"]" * depth
    elif kind == "random_bytes":
        value = draw(st.binary(min_size=1, max_size=300))
    else:
        value = raw.decode().encode("utf-16")
    assume(refused(topic, value))
    return value
