"""The only place that knows every stage: the registry and how a system is assembled.

Stages are named by ``"module:Class"`` strings and imported only when used (faust's
driver table, Scrapy's spider loader), so a broken import in one stage cannot take the
others down, and ``xianban worker verifier`` never imports the crawler.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from xianban.bus import Bus, make_bus
from xianban.errors import BrokerUnavailableError, ConfigError, TransientError
from xianban.records import Case, CrawlTask, DeadLetter, Lead, Post, Record, ScoredPost, Verdict
from xianban.settings import Settings
from xianban.stage import StageContext, StageFactory
from xianban.store import Store

STAGES: dict[str, str] = {
    "crawler": "crawlers.stage:CrawlerStage",
    "leadfinder": "leadfinder.stage:LeadfinderStage",
    "weak-signals": "verifier.weak_signals:WeakSignalStage",
    "verifier": "verifier.stage:VerifierStage",
    "case-opener": "case_opener.stage:CaseOpenerStage",
    "webhooks": "console.webhooks:WebhookStage",
}
"""Consumer stages in pipeline order; each reads one topic and writes the next (the
webhook dispatcher reads ``cases`` and writes nothing back)."""

SUPERVISOR = "case_opener.supervision:Supervisor"
TOPICS = tuple(r.topic for r in (CrawlTask, Post, ScoredPost, Lead, Verdict, Case, DeadLetter))


def load_stage(name: str) -> StageFactory:
    """The stage class registered under ``name``; a clear error for unknown names."""
    try:
        target = STAGES[name]
    except KeyError:
        known = ", ".join([*STAGES, "supervisor"])
        raise ConfigError(f"unknown stage {name!r}; known stages: {known}") from None
    factory: StageFactory = _import(target)
    return factory


def _import(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def load_supervisor() -> Any:
    return _import(SUPERVISOR)


async def _serving() -> None:
    """Nothing to wait for: the outside world was there before the system."""


@dataclass
class System:
    """Everything a running loop shares: settings, store, bus and the stage context."""

    settings: Settings
    store: Store
    bus: Bus
    ready: Callable[[], Awaitable[None]] = _serving
    """Waits until the outside world the loop calls serves (the embedded simulators start
    beside the system); awaited before the first crawl."""

    @property
    def ctx(self) -> StageContext:
        return StageContext(settings=self.settings, store=self.store)


@asynccontextmanager
async def open_system(settings: Settings) -> AsyncIterator[System]:
    """Open the store and the bus (creating the topics), and close both on exit."""
    async with AsyncExitStack() as stack:
        store = await Store.open(settings.db_url)
        stack.push_async_callback(store.close)
        bus = make_bus(settings)
        try:
            await bus.start()
        except TransientError as exc:
            raise BrokerUnavailableError(str(exc)) from exc
        stack.push_async_callback(bus.close)
        await bus.ensure_topics(TOPICS, partitions=settings.partitions)
        yield System(settings=settings, store=store, bus=bus)


def publisher(system: System) -> Callable[[Record], Awaitable[None]]:
    """Publish one record and wait for the bus to take it (the console's decisions)."""

    async def publish(record: Record) -> None:
        await system.bus.produce(record.topic, record.to_bytes(), key=record.key())
        await system.bus.flush()

    return publish


async def schedule(system: System, *, once: bool = False) -> list[CrawlTask]:
    """Put the due crawl tasks on ``crawl.tasks``: sources neither paused by ops nor resting
    after refusals; ``once`` (``run --once``) ignores when each last ran."""
    from crawlers.scheduler import due_tasks
    from crawlers.sources import load_sources

    sources = load_sources(system.settings.configs_dir).values()
    tasks = await due_tasks(system.store, sources, ignore_interval=once)
    for task in tasks:
        await system.bus.produce(task.topic, task.to_bytes(), key=task.key())
    await system.bus.flush()
    return tasks
