"""Automatic verification rules, checked in order; the first that decides wins.

Each rule looks at a lead and returns a decision with its reason, or ``None`` to pass.
They encode the analysts' standing instructions: act at once on clear, placed problems
(faster still on dangers), drop what is too weak to act on, and ask a human otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from xianban.configfile import load_yaml
from xianban.records import Decision, Lead


class VerifierConfig(BaseModel):
    confirm_score: float = Field(ge=0, le=1)
    confirm_score_urgent: float = Field(ge=0, le=1)
    corroborated_confirm: int = Field(ge=1)
    review_score: float = Field(ge=0, le=1)


def load_config(configs_dir: Path) -> VerifierConfig:
    return load_yaml(VerifierConfig, configs_dir / "verifier.yaml")


@dataclass(frozen=True, slots=True)
class Ruling:
    decision: Decision
    rule: str
    reason: str


Rule = Callable[[Lead, VerifierConfig], Ruling | None]


def jurisdiction(lead: Lead, cfg: VerifierConfig) -> Ruling | None:
    if lead.geo.district is None:
        return Ruling("needs_review", "jurisdiction", "未能确定所在区，需人工核实地点")
    return None


def weak_evidence(lead: Lead, cfg: VerifierConfig) -> Ruling | None:
    if lead.score < cfg.review_score and not lead.urgent:
        return Ruling("rejected", "weak_evidence", f"得分 {lead.score:.2f} 低于 {cfg.review_score}")
    return None


def urgent_hazard(lead: Lead, cfg: VerifierConfig) -> Ruling | None:
    if lead.urgent and lead.score >= cfg.confirm_score_urgent:
        trigger = "、".join(lead.urgency_triggers) or "安全隐患"
        return Ruling("confirmed", "urgent_hazard", f"加急隐患（{trigger}），得分 {lead.score:.2f}")
    return None


def clear_problem(lead: Lead, cfg: VerifierConfig) -> Ruling | None:
    if lead.score >= cfg.confirm_score:
        return Ruling("confirmed", "clear_problem", f"问题明确且地点已定位，得分 {lead.score:.2f}")
    return None


def corroborated(lead: Lead, cfg: VerifierConfig) -> Ruling | None:
    if lead.corroboration + 1 >= cfg.corroborated_confirm and lead.score >= cfg.review_score:
        return Ruling("confirmed", "corroborated", f"{lead.corroboration + 1} 条独立反映相互印证")
    return None


RULES: tuple[Rule, ...] = (jurisdiction, weak_evidence, urgent_hazard, clear_problem, corroborated)


def rule_on(lead: Lead, cfg: VerifierConfig) -> Ruling:
    for rule in RULES:
        ruling = rule(lead, cfg)
        if ruling is not None:
            return ruling
    return Ruling("needs_review", "review", f"得分 {lead.score:.2f}，待分析员研判")
