"""Temporary: the bus fixtures, until the root conftest lists ``tests.fixtures.kafka`` in
``pytest_plugins`` (pytest refuses ``pytest_plugins`` outside the root conftest)."""

from __future__ import annotations

from tests.fixtures.kafka import bus, bus_settings, kafka_broker, topic_prefix

__all__ = ["bus", "bus_settings", "kafka_broker", "topic_prefix"]
