"""Fixtures shared by every test package: PostgreSQL databases, a Kafka broker.

Under pytest-xdist (``make test`` runs one worker per core) each worker is a session of
its own: it starts its own tansu broker on a free port, and every PostgreSQL database is
created per test under a unique name, so workers share nothing but the server.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.fixtures.postgres", "tests.fixtures.kafka"]

LONGEST_FIRST = (
    "tests/leadfinder/test_train.py",
    "tests/test_loop.py",
    "tests/test_crash_verdicts.py",
    "tests/leadfinder/test_batch_replay.py",
    "tests/test_cli.py::test_run_once_prints_the_summary_as_json",
    "tests/reports/test_run_once.py",
    "tests/leadfinder/test_commands.py",
    "tests/crawlers/test_run_once_sources.py",
    "tests/reports/test_publish.py",
)
"""The tests of half a minute or more (measured serially), longest first: sent out first
under xdist, in this order."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist the longest tests go out first, so the run does not end with one worker
    still in a two-minute test while the other idles; the order is otherwise kept."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: rank(item.nodeid))


def rank(nodeid: str) -> int:
    """The place of a test's entry in ``LONGEST_FIRST``; every other test after them."""
    return next(
        (i for i, prefix in enumerate(LONGEST_FIRST) if nodeid.startswith(prefix)),
        len(LONGEST_FIRST),
    )
