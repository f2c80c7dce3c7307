"""``xianban worker STAGE``: one stage as a consumer-group member, production style.

Run as many as there are partitions; Kafka splits the partitions among the group's
members. The supervisor is not a consumer: it sweeps on a timer (run one, or several
when sweeps are idempotent, which they are).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time

import structlog

from xianban.bus import Bus
from xianban.errors import ConfigError
from xianban.runtime import Worker, run_until_signalled
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.wiring import load_stage, load_supervisor, open_system

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings, stage_name: str, *, sweep_every_s: float = 60) -> None:
    if settings.bus != "kafka":
        raise ConfigError(
            "xianban worker 只在 Kafka 上运行：设置 XIANBAN_BUS=kafka 和 "
            "XIANBAN_KAFKA__BOOTSTRAP=host:port（一个进程跑全部阶段用 xianban run）"
        )
    if stage_name != "supervisor":
        load_stage(stage_name)  # fail on an unknown name before connecting to anything
    async with open_system(settings) as system:
        if stage_name == "supervisor":
            await _supervise(system.ctx, system.bus, sweep_every_s)
            return
        stage = load_stage(stage_name)(system.ctx)
        await stage.start()
        try:
            client_id = f"{stage_name}@{socket.gethostname()}"
            worker = Worker(stage, system.bus, settings, store=system.store, client_id=client_id)
            await run_until_signalled([worker], started=time.monotonic())
        finally:
            await stage.close()


async def _supervise(ctx: StageContext, bus: Bus, every_s: float) -> None:
    supervisor = load_supervisor()(ctx)
    await supervisor.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            for case in await supervisor.sweep():
                await bus.produce(case.topic, case.to_bytes(), key=case.key())
            await bus.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
    finally:
        await supervisor.close()
