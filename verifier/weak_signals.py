"""Weak signals become a lead (民生弱信号中的隐患强信息).

A post below the lead threshold is no lead by itself ("河边好像有点异味"), but three people
saying so about one street within a week is. This stage reads ``posts.scored``, what the
leadfinder found in the posts it scored below its threshold and placed to a street (the
extractor runs once per post, in the leadfinder), keeps every post that is at least
``weak_signals.min_score`` likely a lead, names a kind of problem and is placed to a street
(``weak_signals`` table), and when ``posts`` signals from different authors on one
category and place fall within ``window_days`` of each other it emits one ``Lead`` with
all of them as evidence (cluster ``weak-…``), the rule and its window as the reason. The
verifier then rules on it like any lead (the ``weak_signal`` rule sends it to an analyst,
unless it is one more report of an open case). Further signals join the same cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from verifier.rules import VerifierConfig, WeakSignalRule, load_config
from xianban.configfile import SafeLoader
from xianban.errors import ConfigError
from xianban.labels import CATEGORY_LABELS
from xianban.records import Geo, Lead, Post, Record, ScoredPost, stable_id
from xianban.stage import StageContext
from xianban.store.verification import (
    WeakSignal,
    add_weak_signal,
    claim_weak_signals,
    weak_signals_near,
)

KIND_MIN_WEIGHT = 0.4
"""A post names a kind of problem when its taxonomy phrases weigh at least this much."""


class Kinds:
    """The taxonomy's phrases (configs/taxonomy.yaml): which kind of problem a text names."""

    def __init__(self, phrases: dict[str, dict[str, float]]) -> None:
        self.phrases = phrases

    @classmethod
    def load(cls, configs_dir: Path) -> Kinds:
        path = configs_dir / "taxonomy.yaml"
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), SafeLoader)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        return cls(
            {
                code: {str(p): float(w) for p, w in (body.get("phrases") or {}).items()}
                for code, body in data.items()
            }
        )

    def kind(self, text: str) -> tuple[str, list[str]] | None:
        best: tuple[float, str, list[str]] | None = None
        for code, phrases in self.phrases.items():
            hits = [p for p in phrases if p in text]
            weight = sum(phrases[p] for p in hits)
            if hits and weight >= KIND_MIN_WEIGHT and (best is None or weight > best[0]):
                best = (weight, code, hits)
        return None if best is None else (best[1], best[2])


def place_key(geo: Geo, level: str) -> str | None:
    """The place two signals must share, or None when the post is not placed that finely."""
    if geo.district is None or geo.street is None:
        return None
    key = f"{geo.district}/{geo.street}"
    if level == "street":
        return key
    finer = getattr(geo, level)
    return None if finer is None else f"{key}/{finer}"


def _author(signal: WeakSignal) -> str:
    return str(signal.lead.get("author") or signal.post_id)


def gathering(signals: list[WeakSignal], at: datetime, rule: WeakSignalRule) -> list[WeakSignal]:
    """The signals of a window of ``window_days`` that holds ``at`` and enough authors."""
    window = timedelta(days=rule.window_days)
    for start in signals:
        if not start.posted_at <= at <= start.posted_at + window:
            continue
        inside = [s for s in signals if start.posted_at <= s.posted_at <= start.posted_at + window]
        if len({_author(s) for s in inside}) >= rule.posts:
            return inside
    return []


class WeakSignalStage:
    name = "weak-signals"
    input = ScoredPost

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.cfg: VerifierConfig | None = None
        self.kinds: Kinds | None = None

    async def start(self) -> None:
        configs = self.ctx.settings.configs_dir
        self.cfg = load_config(configs)
        self.kinds = Kinds.load(configs)

    async def handle(self, scored: ScoredPost) -> Sequence[Record]:
        assert self.cfg is not None and self.kinds is not None
        rule = self.cfg.rules.weak_signals
        if not rule.enabled:
            return []
        record, found = scored.post, scored
        if found.score < rule.min_score:
            return []  # chatter
        kind = (found.category, []) if found.category else self.kinds.kind(record.text)
        place = place_key(found.geo, rule.place_level)
        if kind is None or place is None:
            return []
        category, hits = kind
        at = record.created_at or record.fetched_at
        signal = WeakSignal(
            post_id=record.post_id,
            category=category,
            place=place,
            posted_at=at,
            score=found.score,
            cluster_id=None,
            lead={
                "author": record.author.id or record.author.name,
                "platform": record.platform,
                "url": record.url,
                "text": record.text,
                "title": record.title,
                "geo": found.geo.model_dump(),
                "urgent": found.urgent,
                "hits": hits,
            },
        )
        store = self.ctx.store
        await add_weak_signal(store, signal)
        window = timedelta(days=rule.window_days)
        near = await weak_signals_near(
            store, category=category, place=place, since=at - window, until=at + window
        )
        together = gathering(near, at, rule)
        if not together:
            return []
        claimed = sorted({s.cluster_id for s in together if s.cluster_id})
        cluster_id = (
            claimed[0]
            if claimed
            else "weak-" + stable_id("weak", category, place, together[0].post_id)
        )
        await claim_weak_signals(store, [s.post_id for s in together], cluster_id)
        return [self._lead(record, together, cluster_id, category, rule)]

    def _lead(
        self,
        record: Post,
        together: list[WeakSignal],
        cluster_id: str,
        category: str,
        rule: WeakSignalRule,
    ) -> Lead:
        first: dict[str, Any] = together[0].lead
        geo = Geo.model_validate(first["geo"]).model_copy(update={"road": None, "poi": None})
        miss = 1.0
        for s in together:
            miss *= 1.0 - s.score
        label = CATEGORY_LABELS.get(category, category)
        where = f"{geo.district}{geo.street}"
        authors = len({_author(s) for s in together})
        reason = (
            f"弱信号汇聚：{len(together)} 条各自低于线索阈值的帖子（{authors} 位作者），"
            f"{rule.window_days:g} 天内同一地点（{where}）同类问题（{label}）"
        )
        hits = sorted({h for s in together for h in s.lead.get("hits", [])})
        return Lead.model_validate(
            {
                "lead_id": stable_id("weak", cluster_id, record.post_id),
                "cluster_id": cluster_id,
                "post_ids": [s.post_id for s in together],
                "platform": record.platform,
                "url": record.url,
                "title": f"{where}{label}（多人反映）",
                "text": "\n".join(f"· {s.lead.get('text', '')}" for s in together),
                "category": category,
                "urgent": any(s.lead.get("urgent") for s in together),
                "geo": geo,
                "score": round(min(0.99, 1.0 - miss), 4),
                "reasons": [reason, *(f"问题词：{h}" for h in hits)],
                "features": {"weak_signals": float(len(together))},
                "corroboration": len(together) - 1,
                "posted_at": max(s.posted_at for s in together),
            }
        )

    async def close(self) -> None:
        return None
