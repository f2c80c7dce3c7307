"""Every Prometheus metric the loop exports, in one place, and what watches them.

Each process serves them: the console on ``/metrics``, a worker on ``metrics_port``
(``serve``). ``deploy/grafana/xianban.json`` is built from these names, and
``tests/test_metrics.py`` checks that every name the dashboard uses exists here.

* fetching: ``xianban_fetches_total{source,outcome}`` (``ok`` or the health state met:
  rate_limited, banned, login_required, timeout, ...), ``xianban_fetch_seconds{source}``,
  ``xianban_source_state{source,state}`` (1 for the state a source is in now);
* stages: ``xianban_stage_records_in_total{stage}``,
  ``xianban_stage_records_out_total{stage,topic}`` (``dlq`` included),
  ``xianban_records_total{stage,outcome}`` (ok, dead, retried, gave_up),
  ``xianban_dead_letters_total{stage,reason}`` (the error's type),
  ``xianban_stage_batch_seconds{stage}``, ``xianban_stage_batch_records{stage}``,
  ``xianban_consumer_lag{stage,topic,partition}`` (not yet read, owned partitions);
* cases: ``xianban_sla_breaches_total{priority}`` (each late case once),
  ``xianban_sla_breached_cases{priority}`` (late and not dispatched, now);
* scheduling: ``xianban_scheduled_tasks_total{source}``, ``xianban_scheduler_holding``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

from xianban.records import UNDISPATCHED_STATUSES, utcnow

if TYPE_CHECKING:
    from xianban.records import Case
    from xianban.store import Store

log = structlog.get_logger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

FETCHES = Counter(
    "xianban_fetches_total",
    "Requests to a source, by outcome: ok or the health state met",
    ["source", "outcome"],
)
FETCH_SECONDS = Histogram(
    "xianban_fetch_seconds",
    "Latency of one request to a source",
    ["source"],
    buckets=LATENCY_BUCKETS,
)
SOURCE_STATE = Gauge(
    "xianban_source_state", "1 for the health state a source is in now", ["source", "state"]
)
RECORDS_IN = Counter("xianban_stage_records_in_total", "Records a stage read", ["stage"])
RECORDS_OUT = Counter(
    "xianban_stage_records_out_total", "Records a stage produced, by topic", ["stage", "topic"]
)
RECORDS = Counter(
    "xianban_records_total", "Records handled by a stage, by outcome", ["stage", "outcome"]
)
DEAD_LETTERS = Counter(
    "xianban_dead_letters_total", "Records sent to dlq, by the error's type", ["stage", "reason"]
)
BATCH_SECONDS = Histogram(
    "xianban_stage_batch_seconds",
    "One poll's records handled, produced and flushed",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
BATCH_RECORDS = Histogram(
    "xianban_stage_batch_records",
    "Records per batch",
    ["stage"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 200, 500, 1000),
)
CONSUMER_LAG = Gauge(
    "xianban_consumer_lag",
    "Records not yet read on the partitions a worker owns",
    ["stage", "topic", "partition"],
)
SLA_BREACHES = Counter(
    "xianban_sla_breaches_total", "Cases seen past their dispatch deadline", ["priority"]
)
SLA_BREACHED = Gauge(
    "xianban_sla_breached_cases",
    "Cases past their dispatch deadline and not dispatched, now",
    ["priority"],
)
SCHEDULED = Counter(
    "xianban_scheduled_tasks_total", "Crawl tasks put on crawl.tasks by the scheduler", ["source"]
)
SCHEDULER_HOLDING = Gauge(
    "xianban_scheduler_holding", "1 while this process holds the scheduler lease"
)

FAILING = frozenset({"ok", "idle"})
"""States that are not trouble (anything else gets a warning when a source enters it)."""


def serve(port: int, host: str = "0.0.0.0") -> WSGIServer:
    """Serve ``/metrics`` on ``port`` (0: any free one, see ``server_port``) in a daemon
    thread for the life of the process; ``shutdown()`` stops it."""
    server, _ = start_http_server(port, addr=host, registry=REGISTRY)
    log.info("metrics.serving", port=server.server_port, host=host)
    return server


def fetched(source: str, outcome: str, seconds: float) -> None:
    FETCHES.labels(source, outcome).inc()
    FETCH_SECONDS.labels(source).observe(seconds)


def source_state(source: str, was: str | None, now: str, reason: str | None = None) -> None:
    """The source's state gauge, and one structured log line per change of state: a
    warning (with the reason) into trouble, info out of it, nothing while it stays."""
    SOURCE_STATE.labels(source, now).set(1)
    if was is not None and was != now:
        SOURCE_STATE.labels(source, was).set(0)
    if was == now:
        return
    if now in FAILING:
        if was is not None and was not in FAILING:
            log.info("source.recovered", source=source, state=now, was=was)
        return
    log.warning("source.state_changed", source=source, state=now, was=was, reason=reason)


def lag(stage: str, partitions: Iterable[tuple[tuple[str, int], int]]) -> None:
    for (topic, partition), behind in partitions:
        CONSUMER_LAG.labels(stage, topic, str(partition)).set(behind)


_breached: dict[str, datetime] = {}
"""Case ids already counted as breaches by this process (and their deadline)."""


def sla(cases: Iterable[Case], now: datetime | None = None) -> int:
    """Count the open cases past their dispatch deadline; each counts once as a breach."""
    now = now or utcnow()
    late = [c for c in cases if c.status in UNDISPATCHED_STATUSES and c.dispatch_due < now]
    by_priority = {"urgent": 0, "ordinary": 0}
    for case in late:
        by_priority[case.priority] = by_priority.get(case.priority, 0) + 1
        if case.case_id not in _breached:
            _breached[case.case_id] = case.dispatch_due
            SLA_BREACHES.labels(case.priority).inc()
            log.warning(
                "case.sla_breached",
                case_id=case.case_id,
                priority=case.priority,
                dispatch_due=case.dispatch_due.isoformat(),
                status=case.status,
            )
    for priority, n in by_priority.items():
        SLA_BREACHED.labels(priority).set(n)
    return len(late)


async def observe_sla(store: Store, now: datetime | None = None) -> int:
    """``sla`` over the store's undispatched cases (what a supervision sweep calls)."""
    return sla(await store.list_cases(statuses=UNDISPATCHED_STATUSES, limit=100_000), now)
