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

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    KafkaError,
    KafkaTimeoutError,
    TopicAlreadyExistsError,
    for_code,
)

from xianban.bus.base import Message
from xianban.bus.wire import kafka_partition, key_bytes, topic_name, value_bytes
from xianban.errors import ConfigError, TransientError
from xianban.settings import KafkaSettings

log = structlog.get_logger(__name__)


class KafkaBus:
    def __init__(self, settings: KafkaSettings, *, partitions: int = 3) -> None:
        self.settings = settings
        self.default_partitions = partitions
        self._producer: AIOKafkaProducer | None = None
        self._pending: list[asyncio.Future[Any]] = []
        self._topics: set[str] = set()
        """Topics known to exist, so produce asks the broker only once per topic."""

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap,
            client_id=f"{self.settings.client_id}-producer",
            acks="all",
            linger_ms=self.settings.linger_ms,
            enable_idempotence=self.settings.enable_idempotence,
            request_timeout_ms=self.settings.request_timeout_ms,
            partitioner=kafka_partition,
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
            try:
                await self.flush()
            finally:
                await self._producer.stop()
                self._producer = None

    async def ensure_topics(self, topics: Sequence[str], *, partitions: int) -> None:
        """Create the missing topics; an existing topic keeps its partition count."""
        for topic in topics:
            topic_name(topic)
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.bootstrap,
            client_id=f"{self.settings.client_id}-admin",
            request_timeout_ms=self.settings.request_timeout_ms,
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(name=t, num_partitions=partitions, replication_factor=1)
                for t in topics
                if t not in existing
            ]
            response = await admin.create_topics(wanted) if wanted else None
        except KafkaError as exc:
            raise TransientError(f"could not create topics on Kafka: {exc}") from exc
        finally:
            await admin.close()
        for name, code, *message in response.topic_errors if response else ():
            if code in (0, TopicAlreadyExistsError.errno):
                continue
            error = for_code(code)
            text = f"cannot create topic {name!r}: {error.__name__} {message[0] if message else ''}"
            raise (TransientError if error.retriable else ConfigError)(text)
        self._topics.update(topics)

    async def produce(
        self, topic: str, value: bytes | None, *, key: str | bytes | None, record: object = None
    ) -> None:
        """A topic seen for the first time is created with the bus's partition count, as
        on the memory bus, rather than with whatever the broker's default is. Only the
        bytes travel: ``record`` is for a bus in the consumer's process."""
        if self._producer is None:
            raise RuntimeError("KafkaBus.start() first")
        raw_key, raw_value = key_bytes(key), value_bytes(value)
        if topic not in self._topics:
            await self.ensure_topics([topic], partitions=self.default_partitions)
        try:
            self._pending.append(await self._producer.send(topic, raw_value, key=raw_key))
        except KafkaError as exc:
            raise TransientError(f"produce to {topic} failed: {exc}") from exc

    async def flush(self) -> None:
        """Every outcome is collected, so no failed send is left unretrieved; the first
        failure is raised and the caller does not commit, so the inputs are redelivered."""
        pending, self._pending = self._pending, []
        outcomes = await asyncio.gather(*pending, return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if not failed:
            return
        error = failed[0]
        if isinstance(error, KafkaError):
            raise TransientError(
                f"Kafka did not acknowledge {len(failed)} of {len(pending)} records: {error}"
            ) from error
        raise error

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str = "") -> KafkaConsumer:
        return KafkaConsumer(self, group, list(topics), client_id=client_id)


class KafkaConsumer:
    def __init__(
        self, bus: KafkaBus, group: str, topics: list[str], *, client_id: str = ""
    ) -> None:
        settings = bus.settings
        self.bus = bus
        self.topics = topics
        self._joined = False
        self._next: dict[tuple[str, int], int] = {}
        """Per partition, the offset after the last record fetched."""
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
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
        )

    async def start(self) -> None:
        """Creates missing topics first, as the memory bus does, so a consumer that starts
        before any producer is assigned partitions instead of waiting for metadata."""
        try:
            await self.bus.ensure_topics(self.topics, partitions=self.bus.default_partitions)
            await self._consumer.start()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self._consumer.stop()  # closes what start() opened, warns of nothing
            if isinstance(exc, KafkaError):
                raise TransientError(f"consumer could not join: {exc}") from exc
            raise
        self._joined = True

    async def stop(self) -> None:
        self._joined = False
        await self._consumer.stop()

    async def getmany(self, *, timeout_s: float, max_records: int) -> list[Message]:
        try:
            batches = await self._consumer.getmany(
                timeout_ms=int(timeout_s * 1000), max_records=max_records
            )
        except KafkaError as exc:
            raise TransientError(f"fetch failed: {exc}") from exc
        messages = [
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
        for m in messages:
            self._next[(m.topic, m.partition)] = m.offset + 1
        return messages

    def local_lag(self) -> dict[tuple[str, int], int]:
        out = {}
        for tp in self._consumer.assignment() if self._joined else ():
            end = self._consumer.highwater(tp)
            position = self._next.get((tp.topic, tp.partition))
            if end is not None and position is not None:
                out[(tp.topic, tp.partition)] = max(0, end - position)
        return out

    def assignment(self) -> frozenset[tuple[str, int]]:
        if not self._joined:
            return frozenset()  # aiokafka keeps its last assignment after stop()
        return frozenset((tp.topic, tp.partition) for tp in self._consumer.assignment())

    async def commit(self, messages: Sequence[Message]) -> None:
        owned = self._consumer.assignment()
        offsets: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            if tp in owned:
                offsets[tp] = max(offsets.get(tp, 0), m.offset + 1)
        if not offsets:
            return
        # aiokafka retries some commit errors forever (UnknownTopicOrPartition): bound it.
        timeout_s = self.bus.settings.request_timeout_ms / 1000
        try:
            await asyncio.wait_for(self._consumer.commit(offsets), timeout_s)
        except CommitFailedError as exc:
            # The group rebalanced under us: the new owners get these records again.
            log.warning("bus.commit_lost_to_rebalance", error=str(exc))
        except TimeoutError as exc:
            raise TransientError(f"commit not acknowledged within {timeout_s:g} s") from exc
        except KafkaError as exc:
            raise TransientError(f"commit failed: {exc}") from exc

    async def lag(self) -> int:
        try:
            partitions = [
                TopicPartition(topic, p)
                for topic in self.topics
                for p in sorted(self._consumer.partitions_for_topic(topic) or ())
            ]
            committed = {tp: await self._consumer.committed(tp) or 0 for tp in partitions}
            ends = await high_water_marks(self.bus.settings, committed)
        except KafkaError as exc:
            raise TransientError(f"could not read lag: {exc}") from exc
        return sum(max(0, ends[tp] - committed[tp]) for tp in partitions)


async def high_water_marks(
    settings: KafkaSettings, starts: dict[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """End offsets of every partition, read by a group-less consumer fetching from the
    group's committed offsets. Not ListOffsets: tansu answers ListOffsets(latest) with
    the last batch's base offset + 1, while a fetch response's high-water mark is right
    on both brokers. A fresh consumer per call, so no high-water mark is stale."""
    probe = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        client_id=f"{settings.client_id}-lag",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
        request_timeout_ms=settings.request_timeout_ms,
    )
    await probe.start()
    try:
        probe.assign(list(starts))
        for tp, offset in starts.items():
            probe.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.request_timeout_ms / 1000
        while None in (marks := {tp: probe.highwater(tp) for tp in starts}).values():
            if loop.time() > deadline:
                raise KafkaTimeoutError("no fetch response for the lag probe")
            await probe.getmany(timeout_ms=10)
        return {tp: mark for tp, mark in marks.items() if mark is not None}
    finally:
        await probe.stop()


async def group_lag(
    settings: KafkaSettings, group: str, topics: Sequence[str]
) -> dict[tuple[str, int], int]:
    """Per partition of ``topics``, the records ``group`` has not committed yet, read from
    outside the group: a consumer that names the group but subscribes to nothing fetches
    its committed offsets without joining it (asking must not rebalance the members), then
    the high-water probe. Not the admin client's offset fetch: tansu closes the connection
    on the version aiokafka's admin sends."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        group_id=group,
        client_id=f"{settings.client_id}-lag",
        enable_auto_commit=False,
        request_timeout_ms=settings.request_timeout_ms,
    )
    try:
        await reader.start()
        known = await reader.topics()
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in known
            for p in sorted(reader.partitions_for_topic(topic) or ())
        ]
        committed = {tp: await reader.committed(tp) or 0 for tp in partitions}
    except KafkaError as exc:
        raise TransientError(f"could not read the lag of group {group!r}: {exc}") from exc
    finally:
        await reader.stop()
    try:
        ends = await high_water_marks(settings, committed) if committed else {}
    except KafkaError as exc:
        raise TransientError(f"could not read the lag of group {group!r}: {exc}") from exc
    return {(tp.topic, tp.partition): max(0, ends.get(tp, 0) - committed[tp]) for tp in partitions}
