"""Producing and polling for the bus tests: the same few moves on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from xianban.bus import Bus, Consumer, Message

DEADLINE_S = 60.0
"""Only stops a broken bus from hanging the run; nothing asserts speed."""


async def produce_all(bus: Bus, topic: str, items: Sequence[tuple[str, bytes | None]]) -> None:
    for key, value in items:
        await bus.produce(topic, value, key=key)
    await bus.flush()


async def take(consumer: Consumer, count: int, *, commit: bool) -> list[Message]:
    """Poll until ``count`` records arrived (failing after a generous deadline)."""
    got: list[Message] = []

    async def poll() -> None:
        while len(got) < count:
            batch = await consumer.getmany(timeout_s=0.2, max_records=500)
            got.extend(batch)
            if commit:
                await consumer.commit(batch)

    try:
        await asyncio.wait_for(poll(), DEADLINE_S)
    except TimeoutError:
        raise AssertionError(f"only {len(got)} of {count} records arrived") from None
    return got


def values(messages: Sequence[Message]) -> list[bytes]:
    """The values of records that have one (a null value here is a test's mistake)."""
    out = []
    for m in messages:
        assert m.value is not None, m
        out.append(m.value)
    return out


def numbered(n: int, keys: int = 10) -> list[tuple[str, bytes]]:
    return [(f"k{i % keys}", f"v{i}".encode()) for i in range(n)]
