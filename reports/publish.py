"""Write a briefing into a folder and announce it: what ``xianban report`` and cron run.

Safe to run twice at once: each file is written to a temporary name in the same folder
and renamed over the old one (a reader never sees half a file), under an exclusive lock
per briefing (``.<slug>.lock``, ``flock``), so the second run waits for the first. The
webhook event ``report.published`` goes out once per content: the lock holder records the
digest it announced (``.<slug>.published``) and a run that finds the same digest there
announces nothing. Delivery failures are logged and audited; the files stay written.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import structlog

from console.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, Subscriber, sign
from reports.briefing import Briefing, build_briefing
from reports.period import Kind, period_for
from reports.render import draw_charts, render_html, render_markdown, render_pdf
from xianban.records import stable_id, utcnow
from xianban.store import Store

log = structlog.get_logger(__name__)

Format = Literal["html", "md", "pdf"]
FORMATS: tuple[Format, ...] = ("html", "md", "pdf")
EVENT_TYPE = "report.published"


@dataclass(frozen=True, slots=True)
class Published:
    briefing: Briefing
    files: list[Path]
    event_id: str
    announced: int
    """Subscribers that accepted the event in this run (0 when it was already announced)."""
    already_announced: bool
    failures: list[str] = field(default_factory=list)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def event_for(b: Briefing, files: Sequence[Path], digest: str) -> dict[str, Any]:
    return {
        "id": "evt_" + stable_id("report", b.period.slug, digest),
        "type": EVENT_TYPE,
        "created": int(utcnow().timestamp()),
        "data": {
            "kind": b.period.kind,
            "title": b.period.title,
            "from": b.period.start.isoformat(),
            "to": b.period.end.isoformat(),
            "files": [p.name for p in files],
            "summary": b.summary,
            "funnel": {s.key: s.count for s in b.funnel},
        },
    }


async def announce(
    event: dict[str, Any],
    subscribers: Sequence[Subscriber],
    *,
    attempts: int = 3,
    backoff_s: float = 1.0,
) -> tuple[int, list[str]]:
    """POST the signed event to every subscriber (retrying 429, 5xx and network errors)."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    delivered, failures = 0, []
    async with httpx.AsyncClient(
        timeout=10.0, headers={"User-Agent": "xianban-reports/1"}
    ) as client:
        for sub in subscribers:
            error = ""
            for attempt in range(1, attempts + 1):
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    SIGNATURE_HEADER: sign(body, sub.secret, timestamp=int(time.time())),
                    EVENT_ID_HEADER: event["id"],
                }
                try:
                    response = await client.post(sub.url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code < 400:
                        delivered += 1
                        error = ""
                        break
                    error = f"HTTP {response.status_code}"
                    if response.status_code != 429 and response.status_code < 500:
                        break  # the subscriber refuses it: retrying will not help
                if attempt < attempts:
                    await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
            if error:
                failures.append(f"{sub.url}: {error}")
    return delivered, failures


async def publish(
    store: Store,
    *,
    kind: Kind,
    first: date | None,
    last: date | None,
    formats: Sequence[Format],
    out_dir: Path,
    configs_dir: Path,
    subscribers: Sequence[Subscriber] = (),
    now: datetime | None = None,
) -> Published:
    """Build the briefing, write it in each format, announce it once."""
    now = now or utcnow()
    period = period_for(kind, first=first, last=last, now=now)
    b = await build_briefing(store, period, now=now, configs_dir=configs_dir)
    charts = await asyncio.to_thread(draw_charts, b, configs_dir)
    html = render_html(b, charts)
    markdown = render_markdown(b)
    content: dict[Format, bytes] = {}
    for fmt in formats:
        if fmt == "html":
            content[fmt] = html.encode()
        elif fmt == "md":
            content[fmt] = markdown.encode()
        else:
            content[fmt] = await asyncio.to_thread(render_pdf, html)
    # what the event says changed: the numbers (the Markdown holds them all), not the
    # moment of generation or the bytes of a PDF
    digest = hashlib.sha256(markdown.encode()).hexdigest()[:32]
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    files = [out_dir / f"briefing-{period.slug}.{fmt}" for fmt in content]
    event = event_for(b, files, digest)

    def write_all() -> bool:
        for path, data in zip(files, content.values(), strict=True):
            _atomic_write(path, data)
        marker = out_dir / f".{period.slug}.published"
        return marker.exists() and marker.read_text().strip() == digest

    lock = out_dir / f".{period.slug}.lock"
    announced, already = 0, False
    failures: list[str] = []
    lock_cm = _locked(lock)
    await asyncio.to_thread(lock_cm.__enter__)
    try:
        already = await asyncio.to_thread(write_all)
        if not already and subscribers:
            announced, failures = await announce(event, subscribers)
        if not already and not failures:
            _atomic_write(out_dir / f".{period.slug}.published", digest.encode())
    finally:
        lock_cm.__exit__(None, None, None)
    for failure in failures:
        log.error("report.webhook_failed", error=failure, event_id=event["id"])
        await store.audit(
            actor="reports",
            action="webhook.failed",
            target=period.slug,
            detail={"event_id": event["id"], "error": failure},
        )
    return Published(b, files, event["id"], announced, already, failures)
