"""``xianban worker STAGE``: one stage as a consumer-group member, production style.

Run as many as there are partitions; Kafka splits the partitions among the group's
members. The supervisor is not a consumer: it sweeps on a timer (run one, or several
when sweeps are idempotent, which they are). Nor is the scheduler: it puts due crawl
tasks on ``crawl.tasks`` every ``schedule_every_s``; start it on two machines and the
store's lease lets one schedule while the other stands by. The console is no consumer
either: it serves the analysts' pages and the ticket API on the store, and publishes
their decisions on the bus (``xianban fleet`` starts it beside the workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time

import structlog

from xianban import metrics
from xianban.bus import Bus
from xianban.errors import ConfigError
from xianban.runtime import Worker, run_until_signalled, settle_collector
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.wiring import System, load_stage, load_supervisor, open_system, publisher

log = structlog.get_logger(__name__)


async def run_worker(
    settings: Settings, stage_name: str, *, sweep_every_s: float = 60, once: bool = False
) -> None:
    """Run until SIGTERM/SIGINT; ``once`` (cron, systemd timers): the scheduler ticks once,
    the supervisor sweeps once, a stage drains its group's lag, then each exits."""
    if settings.bus != "kafka":
        raise ConfigError(
            "xianban worker 只在 Kafka 上运行：设置 XIANBAN_BUS=kafka 和 "
            "XIANBAN_KAFKA__BOOTSTRAP=host:port（一个进程跑全部阶段用 xianban run）"
        )
    if stage_name not in ("supervisor", "scheduler", "console"):
        load_stage(stage_name)  # fail on an unknown name before connecting to anything
    if settings.metrics_port is not None:
        metrics.serve(settings.metrics_port, settings.metrics_host)
    async with open_system(settings) as system:
        if stage_name == "supervisor":
            await _supervise(system.ctx, system.bus, sweep_every_s, once=once)
            return
        if stage_name == "scheduler":
            await _schedule(system.ctx, system.bus, once=once)
            return
        if stage_name == "console":
            await _serve_console(system)
            return
        stage = load_stage(stage_name)(system.ctx)
        await stage.start()
        # What start-up loaded (dictionaries, automata, the model, clients) lives as long as
        # the process: frozen, full collections stop walking it again and again (a
        # leadfinder worker spent 0.19 s of a 2,000-post burst's 1.3 s of CPU collecting
        # without it, 0.04 s with it); and the young generation collected less often.
        settle_collector()
        try:
            client_id = f"{stage_name}@{socket.gethostname()}"
            worker = Worker(stage, system.bus, settings, store=system.store, client_id=client_id)
            if once:
                await worker.run(until_idle=True)
            else:
                await run_until_signalled([worker], started=time.monotonic())
        finally:
            await stage.close()


def _until_signalled() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _schedule(ctx: StageContext, bus: Bus, *, once: bool) -> None:
    from crawlers.scheduler import Scheduler
    from crawlers.sources import load_sources

    settings = ctx.settings
    scheduler = Scheduler(
        ctx.store,
        bus,
        load_sources(settings.configs_dir).values(),
        holder=f"scheduler@{socket.gethostname()}:{os.getpid()}",
        lease_s=settings.schedule_lease_s,
    )
    log.info("scheduler.started", holder=scheduler.holder, every_s=settings.schedule_every_s)
    if once:
        try:
            await scheduler.tick()
        finally:
            await scheduler.release()
        return
    await scheduler.run(every_s=settings.schedule_every_s, stop=_until_signalled())


async def _serve_console(system: System) -> None:
    from console.app import create_app
    from xianban.asgi_server import EmbeddedServer

    settings = system.settings
    app = create_app(store=system.store, publish=publisher(system), settings=settings)
    server = EmbeddedServer(app, host=settings.console_host, port=settings.console_port)
    await server.start()
    log.info("console.serving", url=server.url)
    try:
        await _until_signalled().wait()
    finally:
        await server.stop()


async def _supervise(ctx: StageContext, bus: Bus, every_s: float, *, once: bool) -> None:
    supervisor = load_supervisor()(ctx)
    await supervisor.start()
    stop = _until_signalled()
    try:
        while not stop.is_set():
            for case in await supervisor.sweep():
                await bus.produce(case.topic, case.to_bytes(), key=case.key())
            await bus.flush()
            await metrics.observe_sla(ctx.store)
            if once:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
    finally:
        await supervisor.close()
