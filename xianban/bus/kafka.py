"""The bus on Apache Kafka (or a wire-compatible broker) through aiokafka.

Consumers never auto-commit: the runtime commits a batch after its outputs are
acknowledged. aiokafka's errors are translated here into ``TransientError`` so the
runtime's retry and crash policy applies to a broker that is briefly away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from xianban.bus.base import Message
from xianban.errors import TransientError
from xianban.settings import KafkaSettings


def _key(key: str | bytes | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


class KafkaBus:
    def __init__(self, settings: KafkaSettings, *, partitions: int = 3) -> None:
        self.settings = settings
        self.default_partitions = partitions
        self._producer: AIOKafkaProducer | None = None
        self._pending: list[asyncio.Future[Any]] = []

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap,
            client_id=f"{self.settings.client_id}-producer",
            acks="all",
            linger_ms=self.settings.linger_ms,
            enable_idempotence=self.settings.enable_idempotence,
            request_timeout_ms=self.settings.request_timeout_ms,
        )
        try:
            await producer.start()
        except KafkaError as exc:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise TransientError(f"Kafka at {self.settings.bootstrap} unavailable: {exc}") from exc
        self._producer = producer

    async def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(KafkaError):
                await self.flush()
            await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, topics: Sequence[str], *, partitions: int) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.bootstrap, client_id=f"{self.settings.client_id}-admin"
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(name=t, num_partitions=partitions, replication_factor=1)
                for t in topics
                if t not in existing
            ]
            if wanted:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(wanted)
        except KafkaError as exc:
            raise TransientError(f"could not create topics on Kafka: {exc}") from exc
        finally:
            await admin.close()

    async def produce(self, topic: str, value: bytes, *, key: str | bytes | None) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaBus.start() first")
        try:
            self._pending.append(await self._producer.send(topic, value, key=_key(key)))
        except KafkaError as exc:
            raise TransientError(f"produce to {topic} failed: {exc}") from exc

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        try:
            await asyncio.gather(*pending)
        except KafkaError as exc:
            raise TransientError(f"Kafka did not acknowledge a record: {exc}") from exc

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str = "") -> KafkaConsumer:
        return KafkaConsumer(self.settings, group, list(topics), client_id=client_id)


class KafkaConsumer:
    def __init__(
        self, settings: KafkaSettings, group: str, topics: list[str], *, client_id: str = ""
    ) -> None:
        self.topics = topics
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=settings.bootstrap,
            group_id=group,
            client_id=client_id or f"{settings.client_id}-{group}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            request_timeout_ms=settings.request_timeout_ms,
        )

    async def start(self) -> None:
        try:
            await self._consumer.start()
        except KafkaError as exc:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            raise TransientError(f"consumer could not join: {exc}") from exc

    async def stop(self) -> None:
        await self._consumer.stop()

    async def getmany(self, *, timeout_s: float, max_records: int) -> list[Message]:
        try:
            batches = await self._consumer.getmany(
                timeout_ms=int(timeout_s * 1000), max_records=max_records
            )
        except KafkaError as exc:
            raise TransientError(f"fetch failed: {exc}") from exc
        return [
            Message(
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                key=r.key,
                value=r.value,
                headers=tuple((k, bytes(v)) for k, v in r.headers or ()),
            )
            for records in batches.values()
            for r in records
        ]

    async def commit(self, messages: Sequence[Message]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            offsets[tp] = max(offsets.get(tp, 0), m.offset + 1)
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            raise TransientError(f"commit failed: {exc}") from exc

    async def lag(self) -> int:
        """From the high-water marks of the last fetch, not ListOffsets: tansu answers
        ListOffsets(latest) with a batch count rather than an offset when records were
        batched, while the fetch response's high-water mark is right on both brokers."""
        total = 0
        try:
            for tp in self._consumer.assignment():
                high = self._consumer.highwater(tp)
                if high is None:
                    total += 1  # nothing fetched from it yet: not known to be idle
                    continue
                committed = await self._consumer.committed(tp)
                total += max(0, high - (committed or 0))
        except KafkaError as exc:
            raise TransientError(f"could not read lag: {exc}") from exc
        return total
