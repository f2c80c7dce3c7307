"""A fresh bus per test: memory, or Kafka on a broker of its own (topics start empty),
its consumers with the quick group settings of ``tests.fixtures.kafka``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from xianban.bus import Bus, make_bus
from xianban.settings import Settings

from .fixtures.kafka import fast_kafka_settings
from .services import require_service


@asynccontextmanager
async def open_bus(kind: str, *, partitions: int = 3) -> AsyncIterator[Bus]:
    if kind == "memory":
        bus = make_bus(Settings(bus="memory", partitions=partitions))
        await bus.start()
        try:
            yield bus
        finally:
            await bus.close()
        return
    from xianban.bus.broker import LocalBroker

    require_service("kafka", LocalBroker.available())
    async with LocalBroker() as broker:
        kafka = fast_kafka_settings(broker.bootstrap)
        bus = make_bus(Settings(bus="kafka", kafka=kafka, partitions=partitions))
        await bus.start()
        try:
            yield bus
        finally:
            await bus.close()
