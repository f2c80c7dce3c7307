"""Fixtures shared by every test package: PostgreSQL databases, a Kafka broker."""

from __future__ import annotations

pytest_plugins = ["tests.fixtures.postgres", "tests.fixtures.kafka"]
