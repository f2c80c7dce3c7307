"""Leadfinder stage: a post in, a lead out when the post is an actionable city problem."""

from __future__ import annotations

from collections.abc import Sequence

from leadfinder.extract import Extractor
from xianban.records import Lead, Post, Record, stable_id
from xianban.stage import StageContext


class LeadfinderStage:
    name = "leadfinder"
    input = Post

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.extractor: Extractor | None = None

    async def start(self) -> None:
        self.extractor = Extractor.load(self.ctx.settings.configs_dir)

    async def handle(self, record: Post) -> Sequence[Record]:
        assert self.extractor is not None, "start() first"
        await self.ctx.store.upsert_post(record)
        found = self.extractor.extract(record)
        if not found.is_lead or found.category is None:
            return []
        return [
            Lead(
                lead_id=stable_id(record.post_id),
                cluster_id=stable_id("cluster", record.post_id),
                post_ids=[record.post_id],
                platform=record.platform,
                url=record.url,
                title=record.title,
                text=record.text,
                category=found.category,
                urgent=found.urgent,
                urgency_triggers=found.urgency_triggers,
                geo=found.geo,
                score=found.score,
                reasons=found.reasons,
                features=found.features,
                posted_at=record.created_at,
            )
        ]

    async def close(self) -> None:
        return None
