"""Leadfinder stage: a post in, a lead out when the post is an actionable city problem.

The lead joins the cluster of the near-duplicates the store already holds (a repost, the
same complaint on another platform), so verification and case opening see one problem with
its corroboration count instead of many.

Two paths give the same leads. ``handle`` (one post) asks the store for the recent leads
of the post's category. ``handle_batch`` (the records of one poll) scores the posts with
``Extractor.extract_many``, clusters them against the window in memory
(``leadfinder.window``) and writes posts, leads and clusters in one transaction. The window
is rebuilt from the store when the worker's partitions change and topped up every
``REFRESH_S`` with the leads other workers stored, so workers on other partitions still
find each other's near-duplicates (a lead stored more than ``OVERLAP`` after it was found
may be missed by the others: it then starts a cluster of its own, nothing is lost).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from leadfinder.cluster import hamming, simhash
from leadfinder.extract import Extraction, Extractor, read_mapping
from leadfinder.window import ClusterWindow, Seen
from xianban.records import Lead, Post, Record, ScoredPost, stable_id, utcnow
from xianban.stage import StageContext

REFRESH_S = 1.0
"""How often a batch first reads the leads other workers stored (found-at stamps only;
full leads just for the ones this worker does not know)."""
OVERLAP = timedelta(seconds=10)
"""Each refresh reads back this far before the last one: a lead is stored a little after
it is found (its batch's write), and clocks differ a little between machines."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def make_lead(post: Post, found: Extraction, lead_id: str, cluster_id: str, corr: int) -> Lead:
    assert found.category is not None
    return Lead(
        lead_id=lead_id,
        cluster_id=cluster_id,
        post_ids=[post.post_id],
        platform=post.platform,
        url=post.url,
        title=post.title,
        text=post.text,
        category=found.category,
        urgent=found.urgent,
        urgency_triggers=found.urgency_triggers,
        geo=found.geo,
        score=found.score,
        reasons=found.reasons,
        features=found.features,
        corroboration=corr,
        posted_at=post.created_at,
    )


def below_threshold(post: Post, found: Extraction) -> list[Record]:
    """The weak-signal stage's share of a post that is no lead: what was found, when the
    post is placed to a street (the coarsest place two weak signals can share)."""
    if found.is_lead or found.geo.district is None or found.geo.street is None:
        return []
    return [
        ScoredPost(
            post=post,
            score=found.score,
            category=found.category,
            urgent=found.urgent,
            geo=found.geo,
        )
    ]


class LeadfinderStage:
    name = "leadfinder"
    input = Post

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.extractor: Extractor | None = None
        self.cluster: dict[str, Any] = {}
        self.window = ClusterWindow(limit=1)
        self._refreshed_at = 0.0
        """``time.monotonic()`` of the last refresh (0: the window is to be rebuilt)."""
        self._stamp = EARLIEST
        """The newest found-at seen by the last refresh."""

    async def start(self) -> None:
        configs = self.ctx.settings.configs_dir
        # Seconds of dictionaries and automata: in a thread, so a loop that starts its
        # stages together (``run --once``) crawls meanwhile.
        self.extractor = await asyncio.to_thread(Extractor.load, configs)
        self.cluster = read_mapping(configs / "leadfinder.yaml")["cluster"]
        self.window = ClusterWindow(limit=int(self.cluster["lookback_limit"]))

    @property
    def _window_span(self) -> timedelta:
        return timedelta(hours=float(self.cluster["window_hours"]))

    # -- one post: the store is the window -----------------------------------------------

    async def handle(self, record: Post) -> Sequence[Record]:
        assert self.extractor is not None, "start() first"
        await self.ctx.store.upsert_post(record)
        found = self.extractor.extract(record)
        if not found.is_lead or found.category is None:
            return below_threshold(record, found)
        lead_id = stable_id(record.post_id)
        cluster_id, corroboration = await self._cluster(record, lead_id, found)
        lead = make_lead(record, found, lead_id, cluster_id, corroboration)
        # Stored now, not only when the verifier gets it: the next near-duplicate (in this batch
        # or on another worker's partition) must find this lead to join its cluster.
        await self.ctx.store.upsert_lead(lead)
        self.window.add(lead)
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
        window = self._window_span
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

    # -- a batch: the window in memory, one write ------------------------------------------

    async def assigned(self, partitions: frozenset[tuple[str, int]]) -> None:
        """Partitions moved: the leads their previous owner stored are in the store, not
        in this window. Rebuilt before the next batch."""
        self._refreshed_at = 0.0

    async def handle_batch(self, records: Sequence[Post]) -> list[Sequence[Record]]:
        assert self.extractor is not None, "start() first"
        await self._refresh()
        found = self.extractor.extract_many(records)
        batch = _Batch(self, await self._originals(records, found))
        out: list[Sequence[Record]] = []
        leads: list[Lead] = []
        try:
            for post, extraction in zip(records, found, strict=True):
                if not extraction.is_lead or extraction.category is None:
                    out.append(below_threshold(post, extraction))
                    continue
                lead = await batch.lead_for(post, extraction)
                leads.append(lead)
                out.append([lead])
            await self.ctx.store.store_posts_and_leads(records, leads)
        except BaseException:
            batch.undo()  # a retry (or the one-by-one fallback) must not see these leads
            raise
        return out

    async def _refresh(self) -> None:
        """Rebuild the window (first batch, or after a rebalance), or top it up with the
        leads stored since the last refresh that it does not hold yet."""
        now = time.monotonic()
        store = self.ctx.store
        if self._refreshed_at == 0.0:
            self.window.clear()
            newest = await store.newest_leads(per_category=self.window.limit + self.window.slack)
            self.window.add_all(newest)
            self._stamp = max((lead.found_at for lead in newest), default=EARLIEST)
        elif now - self._refreshed_at >= REFRESH_S:
            stamps = await store.lead_stamps(since=self._stamp - OVERLAP)
            unknown = [lead_id for lead_id, at in stamps if not self.window.knows(lead_id, at)]
            if unknown:
                self.window.add_all((await store.get_leads(unknown)).values())
            self._stamp = max([self._stamp, *(at for _, at in stamps)])
        else:
            return
        self._refreshed_at = now

    async def _originals(
        self, records: Sequence[Post], found: Sequence[Extraction]
    ) -> dict[str, Lead]:
        """The stored leads the batch's reposts point at (one read, reposts only)."""
        wanted = {
            stable_id(post.repost_of)
            for post, f in zip(records, found, strict=True)
            if post.repost_of and f.is_lead and f.category is not None
        }
        return await self.ctx.store.get_leads(wanted) if wanted else {}

    async def close(self) -> None:
        return None


class _Batch:
    """Clustering one batch in order, as the store would see it post by post: leads made
    earlier in the batch count as stored."""

    def __init__(self, stage: LeadfinderStage, originals: dict[str, Lead]) -> None:
        self.stage = stage
        self.originals = originals
        self.made: dict[str, Lead] = {}
        """Leads made in this batch, by id (the last version)."""
        self.members: dict[str, set[str]] = {}
        """Cluster id -> lead ids, as the store holds them plus this batch's leads."""
        self.replaced: dict[str, Seen | None] = {}
        """What the window held for each lead this batch put there, to undo it."""

    async def lead_for(self, post: Post, found: Extraction) -> Lead:
        lead_id = stable_id(post.post_id)
        mine = simhash(post.text)
        cluster_id, corroboration = await self._cluster(post, lead_id, found, mine)
        lead = make_lead(post, found, lead_id, cluster_id, corroboration)
        self._keep(lead, mine)
        return lead

    def _keep(self, lead: Lead, hashed: int) -> None:
        for cluster_id, lead_ids in self.members.items():
            if cluster_id == lead.cluster_id:
                lead_ids.add(lead.lead_id)
            else:
                lead_ids.discard(lead.lead_id)
        self.made[lead.lead_id] = lead
        window = self.stage.window
        self.replaced.setdefault(lead.lead_id, window.get(lead.lead_id))
        window.add(lead, hashed)  # the lead's text is the post's

    def undo(self) -> None:
        window = self.stage.window
        for lead_id, before in self.replaced.items():
            window.remove(lead_id)
            if before is not None:
                window.add_seen(before)

    async def _members(self, cluster_id: str) -> set[str]:
        if cluster_id not in self.members:
            stored = (await self.stage.ctx.store.cluster_members([cluster_id]))[cluster_id]
            # The store has not seen this batch yet: put its leads where they now are.
            for lead_id, lead in self.made.items():
                stored.discard(lead_id)
                if lead.cluster_id == cluster_id:
                    stored.add(lead_id)
            self.members[cluster_id] = stored
        return self.members[cluster_id]

    async def _cluster(
        self, post: Post, lead_id: str, found: Extraction, mine: int
    ) -> tuple[str, int]:
        if post.repost_of:
            original_id = stable_id(post.repost_of)
            original = self.made.get(original_id) or self.originals.get(original_id)
            if original is not None:
                members = await self._members(original.cluster_id)
                return original.cluster_id, len(members | {lead_id}) - 1
        assert found.category is not None
        stage = self.stage
        when = post.created_at or utcnow()
        span = stage._window_span
        near = stage.window.near(
            category=found.category,
            district=found.geo.district,
            since=when - span,
            when=when,
            window=span,
            mine=mine,
            max_hamming=int(stage.cluster["max_hamming"]),
            exclude=lead_id,
        )
        if not near:
            return stable_id("cluster", lead_id), 0
        earliest = min(near, key=_first_reported)
        return earliest.cluster_id, sum(seen.cluster_id == earliest.cluster_id for seen in near)


def _first_reported(seen: Seen) -> tuple[datetime, str]:
    return (seen.posted_at or seen.found_at, seen.lead_id)
