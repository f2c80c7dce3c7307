"""What the store hands back besides the bus records: plain, immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from xianban.records import Category

TaskStatus = Literal["queued", "running", "done", "failed", "retried"]
TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    key: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClusterRow:
    """A cluster of leads about one problem, summed up as its leads arrive."""

    cluster_id: str
    category: str
    geo: dict[str, Any]
    urgent: bool
    max_score: float
    corroboration: int
    leads: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class RecentLead:
    """What clustering compares a post with, read by JSON path: decoding every recent lead
    in full for every post was most of what clustering through the store cost."""

    lead_id: str
    cluster_id: str
    category: Category
    district: str | None
    posted_at: datetime | None
    found_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class SourceState:
    """How one crawl source is doing, as the crawler fleet last reported it."""

    source: str
    state: str
    cursor: str | None
    paused: bool
    last_success: datetime | None
    last_error: str | None
    error_counts: dict[str, int]
    posts_total: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One crawl task in the ledger: every task ends done, failed (with why) or retried."""

    task_id: str
    source: str
    status: str
    reason: str | None
    attempt: int
    posts: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any] | None
