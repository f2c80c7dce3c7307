"""Leadfinder stage: a post in, a lead out when the post is an actionable city problem.

The lead joins the cluster of the near-duplicates the store already holds (a repost, the
same complaint on another platform), so verification and case opening see one problem with
its corroboration count instead of many.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from leadfinder.cluster import hamming, simhash
from leadfinder.extract import Extraction, Extractor, read_mapping
from xianban.records import Lead, Post, Record, stable_id, utcnow
from xianban.stage import StageContext


class LeadfinderStage:
    name = "leadfinder"
    input = Post

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.extractor: Extractor | None = None
        self.cluster: dict[str, Any] = {}

    async def start(self) -> None:
        configs = self.ctx.settings.configs_dir
        self.extractor = Extractor.load(configs)
        self.cluster = read_mapping(configs / "leadfinder.yaml")["cluster"]

    async def handle(self, record: Post) -> Sequence[Record]:
        assert self.extractor is not None, "start() first"
        await self.ctx.store.upsert_post(record)
        found = self.extractor.extract(record)
        if not found.is_lead or found.category is None:
            return []
        lead_id = stable_id(record.post_id)
        cluster_id, corroboration = await self._cluster(record, lead_id, found)
        lead = Lead(
            lead_id=lead_id,
            cluster_id=cluster_id,
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
            corroboration=corroboration,
            posted_at=record.created_at,
        )
        # Stored now, not only when the verifier gets it: the next near-duplicate (in this batch
        # or on another worker's partition) must find this lead to join its cluster.
        await self.ctx.store.upsert_lead(lead)
        return [lead]

    async def _cluster(self, post: Post, lead_id: str, found: Extraction) -> tuple[str, int]:
        """(cluster id, how many other posts back it up), from the earliest near-duplicate."""
        store = self.ctx.store
        if post.repost_of:
            original = await store.get_lead(stable_id(post.repost_of))
            if original is not None:
                members = await store.leads_in_cluster(original.cluster_id)
                return original.cluster_id, len({m.lead_id for m in members} | {lead_id}) - 1
        when = post.created_at or utcnow()
        window = timedelta(hours=float(self.cluster["window_hours"]))
        recent = await store.recent_leads(
            since=when - window, limit=int(self.cluster["lookback_limit"]), category=found.category
        )
        mine = simhash(post.text)
        near = [
            lead
            for lead in recent
            if lead.lead_id != lead_id
            and lead.category == found.category
            and lead.geo.district == found.geo.district
            and hamming(simhash(lead.text), mine) <= int(self.cluster["max_hamming"])
            and (lead.posted_at is None or abs(lead.posted_at - when) <= window)
        ]
        if not near:
            return stable_id("cluster", lead_id), 0
        earliest = min(near, key=lambda lead: (lead.posted_at or lead.found_at, lead.lead_id))
        return earliest.cluster_id, sum(lead.cluster_id == earliest.cluster_id for lead in near)

    async def close(self) -> None:
        return None
