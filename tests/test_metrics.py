"""Metrics and logs that show trouble: the names the dashboard uses exist, and they move.

A source that fails, is banned or logged out logs one structured warning per change of
state and shows in ``xianban_source_state``; fetches count by outcome; a worker counts
records in and out, dead letters by reason, its lag and batch latency; late cases count
once each. A worker process serves ``/metrics`` over HTTP.
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY

import xianban.metrics as metrics
from crawlers.checkpoint import Checkpoint
from crawlers.crawl import Crawled
from crawlers.errors import Banned, CrawlError, LoginRequired
from crawlers.fetch import HttpFetcher
from crawlers.sources import load_sources
from crawlers.stage import record_outcome
from xianban.bus import MemoryBus
from xianban.records import Case, CrawlTask, utcnow
from xianban.runtime import Worker
from xianban.settings import Settings
from xianban.store import Store

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "xianban.json"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def exported() -> dict[str, str]:
    """Every series name the registry can expose, with its metric's family name."""
    names: dict[str, str] = {}
    for family in REGISTRY.collect():
        suffixes = {
            "counter": ["_total"],
            "histogram": ["_bucket", "_sum", "_count"],
            "gauge": [""],
        }.get(family.type, [""])
        for suffix in suffixes:
            names[family.name + suffix] = family.name
    return names


def dashboard_series() -> set[str]:
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    return {name for expr in exprs for name in re.findall(r"\bxianban_[a-z_]+", expr)}


def test_every_series_the_dashboard_queries_is_exported() -> None:
    known = exported()
    missing = sorted(dashboard_series() - known.keys())
    assert not missing, f"the dashboard queries series no code exports: {missing}"


def test_every_metric_of_the_loop_has_a_panel() -> None:
    ours = {
        getattr(metrics, name)._name
        for name in dir(metrics)
        if hasattr(getattr(metrics, name), "_name") and hasattr(getattr(metrics, name), "labels")
    }
    shown = {exported().get(series) for series in dashboard_series()}
    assert ours and not ours - shown, sorted(ours - shown)


def test_the_dashboard_is_what_the_builder_writes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build", ROOT / "scripts" / "build_dashboard.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert json.loads(DASHBOARD.read_text(encoding="utf-8")) == build.dashboard()


async def test_fetches_count_by_source_and_outcome() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/busy":
            return httpx.Response(429, headers={"Retry-After": "1"})
        return httpx.Response(200, json={"ok": True})

    before_ok = value("xianban_fetches_total", source="m-src", outcome="ok")
    before_limited = value("xianban_fetches_total", source="m-src", outcome="rate_limited")
    fetcher = HttpFetcher("http://sim", transport=httpx.MockTransport(answer), name="m-src")
    try:
        assert await fetcher.get_json("/fine") == {"ok": True}
        with pytest.raises(CrawlError):
            fetcher.policy = fetcher.policy.model_copy(update={"retries": 0})
            await fetcher.get_json("/busy")
    finally:
        await fetcher.close()
    assert value("xianban_fetches_total", source="m-src", outcome="ok") == before_ok + 1
    assert (
        value("xianban_fetches_total", source="m-src", outcome="rate_limited") == before_limited + 1
    )
    assert value("xianban_fetch_seconds_count", source="m-src") >= 2


async def test_a_source_in_trouble_logs_once_per_change_of_state(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    source = next(iter(load_sources(Settings().configs_dir).values()))
    task = CrawlTask(task_id="t", source=source.id)
    outcomes = [
        Crawled(error=Banned("HTTP 403 访问过于频繁")),
        Crawled(error=Banned("HTTP 403 again")),
        Crawled(error=LoginRequired("redirected to the login page")),
        Crawled(),
        Crawled(),
    ]
    try:
        with structlog.testing.capture_logs() as logs:
            for crawled in outcomes:
                checkpoint = Checkpoint.parse(None)
                await record_outcome(store, source, task, checkpoint, crawled, now=utcnow())
    finally:
        await store.close()
    changes = [e for e in logs if e["event"] in ("source.state_changed", "source.recovered")]
    assert [(e["event"], e["state"], e["log_level"]) for e in changes] == [
        ("source.state_changed", "banned", "warning"),
        ("source.state_changed", "login_required", "warning"),
        ("source.recovered", "ok", "info"),
    ]
    assert "访问过于频繁" in changes[0]["reason"] and changes[1]["was"] == "banned"
    assert value("xianban_source_state", source=source.id, state="ok") == 1
    assert value("xianban_source_state", source=source.id, state="login_required") == 0


async def test_a_worker_counts_records_dead_letters_lag_and_latency() -> None:
    from .test_runtime import EchoStage, task

    bus = MemoryBus(partitions=2)
    for record in [task("m1", "x"), task("m2", "boom")]:
        await bus.produce(record.topic, record.to_bytes(), key=record.key())
    await bus.produce(CrawlTask.topic, b"{broken", key="bad")
    stage = EchoStage()
    stage.name = "metrics-echo"
    before = value("xianban_stage_batch_seconds_count", stage="metrics-echo")
    await Worker(stage, bus, Settings(poll_timeout_s=0.05)).run(until_idle=True)
    assert value("xianban_stage_records_in_total", stage="metrics-echo") == 3
    assert value("xianban_stage_records_out_total", stage="metrics-echo", topic="posts") == 1
    assert value("xianban_stage_records_out_total", stage="metrics-echo", topic="dlq") == 2
    assert value("xianban_dead_letters_total", stage="metrics-echo", reason="RecordError") == 1
    assert value("xianban_dead_letters_total", stage="metrics-echo", reason="PermanentError") == 1
    assert value("xianban_stage_batch_seconds_count", stage="metrics-echo") > before
    lags = [
        value("xianban_consumer_lag", stage="metrics-echo", topic="crawl.tasks", partition=p)
        for p in ("0", "1")
    ]
    assert lags == [0, 0]


def test_late_cases_count_once_and_show_as_a_gauge() -> None:
    now = utcnow()

    def case(n: int, minutes_late: int, status: str = "filed") -> Case:
        return Case(
            case_id=f"XB-SLA{n}",
            cluster_id=f"sla{n}",
            department="区城管局",
            category="municipal_facilities",
            priority="urgent",
            title="t",
            description="d",
            post_ids=["p:1"],
            opened_at=now - timedelta(hours=1),
            dispatch_due=now - timedelta(minutes=minutes_late),
            status=status,
        )

    before = value("xianban_sla_breaches_total", priority="urgent")
    cases = [case(1, 5), case(2, -5), case(3, 30, "dispatched")]
    with structlog.testing.capture_logs() as logs:
        assert metrics.sla(cases, now) == 1
        assert metrics.sla(cases, now) == 1
    assert value("xianban_sla_breaches_total", priority="urgent") == before + 1
    assert value("xianban_sla_breached_cases", priority="urgent") == 1
    assert [e["case_id"] for e in logs if e["event"] == "case.sla_breached"] == ["XB-SLA1"]


def test_a_worker_process_serves_metrics_over_http() -> None:
    server = metrics.serve(0, "127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "xianban_fetches_total" in text or "# TYPE xianban_fetches" in text
    assert "# HELP xianban_stage_batch_seconds" in text
