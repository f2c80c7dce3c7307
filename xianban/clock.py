"""Times as people in Shenzhen read them: Asia/Shanghai, always with the offset.

Every time the CLI prints (tables, summaries, JSON) goes through here, so a cron log and
the console show the same clock. Shenzhen keeps UTC+8 all year; a fixed offset avoids
depending on the tz database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

SHENZHEN = timezone(timedelta(hours=8), "Asia/Shanghai")


def local(value: datetime) -> datetime:
    """``value`` in Shenzhen time (a naive value is taken as UTC, as the store keeps it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHENZHEN)


def shown(value: datetime | None, *, seconds: bool = False) -> str:
    """``2026-12-01 17:28 +08:00`` for tables and messages; ``—`` for no time."""
    if value is None:
        return "—"
    at = local(value)
    return at.strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else "")) + " " + at.isoformat()[-6:]


def iso(value: datetime) -> str:
    """``2026-12-01T17:28:57.109343+08:00`` for JSON."""
    return local(value).isoformat()


def localise(data: Any) -> Any:
    """``data`` with every datetime in it (nested in dicts, lists, tuples) as ``iso``."""
    if isinstance(data, datetime):
        return iso(data)
    if isinstance(data, dict):
        return {k: localise(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [localise(v) for v in data]
    return data
