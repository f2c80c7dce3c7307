"""The simulators in a child process of their own, for ``xianban run``.

In the loop's own process the simulated platforms' pages and the work-order system's
answers (with its duty judge) were rendered on the event loop the stages run on: ~1.5 s
of ``run --once``'s main thread, counted as the crawler's and the case opener's time. A
child renders them on the other core.

The parent binds the listening socket, so the URL is known at once and a port in use is
its error, and hands it to the child: a request made before the child serves it waits in
the socket's backlog. The child says ``ready`` on stdout once it serves, and exits when
its stdin closes, so a parent killed with -9 leaves no simulator behind.

Child: ``python -m sim.process --fd N [--state-file F] [--auto-advance-s S] [--seed N]
[--corpus-size N] [--anchor ISO]``. Without a state file the work orders live in the child's
memory only (``bench e2e``: writing each change to a file would be counted as the
simulator's cost); without an anchor its world ends now, as ``SimServer``'s does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
from datetime import datetime
from pathlib import Path

from xianban.asgi_server import listening_socket
from xianban.errors import UnavailableError

READY = b"ready\n"
READY_TIMEOUT_S = 60.0
"""How long the child may take to build its corpus and serve (~1 s idle, 3 s at load 8)."""
STOP_TIMEOUT_S = 5.0


class SimProcess:
    """The simulators (``sim.server.SimServer``) served by a child on host:port."""

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_advance_s: float | None = None,
        seed: int = 7,
        corpus_size: int = 3000,
        anchor: datetime | None = None,
    ) -> None:
        self._argv = ["--seed", str(seed)]
        if anchor is not None:
            self._argv += ["--anchor", anchor.isoformat()]
        if state_file is not None:
            self._argv += ["--state-file", str(state_file)]
        self._argv += ["--corpus-size", str(corpus_size)]
        if auto_advance_s is not None:
            self._argv += ["--auto-advance-s", str(auto_advance_s)]
        self._sock = listening_socket(host, port)
        self.url = f"http://{host}:{self._sock.getsockname()[1]}"
        self._proc: asyncio.subprocess.Process | None = None
        self._serving = False

    @property
    def workorder_url(self) -> str:
        return f"{self.url}/workorders"

    async def start(self) -> None:
        """Start the child on the socket; it serves a little later (``ready``)."""
        fd = self._sock.fileno()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "sim.process",
                "--fd",
                str(fd),
                *self._argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                pass_fds=(fd,),
                start_new_session=True,  # a Ctrl-C is the parent's to handle, then stop()
            )
        finally:
            self._sock.close()  # the child's copy serves; if it dies, clients are refused

    async def ready(self, *, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until the child serves (at once once it has); an error naming its exit code
        if it never will."""
        if self._serving:
            return
        assert self._proc is not None and self._proc.stdout is not None, "start() first"
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), timeout_s)
        except TimeoutError:
            why = f"is not ready after {timeout_s} s"
        else:
            if line == READY:
                self._serving = True
                return
            why = f"exited with code {await self._proc.wait()}"
        raise UnavailableError(f"the simulators' process {why} (its error is on stderr)")

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the child's signal to stop
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def __aenter__(self) -> SimProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve(args: argparse.Namespace) -> None:
    """The child: serve the socket it was given until stdin closes."""
    from sim.server import SimServer
    from sim.workorders import WorkOrderSystem

    workorders = WorkOrderSystem(auto_advance_s=args.auto_advance_s, state_file=args.state_file)
    server = SimServer(
        seed=args.seed,
        corpus_size=args.corpus_size,
        workorders=workorders,
        anchor=args.anchor,
        sock=socket.socket(fileno=args.fd),
    )
    await server.start()
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    stdin = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    try:
        await stdin.read()  # EOF: the parent closed it, or died
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sim.process")
    parser.add_argument("--fd", type=int, required=True, help="listening socket to serve")
    parser.add_argument("--state-file", type=Path, default=None)
    parser.add_argument("--auto-advance-s", type=float, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus-size", type=int, default=3000)
    parser.add_argument(
        "--anchor",
        type=datetime.fromisoformat,
        default=None,
        help="where the world's history ends (aware ISO time; default now)",
    )
    asyncio.run(serve(parser.parse_args(argv)))
    sys.stdout.flush()
    sys.stderr.flush()
    # Nothing is left to write (the work orders are saved on each change); tearing the
    # corpus down object by object would keep the parent waiting ~0.5 s more.
    os._exit(0)


if __name__ == "__main__":
    main()
