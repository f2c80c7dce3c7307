"""Routing (the duties list, ``case_opener.duties``) and service levels, from configs/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel

from case_opener.duties import DutiesList
from xianban.configfile import load_yaml
from xianban.records import Priority


class Sla(BaseModel):
    dispatch_minutes: dict[Priority, int]
    escalate_every_minutes: dict[Priority, int]

    def dispatch_within(self, priority: Priority) -> timedelta:
        return timedelta(minutes=self.dispatch_minutes[priority])

    def escalate_every(self, priority: Priority) -> timedelta:
        return timedelta(minutes=self.escalate_every_minutes[priority])


def load_routing(configs_dir: Path) -> DutiesList:
    """The duties list (``configs/routing.yaml``) over the gazetteer's places."""
    return DutiesList.load(configs_dir)


def load_sla(configs_dir: Path) -> Sla:
    return load_yaml(Sla, configs_dir / "sla.yaml")
