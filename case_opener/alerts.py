"""Urgent alerts to the on-duty group, rate limited into digests.

Every supervision tick the desk notes what duty staff must hear about (an urgent lead,
in review or confirmed; an urgent case escalated for a missed deadline) as alerts, once
each (``alerts`` table, keyed by what they are about). Then, unless a digest went out less
than ``digest_every_s`` ago, every waiting alert goes out in one digest through each
enabled channel (``case_opener.alert_channels``): fifty urgent posts at once are one
message. A channel that fails keeps its alerts waiting for it alone; they go again next
tick. Post text is masked (phone and ID numbers) before it leaves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field

from case_opener.alert_channels import Channel, ChannelConfig, ChannelError, Digest
from xianban.configfile import load_yaml
from xianban.labels import CATEGORY_LABELS
from xianban.records import Case, Verdict, utcnow
from xianban.settings import Settings
from xianban.store import Store
from xianban.store.listing import urgent_since
from xianban.store.verification import (
    Alert,
    NewAlert,
    add_alerts,
    last_alert_sent_at,
    mark_alerts,
    pending_alerts,
)
from xianban.tls import tls_context

log = structlog.get_logger(__name__)
SHENZHEN = timezone(timedelta(hours=8))


class AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    digest_every_s: float = Field(60, ge=0)
    max_lines: int = Field(20, ge=1)
    lookback_hours: float = Field(24, gt=0)
    console_url: str | None = None
    """The digest's link; ``{console}`` at its start is the console's public address
    (``console_public_url``), so the link works where duty staff open it."""
    channels: list[ChannelConfig] = Field(default_factory=list)


def load_alerts(configs_dir: Path) -> AlertsConfig:
    return load_yaml(AlertsConfig, configs_dir / "alerts.yaml")


def _place(geo: dict[str, Any]) -> str:
    parts = [geo.get(k) for k in ("district", "street", "road", "poi")]
    return "".join(p for p in parts if p) or "地点待核实"


def lead_line(verdict: Verdict) -> str:
    from console.masking import mask_text  # the console's masking, not its app

    lead = verdict.lead
    state = {"confirmed": "已立案", "needs_review": "待研判"}.get(verdict.decision, "")
    triggers = "、".join(lead.urgency_triggers) or CATEGORY_LABELS.get(lead.category, "")
    text = mask_text(lead.text.replace("\n", " "))[:40]
    found = lead.found_at.astimezone(SHENZHEN).strftime("%H:%M")
    return (
        f"【紧急·{state}】{_place(lead.geo.model_dump())} · {triggers}：「{text}」（{found} 发现）"
    )


def case_line(case: Case) -> str:
    note = case.history[-1].note if case.history else "督办"
    return f"【超时·{case.case_id}】{case.department}：{note}"


class AlertDesk:
    def __init__(self, store: Store, cfg: AlertsConfig, channels: list[Channel]) -> None:
        self.store = store
        self.cfg = cfg
        self.channels = channels
        self._http = httpx.AsyncClient(timeout=10.0, verify=tls_context())

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> AlertDesk:
        cfg = load_alerts(settings.configs_dir)
        channels = []
        for channel in cfg.channels if cfg.enabled else []:
            if not channel.enabled:
                continue
            url = channel.url
            if url and url.startswith("{sim}"):
                if not settings.sim_url:
                    log.info("alerts.channel_skipped", channel=channel.name, why="no simulator")
                    continue
                url = settings.sim_url.rstrip("/") + url.removeprefix("{sim}")
            secret = (os.environ.get(channel.secret_env) if channel.secret_env else None) or (
                channel.secret
            )
            channels.append(Channel(channel, url=url, secret=secret))
        if cfg.console_url and cfg.console_url.startswith("{console}"):
            link = settings.console_address + cfg.console_url.removeprefix("{console}")
            cfg = cfg.model_copy(update={"console_url": link})
        return cls(store, cfg, channels)

    async def close(self) -> None:
        await self._http.aclose()

    async def note(self, now: datetime, cases: Iterable[Case] = ()) -> int:
        """Queue alerts for what is urgent now; how many are new."""
        since = now - timedelta(hours=self.cfg.lookback_hours)
        alerts = [
            NewAlert(
                alert_id=f"lead:{verdict.cluster_id}",
                kind="urgent_lead",
                subject=verdict.cluster_id,
                payload={"line": lead_line(verdict)},
            )
            for verdict in await urgent_since(self.store, since=since)
        ]
        for case in cases:
            late = case.history and case.history[-1].note.startswith("督办")
            if case.priority == "urgent" and late:
                alerts.append(
                    NewAlert(
                        alert_id=f"overdue:{case.case_id}:{case.escalations}",
                        kind="overdue_case",
                        subject=case.case_id,
                        payload={"line": case_line(case)},
                    )
                )
        return await add_alerts(self.store, alerts, at=now)

    async def tick(self, now: datetime | None = None, cases: Iterable[Case] = ()) -> int:
        """Note what is urgent and send one digest if one is due; alerts delivered."""
        now = now or utcnow()
        if not self.cfg.enabled or not self.channels:
            return 0
        await self.note(now, cases)
        waiting = await pending_alerts(self.store)
        if not waiting:
            return 0
        last = await last_alert_sent_at(self.store)
        if last is not None and (now - last).total_seconds() < self.cfg.digest_every_s:
            return 0  # rate limited: they wait for the next digest
        results: dict[str, str] = {}
        for channel in self.channels:
            mine = [a for a in waiting if a.deliveries.get(channel.name) != "ok"]
            if not mine:
                continue
            try:
                await channel.send(self.digest(mine), self._http)
            except ChannelError as exc:
                log.warning("alerts.channel_failed", channel=channel.name, error=str(exc))
                results[channel.name] = f"error: {exc}"
                continue
            results[channel.name] = "ok"
        # alerts that end with the same answers are recorded in one update (a digest's
        # alerts were all waiting for the same channels, so usually all in one)
        marked: dict[str, tuple[dict[str, str], list[str]]] = {}
        for alert in waiting:
            deliveries = dict(alert.deliveries)
            for name, outcome in results.items():
                if deliveries.get(name) != "ok":
                    deliveries[name] = outcome
            key = json.dumps(deliveries, sort_keys=True)
            marked.setdefault(key, (deliveries, []))[1].append(alert.alert_id)
        for deliveries, alert_ids in marked.values():
            done = all(deliveries.get(c.name) == "ok" for c in self.channels)
            await mark_alerts(
                self.store, alert_ids, deliveries=deliveries, sent_at=now if done else None
            )
        return sum(
            1
            for a in waiting
            if all(results.get(c.name, a.deliveries.get(c.name)) == "ok" for c in self.channels)
        )

    def digest(self, alerts: list[Alert]) -> Digest:
        leads = sum(a.kind == "urgent_lead" for a in alerts)
        late = len(alerts) - leads
        parts = [f"紧急线索 {leads} 条" if leads else "", f"超时工单 {late} 件" if late else ""]
        title = "先办值班提醒：" + "，".join(p for p in parts if p)
        lines = [str(a.payload.get("line", a.subject)) for a in alerts[: self.cfg.max_lines]]
        if len(alerts) > self.cfg.max_lines:
            lines.append(f"另有 {len(alerts) - self.cfg.max_lines} 条，请在控制台查看")
        return Digest(title=title, lines=lines, link=self.cfg.console_url)
