"""The embedded loop: memory bus and SQLite in one process, the simulators in a child.

``run_once`` is ``xianban run --once``: schedule every source once, drain each stage in
pipeline order, sweep supervision, and summarise. ``run_forever`` is ``xianban run``: all
stages as concurrent workers, the scheduler and supervision on timers, and the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog

from sim.process import SimProcess
from xianban import metrics
from xianban.asgi_server import EmbeddedServer
from xianban.bus import LocalBroker
from xianban.runtime import Worker, WorkerStats, run_until_signalled, settle_collector
from xianban.settings import Settings
from xianban.wiring import (
    STAGES,
    System,
    load_stage,
    load_supervisor,
    open_system,
    publisher,
    schedule,
)

log = structlog.get_logger(__name__)


def embedded_settings(settings: Settings) -> Settings:
    """The running embedded loop's own defaults where the settings leave them open
    (``xianban run``, bench e2e): its stages share one process and one core, so the
    leadfinder scores in a child (``extract_in_child``) on the other. Not ``run --once``:
    its few hundred posts take the leadfinder 0.4 s, and the child's start (a fresh
    interpreter importing and loading the extractor while the crawler crawls) was waited
    for 2-4 s after the crawl."""
    if settings.extract_in_child is None:
        return settings.model_copy(update={"extract_in_child": True})
    return settings


@asynccontextmanager
async def embedded_system(settings: Settings) -> AsyncIterator[System]:
    """Start the simulators on localhost (in a child process) and point the settings at
    them, then open. The system comes while the simulators may still be starting (a
    request to them waits in the socket's backlog): ``system.ready()`` waits until they
    serve.

    The simulated work-order system keeps its orders in the data directory, so a second
    run finds the work orders the first one filed, as it would in production. With the
    Kafka bus and no brokers configured, a local broker (tansu) is started for the run.
    """
    async with AsyncExitStack() as stack:
        if settings.bus == "kafka" and not settings.kafka.bootstrap:
            broker = await stack.enter_async_context(LocalBroker())
            kafka = settings.kafka.model_copy(update={"bootstrap": broker.bootstrap})
            settings = settings.model_copy(update={"kafka": kafka})
            log.info("kafka.local_broker", bootstrap=broker.bootstrap)
        sim: SimProcess | None = None
        if settings.sim_url is None or settings.workorder_url is None:
            sim = SimProcess(
                host=settings.sim_host,
                port=settings.sim_port,
                auto_advance_s=120,
                state_file=settings.data_dir / "workorder-sim.json",
            )
            await stack.enter_async_context(sim)
            settings = settings.model_copy(
                update={
                    "sim_url": settings.sim_url or sim.url,
                    "workorder_url": settings.workorder_url or sim.workorder_url,
                }
            )
        system = await stack.enter_async_context(open_system(settings))  # while the sim starts
        if sim is not None:
            system.ready = sim.ready  # the stages are loaded and started in the meantime
        yield system


async def sweep_once(system: System) -> int:
    """One supervision sweep; the changed cases go out on ``cases``."""
    supervisor = load_supervisor()(system.ctx)
    await supervisor.start()
    try:
        changed = await supervisor.sweep()
    finally:
        await supervisor.close()
    publish = publisher(system)
    for case in changed:
        await publish(case)
    await metrics.observe_sla(system.store)
    return len(changed)


OnStage = Callable[[str], None]
"""Told the name of each step of ``run --once`` as it starts (progress for a person)."""


async def run_once(settings: Settings, *, on_stage: OnStage | None = None) -> dict[str, Any]:
    started = time.monotonic()
    async with embedded_system(settings) as system:
        setup = round(time.monotonic() - started, 2)
        summary = await run_pipeline(system, on_stage=on_stage)
    # setup: the simulators, the store and the bus, before the first task is scheduled
    summary["stage_seconds"] = {"setup": setup, **summary["stage_seconds"]}
    return summary | {"elapsed_s": round(time.monotonic() - started, 2)}


async def run_pipeline(system: System, *, on_stage: OnStage | None = None) -> dict[str, Any]:
    """Schedule every source once, drain each stage in order, sweep; count what flowed.

    ``produced`` is what the stages emitted in this run (a post crawled twice counts
    twice); ``stored`` is what the store holds afterwards (deduplicated, earlier runs
    included); ``waiting_for_review`` the clusters in the analysts' queue."""
    step = on_stage or (lambda name: None)
    begun = time.monotonic()
    step("schedule")
    tasks = await schedule(system, once=True)
    totals = WorkerStats()
    seconds: dict[str, float] = {}

    order = ("crawler", "leadfinder", "weak-signals", "verifier", "case-opener", "webhooks")
    stages = {name: load_stage(name)(system.ctx) for name in order}
    # What is loaded by now (modules, configs, the store's engine) lives as long as the
    # run: frozen, full collections stop walking it again and again (0.8 -> 0.3 s of GC)
    gc.freeze()
    # Every stage starts (dictionaries, models, clients) while the simulators start and the
    # crawler crawls.
    starting = {name: asyncio.create_task(stage.start()) for name, stage in stages.items()}

    async def drain(name: str) -> None:
        step(name)
        started = time.monotonic()
        await starting[name]
        worker = Worker(stages[name], system.bus, system.settings, store=system.store)
        stats = await worker.run(until_idle=True)
        totals.dead += stats.dead
        for topic, n in stats.produced.items():
            totals.produced[topic] = totals.produced.get(topic, 0) + n
        seconds[name] = round(time.monotonic() - started, 2)

    try:
        await system.ready()  # the simulators, started with the system, serve by now
        # start: the tasks scheduled, the stages loaded, the simulators waited for
        seconds["start"] = round(time.monotonic() - begun, 2)
        await drain("crawler")
        # The stages loaded while the crawler crawled (dictionaries, automata, the model):
        # they too live as long as the run, frozen with the rest.
        await asyncio.gather(*starting.values())
        settle_collector()
        for name in order[1:-1]:
            await drain(name)
        step("supervisor")
        started = time.monotonic()
        swept = await sweep_once(system)
        seconds["supervisor"] = round(time.monotonic() - started, 2)
        await drain("webhooks")  # last: it also reads the cases supervision changed
    finally:
        await asyncio.gather(*starting.values(), return_exceptions=True)
        for name, stage in stages.items():
            if not starting[name].cancelled() and starting[name].exception() is None:
                await stage.close()
    from case_opener.figures import duplicate_cases, routing_figures
    from crawlers.summary import crawl_summary
    from xianban.store.listing import review_page

    crawler = stages["crawler"]
    crawled = crawl_summary(getattr(crawler, "tally", {}), getattr(crawler, "sources", {}))
    routing = await routing_figures(system.store)
    stored = await system.store.counts()
    produced = {t: totals.produced.get(t, 0) for t in ("posts", "leads", "verdicts", "cases")}
    return {
        "first_time_routing": routing.pop("first_time_routing"),
        "duplicate_cases": await duplicate_cases(system.settings.workorder_url),
        "routing": routing,
        "tasks": len(tasks),
        "posts": totals.produced.get("posts", 0),
        "leads": totals.produced.get("leads", 0),
        "verdicts": totals.produced.get("verdicts", 0),
        "cases": totals.produced.get("cases", 0),
        "dlq": totals.dead,
        "cases_updated_by_supervision": swept,
        "store": stored,
        "produced": produced,
        "stored": stored,
        "waiting_for_review": (await review_page(system.store, per_page=1)).total,
        "stage_seconds": seconds,
        "sources": crawled,
    }


async def _every(seconds: float, job: Callable[[], Awaitable[Any]], name: str) -> None:
    while True:
        try:
            await job()
        except Exception:
            log.exception("periodic.failed", job=name)
        await asyncio.sleep(seconds)


async def run_forever(
    settings: Settings, *, schedule_every_s: float = 300, sweep_every_s: float = 60
) -> None:
    from console.app import create_app

    started = time.monotonic()
    async with embedded_system(embedded_settings(settings)) as system:
        await system.ready()
        workers = []
        for name in STAGES:
            stage = load_stage(name)(system.ctx)
            await stage.start()
            workers.append(Worker(stage, system.bus, system.settings, store=system.store))
        settle_collector()  # what start-up loaded lives as long as the process (see run_pipeline)
        app = create_app(store=system.store, publish=publisher(system), settings=system.settings)
        console = EmbeddedServer(app, host=settings.console_host, port=settings.console_port)
        await console.start()
        timers = [
            asyncio.create_task(_every(schedule_every_s, lambda: schedule(system), "schedule")),
            asyncio.create_task(_every(sweep_every_s, lambda: sweep_once(system), "sweep")),
        ]
        log.info(
            "xianban.running",
            console=f"http://{settings.console_host}:{settings.console_port}",
            sim=system.settings.sim_url,
        )
        try:
            await run_until_signalled(workers, started=started)
        finally:
            for task in timers:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for worker in workers:
                await worker.stage.close()
            await console.stop()
