"""Kafka only: the broker goes away and comes back (a fresh, empty tansu on the same port).

tansu keeps nothing across a restart, so this is about clients reconnecting and about
clear errors while the broker is away, not about durability (see KAFKA.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.fixtures.kafka import fast_kafka_settings
from tests.services import require_service
from xianban.bus import KafkaBus, LocalBroker
from xianban.errors import TransientError
from xianban.settings import KafkaSettings

from .traffic import numbered, produce_all, take, values


@pytest.fixture
async def own_broker() -> AsyncIterator[LocalBroker]:
    """A broker this test may stop and restart, unlike the session's shared one."""
    require_service("Kafka (tansu)", LocalBroker.available())
    async with LocalBroker() as broker:
        yield broker


async def test_clients_reconnect_after_a_broker_restart(
    own_broker: LocalBroker, topic_prefix: str
) -> None:
    posts, in_flight = f"{topic_prefix}posts", f"{topic_prefix}in-flight"
    bus = KafkaBus(fast_kafka_settings(own_broker.bootstrap), partitions=3)
    await bus.start()
    consumer = bus.consumer(f"{topic_prefix}leadfinder", [posts])
    try:
        before = numbered(30)
        await produce_all(bus, posts, before)
        await produce_all(bus, in_flight, numbered(1))
        await consumer.start()
        got = await take(consumer, len(before), commit=True)
        assert sorted(values(got)) == sorted(v for _, v in before)

        await own_broker.stop()
        sending = asyncio.create_task(produce_all(bus, in_flight, numbered(20)))
        await asyncio.sleep(0.5)  # the producer meets the closed port before the restart
        await own_broker.start()
        await sending  # acknowledged: the producer retried instead of failing or dropping

        # A real broker keeps its topics; the fresh tansu gets them back as at start-up.
        await bus.ensure_topics([posts], partitions=3)
        # The ten keys of ``before``, two records each: every partition ends below the
        # consumer's old position, so its next fetch is out of range and it rewinds to the
        # fresh log's start. With more keys a partition could catch up with that position
        # before the first fetch, and the consumer would skip the records below it.
        after = [(f"k{i % 10}", f"after-{i}".encode()) for i in range(20)]
        await produce_all(bus, posts, after)
        got = await take(consumer, len(after), commit=True)
        assert sorted(values(got)) == sorted(v for _, v in after)
        assert await consumer.lag() == 0
    finally:
        await consumer.stop()
        await bus.close()


async def test_a_missing_broker_is_a_transient_error() -> None:
    require_service("Kafka (tansu)", LocalBroker.available())
    nobody = LocalBroker()  # a free port with nothing listening
    bus = KafkaBus(KafkaSettings(bootstrap=nobody.bootstrap, request_timeout_ms=1_000))
    with pytest.raises(TransientError, match="unavailable"):
        await bus.start()


async def test_produce_while_the_broker_is_away_fails_clearly(
    own_broker: LocalBroker, topic_prefix: str
) -> None:
    bus = KafkaBus(
        KafkaSettings(bootstrap=own_broker.bootstrap, request_timeout_ms=1_000), partitions=3
    )
    await bus.start()
    try:
        await produce_all(bus, f"{topic_prefix}cases", numbered(3))
        await own_broker.stop()
        with pytest.raises(TransientError):
            await produce_all(bus, f"{topic_prefix}cases", numbered(3))
    finally:
        await bus.close()
