"""uvicorn as a task on the running loop, for the console and the simulators.

uvicorn's ``serve()`` installs its own SIGINT/SIGTERM handlers, which would replace the
worker runtime's graceful-stop handlers; embedded servers leave signals to the owner of
the process and are stopped by ``stop()`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

from xianban.errors import PortInUseError

Lifespan = Literal["auto", "on", "off"]
BACKLOG = 2048
"""Connections the kernel holds for a server that has not accepted them yet (uvicorn's own
default)."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to host:port (0 = a free port) and listening: connections queue
    in its backlog until a server accepts them, in this process or in a child given it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by accepted connections on Linux. Without it, a response written in two
    # parts waits for the client's delayed ACK: ~40 ms per request on keep-alive.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise PortInUseError(host, port, exc.strerror or str(exc)) from None
    return sock


class EmbeddedServer:
    """Serve an ASGI app on host:port (0 = a free port), or on a listening ``sock`` made
    by ``listening_socket``, until ``stop()``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        lifespan: Lifespan = "auto",
        sock: socket.socket | None = None,
    ) -> None:
        self._sock = sock if sock is not None else listening_socket(host, port)
        self.host: str = host if sock is None else sock.getsockname()[0]
        self.port: int = self._sock.getsockname()[1]
        self._server = _Server(
            uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Client connections held open now: a client nobody closed keeps its keep-alive
        connection here until uvicorn's idle timeout (5 s)."""
        return len(self._server.server_state.connections)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self._sock.close()
