"""The period a briefing covers, in Shenzhen's calendar, and the one before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

# Shenzhen keeps UTC+8 all year; a fixed offset avoids depending on the tz database.
SHENZHEN = timezone(timedelta(hours=8), "CST")
Kind = Literal["weekly", "monthly"]
KIND_LABELS: dict[str, str] = {"weekly": "每周简报", "monthly": "月度分析"}
PREVIOUS_LABELS: dict[str, str] = {"weekly": "上周", "monthly": "上月"}
CURRENT_LABELS: dict[str, str] = {"weekly": "本周", "monthly": "本月"}


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)``, aware datetimes."""

    kind: Kind
    start: datetime
    end: datetime

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one (what changes are against)."""
        return Period(self.kind, self.start - (self.end - self.start), self.start)

    @property
    def first_day(self) -> date:
        return self.start.astimezone(SHENZHEN).date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).astimezone(SHENZHEN).date()

    @property
    def label(self) -> str:
        """``2026年11月24日至11月30日`` (the year again only when it changes)."""
        a, b = self.first_day, self.last_day
        first = f"{a.year}年{a.month}月{a.day}日"
        if a == b:
            return first
        last = f"{b.month}月{b.day}日" if a.year == b.year else f"{b.year}年{b.month}月{b.day}日"
        return f"{first}至{last}"

    @property
    def slug(self) -> str:
        """File-name stem: ``weekly-20261124-20261130``."""
        return f"{self.kind}-{self.first_day:%Y%m%d}-{self.last_day:%Y%m%d}"

    @property
    def title(self) -> str:
        return f"未诉先办{KIND_LABELS[self.kind]}（{self.label}）"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHENZHEN)


def _month_before(moment: datetime) -> datetime:
    local = moment.astimezone(SHENZHEN)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return local.replace(year=year, month=month, day=min(local.day, last_day))


def period_for(
    kind: Kind, *, first: date | None = None, last: date | None = None, now: datetime
) -> Period:
    """The period from ``first`` to ``last`` (whole days, inclusive, Shenzhen time).

    Without ``last`` the period ends ``now``; without ``first`` it starts 7 days (weekly)
    or one calendar month (monthly) before its end. A cron job at 00:00 on Monday (or on
    the 1st) therefore covers the week (or month) just ended.
    """
    end = _midnight(last + timedelta(days=1)) if last is not None else now
    if first is not None:
        start = _midnight(first)
    elif kind == "weekly":
        start = end - timedelta(days=7)
    else:
        start = _month_before(end)
    if start >= end:
        raise ValueError(f"the period is empty: from {start.isoformat()} to {end.isoformat()}")
    return Period(kind, start, end)
