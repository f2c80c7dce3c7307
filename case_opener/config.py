"""Routing (category x place -> department) and service levels, read from configs/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from xianban.errors import ConfigError
from xianban.records import CATEGORIES, Geo, Priority

M = TypeVar("M", bound=BaseModel)


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


def _load(model: type[M], path: Path) -> M:
    try:
        return model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing") from None
    except (ValidationError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_routing(configs_dir: Path) -> Routing:
    routing = _load(Routing, configs_dir / "routing.yaml")
    unknown = set(routing.departments) - set(CATEGORIES)
    if unknown:
        raise ConfigError(f"routing.yaml: unknown categories {sorted(unknown)}")
    return routing


def load_sla(configs_dir: Path) -> Sla:
    return _load(Sla, configs_dir / "sla.yaml")
