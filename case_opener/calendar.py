"""The working-day calendar the SLA clocks count in: Asia/Shanghai, weekends and holidays off.

"5 个工作日" from a moment is the same clock time five working days later; a moment on a
day off counts from the next working day's opening time. Holidays and the weekend days
worked instead (调休) come from ``configs/sla.yaml``, as the State Council publishes them
each year.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class WorkingCalendar:
    def __init__(
        self,
        *,
        zone: str = "Asia/Shanghai",
        opens: time = time(9, 0),
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> None:
        self.zone = ZoneInfo(zone)
        self.opens = opens
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``start`` plus ``days`` working days, as an aware datetime in the same zone."""
        local = start.astimezone(self.zone)
        if not self.is_working_day(local.date()):
            day = local.date()
            while not self.is_working_day(day):
                day += timedelta(days=1)
            local = datetime.combine(day, self.opens, tzinfo=self.zone)
        day, counted = local.date(), 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, local.timetz()).astimezone(start.tzinfo or self.zone)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days from ``start`` to ``end`` (0 if ``end`` is not later)."""
        count = 0
        while self.add_working_days(start, count + 1) <= end:
            count += 1
            if count > 3660:
                break
        return count
