"""Reply templates (configs/replies.yaml): what a case says to the people who posted.

One template per category and case state, falling back to the default for the state;
the reply is rendered whenever a case changes state, and ``follow_up`` is the 回访 script.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xianban.configfile import load_yaml
from xianban.labels import CATEGORY_LABELS
from xianban.records import CATEGORIES, Case

SHENZHEN = timezone(timedelta(hours=8))
STATES = ("filed", "returned", "dispatched", "in_progress", "resolved", "closed", "reopened")


class Replies(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: dict[str, str]
    categories: dict[str, dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> Replies:
        missing = sorted({*STATES, "follow_up"} - set(self.default))
        if missing:
            raise ValueError(f"default: no template for {missing}")
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"categories: unknown {unknown}")
        return self

    def template(self, category: str, state: str) -> str | None:
        own = self.categories.get(category, {})
        return own.get(state) or self.default.get(state)

    def render(self, case: Case, state: str, *, due: datetime | None = None) -> str | None:
        template = self.template(case.category, state)
        if template is None:
            return None
        geo = case.geo
        place = geo.road or geo.poi or geo.community or geo.street or geo.district or ""
        when = due.astimezone(SHENZHEN).strftime("%m月%d日 %H:%M") if due else "规定时限"
        return template.format(
            unit=case.department,
            place=place,
            case_id=case.case_id,
            category=CATEGORY_LABELS.get(case.category, case.category),
            due=when,
        )


def load_replies(configs_dir: Path) -> Replies:
    return load_yaml(Replies, configs_dir / "replies.yaml")
