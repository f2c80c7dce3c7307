"""What the crawler remembers about a source between tasks, in ``SourceState.cursor``.

Per query: the watermark (the newest publication time crawled completely up to) and how
many posts the query's first page held last time (its history, for silent blocks). Per
source: the circuit breaker — failures in a row, and until when the source rests. Kept
in the store, so a restarted or re-balanced crawler resumes exactly where the last stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from pydantic import BaseModel, Field, ValidationError

from crawlers.politeness import Politeness

DAY = timedelta(days=1)
log = structlog.get_logger(__name__)


class QueryMark(BaseModel):
    watermark: datetime | None = None
    first_page: int = Field(0, ge=0, description="posts on the first page last time")
    complete: bool = Field(
        False, description="the last crawl of a paged query read to its end (or caught up)"
    )


class RunCounts(BaseModel):
    """The last task of a source, for the ``run --once`` summary and the ops view."""

    at: datetime
    posts: int = Field(0, ge=0, description="new posts, comments included")
    comments: int = Field(0, ge=0, description="new posts that answer another (reply_to)")
    listed: int = Field(0, ge=0, description="posts the pages listed, known ones included")
    pages: int = Field(0, ge=0)
    error: str | None = None


class Checkpoint(BaseModel):
    queries: dict[str, QueryMark] = Field(default_factory=dict)
    failures: int = Field(0, ge=0, description="failed tasks in a row")
    cooldown_s: float = Field(0, ge=0, description="the last rest, doubled on a failed probe")
    open_until: datetime | None = None
    recent: list[tuple[datetime, int]] = Field(
        default_factory=list, description="(task end, posts) of the last day's tasks"
    )
    errors: list[tuple[datetime, str]] = Field(
        default_factory=list, description="(task end, error state) of the last day's failures"
    )
    last_run: RunCounts | None = Field(None, description="what the last task produced")

    @classmethod
    def parse(cls, raw: str | None) -> Checkpoint:
        """A missing or unreadable checkpoint starts afresh (the first crawl re-reads the
        lookback window; dedupe keeps that from duplicating anything)."""
        if not raw:
            return cls()
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            log.warning("crawler.checkpoint_unreadable", error=str(exc), raw=raw[:200])
            return cls()

    def mark(self, query: str) -> QueryMark:
        return self.queries.setdefault(query, QueryMark())

    def count(self, now: datetime, posts: int) -> None:
        """Remember a task's posts for the posts-per-hour figure ops watch."""
        self.recent = [(t, n) for t, n in self.recent if now - t < DAY] + [(now, posts)]

    def count_error(self, now: datetime, state: str) -> None:
        """Remember a failure for the errors-by-kind-over-24-hours chart."""
        self.errors = [(t, k) for t, k in self.errors if now - t < DAY] + [(now, state)]

    def errors_by_kind(self, now: datetime) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t, kind in self.errors:
            if now - t < DAY:
                counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items()))

    def errors_by_hour(self, now: datetime) -> list[dict[str, int]]:
        """24 buckets, oldest first: the last bucket is the hour up to ``now``."""
        hours: list[dict[str, int]] = [{} for _ in range(24)]
        for t, kind in self.errors:
            age = now - t
            if timedelta(0) <= age < DAY:
                bucket = hours[23 - int(age.total_seconds() // 3600)]
                bucket[kind] = bucket.get(kind, 0) + 1
        return hours

    def posts_per_hour(self, now: datetime) -> float:
        recent = [(t, n) for t, n in self.recent if now - t < DAY]
        if not recent:
            return 0.0
        hours = max((now - min(t for t, _ in recent)).total_seconds() / 3600, 1.0)
        return sum(n for _, n in recent) / hours

    def newest(self) -> datetime | None:
        """The newest watermark of all queries: how far the source is read."""
        marks = [m.watermark for m in self.queries.values() if m.watermark is not None]
        return max(marks, default=None)

    def is_open(self, now: datetime) -> bool:
        return self.open_until is not None and now < self.open_until

    def succeeded(self) -> None:
        self.failures = 0
        self.cooldown_s = 0
        self.open_until = None

    def failed(self, now: datetime, policy: Politeness, *, refused: bool) -> None:
        """Count a failed task; open the circuit on a refusal (captcha, ban, login wall,
        silent block, layout change) or after ``failures_to_open`` failures in a row. A
        probe that fails again doubles the rest, up to ``cooldown_max_s``."""
        self.failures += 1
        if not refused and self.failures < policy.failures_to_open:
            return
        was_open = self.open_until is not None
        rest = min(policy.cooldown_max_s, self.cooldown_s * 2 if was_open else policy.cooldown_s)
        self.cooldown_s = rest
        self.open_until = now + timedelta(seconds=rest)
