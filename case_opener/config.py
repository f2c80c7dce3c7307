"""Routing (category x place -> department) and service levels, read from configs/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from xianban.configfile import load_yaml
from xianban.errors import ConfigError
from xianban.records import CATEGORIES, Geo, Priority


class Duty(BaseModel):
    name: str
    level: Literal["district", "city"]


class Routing(BaseModel):
    default: Duty
    departments: dict[str, Duty]

    def department(self, category: str, geo: Geo) -> str:
        duty = self.departments.get(category, self.default)
        if duty.level == "district" and geo.district:
            return f"{geo.district}{duty.name}"
        return f"深圳市{duty.name}"


class Sla(BaseModel):
    dispatch_minutes: dict[Priority, int]
    escalate_every_minutes: dict[Priority, int]

    def dispatch_within(self, priority: Priority) -> timedelta:
        return timedelta(minutes=self.dispatch_minutes[priority])

    def escalate_every(self, priority: Priority) -> timedelta:
        return timedelta(minutes=self.escalate_every_minutes[priority])


def load_routing(configs_dir: Path) -> Routing:
    routing = load_yaml(Routing, configs_dir / "routing.yaml")
    unknown = set(routing.departments) - set(CATEGORIES)
    if unknown:
        raise ConfigError(f"routing.yaml: unknown categories {sorted(unknown)}")
    return routing


def load_sla(configs_dir: Path) -> Sla:
    return load_yaml(Sla, configs_dir / "sla.yaml")
