"""Routing (the duties list, ``case_opener.duties``) and service levels, from configs/."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from case_opener.calendar import WorkingCalendar
from case_opener.duties import DutiesList
from xianban.configfile import load_yaml
from xianban.records import Priority


class EscalationLevel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = Field(ge=1)
    name: str
    after_working_days: int = Field(ge=0)


class Sla(BaseModel):
    """Service levels: the dispatch, handling and closure clocks and the 督办 levels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Asia/Shanghai"
    opens: time = time(9, 0)
    dispatch_minutes: dict[Priority, int]
    escalate_every_minutes: dict[Priority, int]
    handling_working_days: dict[Priority, int]
    closure_working_days: dict[Priority, int]
    escalation_levels: list[EscalationLevel] = Field(
        default_factory=lambda: [
            EscalationLevel(level=1, name="提醒", after_working_days=0),
            EscalationLevel(level=2, name="警示", after_working_days=1),
            EscalationLevel(level=3, name="区级督办", after_working_days=2),
        ]
    )
    reopen_window_days: int = Field(30, ge=0)
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)

    def dispatch_within(self, priority: Priority) -> timedelta:
        return timedelta(minutes=self.dispatch_minutes[priority])

    def escalate_every(self, priority: Priority) -> timedelta:
        return timedelta(minutes=self.escalate_every_minutes[priority])

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            zone=self.timezone, opens=self.opens, holidays=self.holidays, workdays=self.workdays
        )


def load_routing(configs_dir: Path) -> DutiesList:
    """The duties list (``configs/routing.yaml``) over the gazetteer's places."""
    return DutiesList.load(configs_dir)


def load_sla(configs_dir: Path) -> Sla:
    return load_yaml(Sla, configs_dir / "sla.yaml")
