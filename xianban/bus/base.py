"""The bus seam: produce with a key, consume as a member of a group, commit after handling.

Two implementations honour the same contract (tests/bus/ runs one suite on both):
``MemoryBus`` (in-process asyncio topics with partitions and groups) and ``KafkaBus``
(aiokafka). Delivery is at-least-once: a record is redelivered to the group until a member
commits past it, so every stage must be idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    """One record as read from a topic partition."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    """``None`` is a null value (a Kafka tombstone): any client may send one."""
    headers: tuple[tuple[str, bytes], ...] = field(default=())
    decoded: object | None = field(default=None, compare=False, repr=False)
    """The record ``value`` encodes, as its producer passed it (``produce``'s ``record``):
    an in-process bus hands it along, so a consumer in the same process need not decode
    the bytes again. ``None`` from Kafka and for bytes produced alone: the consumer
    decodes ``value`` (and what does not decode is a dead letter)."""


class Consumer(Protocol):
    """A member of a consumer group. Partitions are split among the group's live members."""

    async def start(self) -> None: ...

    async def getmany(self, *, timeout_s: float, max_records: int) -> list[Message]:
        """Records from the assigned partitions, in offset order per partition."""
        ...

    async def commit(self, messages: Sequence[Message]) -> None:
        """Mark these messages (and everything before them on their partitions) handled.

        Messages of partitions a rebalance has taken away are not committed: their next
        owner receives them again, which at-least-once delivery allows.
        """
        ...

    def assignment(self) -> frozenset[tuple[str, int]]:
        """The (topic, partition) pairs this member owns now; empty while not in the group.
        Operators read it to see which worker holds which source's tasks."""
        ...

    def local_lag(self) -> dict[tuple[str, int], int]:
        """Records not yet fetched on each partition this member owns, from what the
        last fetches said (no request): what the consumer-lag gauge shows."""
        ...

    async def lag(self) -> int:
        """Records of the group's topics not yet committed by the group, over all
        partitions whoever owns them, so "lag 0" means the whole group is drained."""
        ...

    async def stop(self) -> None:
        """Leave the group without committing; uncommitted records go to another member."""
        ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ensure_topics(self, topics: Sequence[str], *, partitions: int) -> None: ...

    async def produce(
        self, topic: str, value: bytes | None, *, key: str | bytes | None, record: object = None
    ) -> None:
        """Send one record; records with the same key keep their order (same partition).
        ``value=None`` sends a null value (a tombstone), as any Kafka client can.
        ``record``: the record ``value`` is the encoding of, when the producer has it
        (``Message.decoded``; only a bus in this process can hand it on)."""
        ...

    async def flush(self) -> None:
        """Wait until everything produced so far is acknowledged."""
        ...

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str = "") -> Consumer: ...
