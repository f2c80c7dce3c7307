"""Leadfinder stage: a post in, a lead out when the post is an actionable city problem.

The lead joins the cluster of the near-duplicates the store already holds (a repost, the
same complaint on another platform), so verification and case opening see one problem with
its corroboration count instead of many. A near-identical copy (``cluster.near_identical``)
joins whatever category the model gave it and takes the cluster's; a repost or copy of a
lead that the model scores below the lead threshold (a bare "转发微博", a prefix the model
reads as chatter) is that lead reported again: it joins as corroboration with the lead's
category, place, urgency and score.

Two paths give the same leads. ``handle`` (one post) asks the store for the recent leads
(of any category, for copies; of the post's, when that query stopped at its limit).
``handle_batch`` (the records of one poll) scores the posts with
``Extractor.extract_many``, clusters them against the window in memory
(``leadfinder.window``) and writes posts, leads and clusters in one transaction. The window
is rebuilt from the store when the worker's partitions change and topped up every
``REFRESH_S`` with the leads other workers stored, so workers on other partitions still
find each other's near-duplicates (a lead stored more than ``OVERLAP`` after it was found
may be missed by the others: it then starts a cluster of its own, nothing is lost).

With ``extract_in_child`` (the embedded deployment) the posts are scored in a child
process (``leadfinder.scored.ExtractorProcess``), each batch submitted as soon as the
runtime has read it (``prepare``), a batch ahead of the one being clustered and stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from leadfinder.cluster import fingerprint, may_be_copy, near_identical
from leadfinder.extract import Extraction, Extractor, read_mapping
from leadfinder.scored import ExtractorProcess, Scored, is_lead, score_posts
from leadfinder.window import ClusterWindow, Reach, Seen, same_or_unknown
from xianban.records import Lead, Post, Record, ScoredPost, stable_id, utcnow
from xianban.stage import StageContext
from xianban.store.rows import RecentLead

REFRESH_S = 1.0
"""How often a batch first reads the leads other workers stored (found-at stamps only;
full leads just for the ones this worker does not know)."""
OVERLAP = timedelta(seconds=10)
"""Each refresh reads back this far before the last one: a lead is stored a little after
it is found (its batch's write), and clocks differ a little between machines."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Join:
    """Where a post's lead goes: its cluster, how many other posts back it up, and the
    lead it was matched to there (``None``: a cluster of its own)."""

    cluster_id: str
    corroboration: int
    to: Lead | Seen | RecentLead | None = None


def earliest_join(matches: Sequence[Lead | Seen | RecentLead]) -> Join:
    """The cluster of the first-reported match, backed by the matches in it."""
    first = min(matches, key=lambda m: (m.posted_at or m.found_at, m.lead_id))
    return Join(first.cluster_id, sum(m.cluster_id == first.cluster_id for m in matches), first)


def reach_of(post: Post, lead_id: str, mine: int, window: timedelta, max_hamming: int) -> Reach:
    """What may join the post's lead (``mine``: its SimHash): found within ``window``
    of the post, or of now for a post with no time."""
    when = post.created_at or utcnow()
    return Reach(
        since=when - window,
        when=when,
        window=window,
        mine=mine,
        max_hamming=max_hamming,
        exclude=lead_id,
    )


def window_join(
    window: ClusterWindow, found: Extraction, chars: str, reach: Reach, lead_id: str
) -> Join | None:
    """The earliest near-duplicate in ``window`` of a post (``chars``: its bare text): a
    near-identical copy of any category, or, for a lead, a lead of its category and
    district; a cluster of its own for a lead with none; ``None`` for a post that is
    neither a lead nor a copy of one. Reposts are the caller's (they join their original)."""
    if not is_lead(found) and not may_be_copy(chars):
        return None
    district = found.geo.district
    matches = {s.lead_id: s for s in window.copies(chars=chars, district=district, reach=reach)}
    if is_lead(found):
        assert found.category is not None
        for seen in window.near(category=found.category, district=district, reach=reach):
            matches.setdefault(seen.lead_id, seen)
    if matches:
        return earliest_join(list(matches.values()))
    return Join(stable_id("cluster", lead_id), 0) if is_lead(found) else None


def make_lead(
    post: Post, found: Extraction, lead_id: str, join: Join, labels: Mapping[str, str]
) -> Lead:
    """A lead takes its cluster's category (the lead it joined keeps the one it was filed
    under). A post the model scores below the threshold is a lead only as a copy of one:
    what it says is what that lead says, so it takes that lead's place, urgency and score
    (its own low score would have the verifier reject a cluster waiting for review)."""
    to = join.to
    if is_lead(found):
        assert found.category is not None
        category, urgent, triggers = found.category, found.urgent, found.urgency_triggers
        geo, score, reasons = found.geo, found.score, list(found.reasons)
        if to is not None and to.category != category:
            reasons.append(
                f"类别:沿用同一内容的线索 {to.lead_id} 的「{labels[to.category]}」"
                f"(模型判本帖为「{labels[category]}」)"
            )
            category = to.category
    else:
        assert isinstance(to, Lead | Seen), "a post below the threshold is a lead only as a copy"
        category, urgent, triggers = to.category, to.urgent, to.urgency_triggers
        geo, score = to.geo, to.score
        reasons = [
            f"转载:转发或照搬线索 {to.lead_id}，模型对本帖评分 {found.score:.2f} 低于线索阈值，"
            f"沿用原帖的类别、地点与评分，作为佐证并入其线索簇",
            *found.reasons,
        ]
    return Lead(
        lead_id=lead_id,
        cluster_id=join.cluster_id,
        post_ids=[post.post_id],
        platform=post.platform,
        url=post.url,
        title=post.title,
        text=post.text,
        category=category,
        urgent=urgent,
        urgency_triggers=triggers,
        geo=geo,
        score=score,
        reasons=reasons,
        features=found.features,
        corroboration=join.corroboration,
        posted_at=post.created_at,
    )


def below_threshold(post: Post, found: Extraction) -> list[Record]:
    """The weak-signal stage's share of a post that is no lead: what was found, when the
    post is placed to a street (the coarsest place two weak signals can share)."""
    if is_lead(found) or found.geo.district is None or found.geo.street is None:
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
        """The extractor, in this process unless the posts are scored in a child."""
        self.child: ExtractorProcess | None = None
        self.labels: Mapping[str, str] = {}
        """Category code -> its Chinese label, for the reasons of a lead."""
        self.cluster: dict[str, Any] = {}
        self.window = ClusterWindow(limit=1)
        self._refreshed_at = 0.0
        """``time.monotonic()`` of the last refresh (0: the window is to be rebuilt)."""
        self._stamp = EARLIEST
        """The newest found-at seen by the last refresh."""
        self._ahead: list[tuple[Sequence[Post], asyncio.Future[Any]]] = []
        """Batches ``prepare`` submitted to the child, oldest first, until handled."""

    async def start(self) -> None:
        configs = self.ctx.settings.configs_dir
        if self.ctx.settings.extract_in_child:
            self.child = ExtractorProcess(configs)
            self.labels = await self.child.start()
        else:
            # Seconds of dictionaries and automata: in a thread, so a loop that starts its
            # stages together (``run --once``) crawls meanwhile.
            self.extractor = await asyncio.to_thread(Extractor.load, configs)
            self.labels = self.extractor.labels
        self.cluster = read_mapping(configs / "leadfinder.yaml")["cluster"]
        self.window = ClusterWindow(limit=int(self.cluster["lookback_limit"]))

    @property
    def _window_span(self) -> timedelta:
        return timedelta(hours=float(self.cluster["window_hours"]))

    # -- scoring: here, or in the child a batch ahead ----------------------------------------

    def prepare(self, records: Sequence[Post]) -> bool:
        """Submit the batch to the child at once (``PreparingStage``): it scores while
        the worker handles the batch before. False without a child."""
        if self.child is None:
            return False
        self._ahead.append((records, self.child.submit(records)))
        return True

    async def _scored(self, records: Sequence[Post]) -> list[Scored]:
        if self.child is None:
            assert self.extractor is not None, "start() first"
            return score_posts(self.extractor, records)
        at = next((i for i, (batch, _) in enumerate(self._ahead) if batch is records), None)
        if at is None:  # not prepared (a record handled alone, a caller of its own)
            return await self.child.result(self.child.submit(records))
        for _, stale in self._ahead[:at]:  # read ahead, then dropped by the worker
            stale.cancel()
        del self._ahead[:at]
        pending = self._ahead[0][1]
        try:
            return await self.child.result(pending)
        except BaseException:
            del self._ahead[0]  # a retry submits the batch again
            raise

    # -- one post: the store is the window -----------------------------------------------

    async def handle(self, record: Post) -> Sequence[Record]:
        await self.ctx.store.upsert_post(record)
        scored = (await self._scored([record]))[0]
        found = scored.found
        lead_id = stable_id(record.post_id)
        join = await self._cluster(record, lead_id, scored)
        if join is None:
            return below_threshold(record, found)
        lead = make_lead(record, found, lead_id, join, self.labels)
        # Stored now, not only when the verifier gets it: the next near-duplicate (in this batch
        # or on another worker's partition) must find this lead to join its cluster.
        await self.ctx.store.upsert_lead(lead)
        self.window.add(lead)
        return [lead]

    async def _cluster(self, post: Post, lead_id: str, scored: Scored) -> Join | None:
        """The earliest near-duplicate's cluster; ``None`` for a post that is neither a
        lead nor a copy of one."""
        found, chars, mine = scored
        if chars is None:  # neither a lead, nor a repost, nor a copy of one
            return None
        store = self.ctx.store
        if post.repost_of:
            original = await store.get_lead(stable_id(post.repost_of))
            if original is not None:
                members = await store.leads_in_cluster(original.cluster_id)
                corroboration = len({m.lead_id for m in members} | {lead_id}) - 1
                return Join(original.cluster_id, corroboration, original)
        if not is_lead(found) and not may_be_copy(chars):  # a repost whose original is gone
            return None
        reach = self._reach(post, lead_id, mine)
        limit = int(self.cluster["lookback_limit"])
        district = found.geo.district

        def kept(lead: RecentLead) -> bool:
            return reach.keeps(lead.lead_id, lead.posted_at, fingerprint(lead.text)[1])

        recent = await store.recent_leads(since=reach.since, limit=limit)
        matches = {
            lead.lead_id: lead
            for lead in recent
            if same_or_unknown(lead.district, district)
            and kept(lead)
            and near_identical(fingerprint(lead.text)[0], chars)
        }
        if is_lead(found):
            # Fewer than ``limit`` of any category: they are all there are of this one.
            of_category = (
                [lead for lead in recent if lead.category == found.category]
                if len(recent) < limit
                else await store.recent_leads(
                    since=reach.since, limit=limit, category=found.category
                )
            )
            for lead in of_category:
                if lead.district == district and kept(lead):
                    matches.setdefault(lead.lead_id, lead)
        if not matches:
            return Join(stable_id("cluster", lead_id), 0) if is_lead(found) else None
        join = earliest_join(list(matches.values()))
        if is_lead(found):
            return join
        # A copy takes what its original found: the whole lead, not just what was compared.
        assert join.to is not None
        return replace(join, to=await store.get_lead(join.to.lead_id))

    def _reach(self, post: Post, lead_id: str, mine: int) -> Reach:
        return reach_of(post, lead_id, mine, self._window_span, int(self.cluster["max_hamming"]))

    # -- a batch: the window in memory, one write ------------------------------------------

    async def assigned(self, partitions: frozenset[tuple[str, int]]) -> None:
        """Partitions moved: the leads their previous owner stored are in the store, not
        in this window. Rebuilt before the next batch."""
        self._refreshed_at = 0.0

    async def handle_batch(self, records: Sequence[Post]) -> list[Sequence[Record]]:
        await self._refresh()
        scored = await self._scored(records)
        batch = _Batch(self, *await self._originals(records))
        out: list[Sequence[Record]] = []
        leads: list[Lead] = []
        try:
            for post, each in zip(records, scored, strict=True):
                lead = await batch.lead_for(post, each)
                if lead is None:
                    out.append(below_threshold(post, each.found))
                    continue
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
        self, records: Sequence[Post]
    ) -> tuple[dict[str, Lead], dict[str, set[str]]]:
        """The stored leads the batch's reposts point at (one read, reposts only: a repost
        the model scores below the threshold still joins its original), and the stored
        members of the clusters those reposts may join (one read): a stored original's,
        or the one an original made in this batch starts. A read a cluster was 50 reads
        in the bench's 2,000 posts, each of them one of these."""
        wanted = {stable_id(post.repost_of) for post in records if post.repost_of}
        if not wanted:
            return {}, {}
        store = self.ctx.store
        originals = await store.get_leads(wanted)
        clusters = {lead.cluster_id for lead in originals.values()}
        clusters |= {stable_id("cluster", lead_id) for lead_id in wanted}
        return originals, await store.cluster_members(clusters)

    async def close(self) -> None:
        self._ahead.clear()
        if self.child is not None:
            await self.child.close()


class _Batch:
    """Clustering one batch in order, as the store would see it post by post: leads made
    earlier in the batch count as stored."""

    def __init__(
        self, stage: LeadfinderStage, originals: dict[str, Lead], stored: dict[str, set[str]]
    ) -> None:
        self.stage = stage
        self.originals = originals
        self.stored = stored
        """Cluster id -> lead ids as the store held them when the batch began, for the
        clusters its reposts may join (``LeadfinderStage._originals``)."""
        self.made: dict[str, Lead] = {}
        """Leads made in this batch, by id (the last version)."""
        self.members: dict[str, set[str]] = {}
        """Cluster id -> lead ids, as the store holds them plus this batch's leads."""
        self.replaced: dict[str, Seen | None] = {}
        """What the window held for each lead this batch put there, to undo it."""

    async def lead_for(self, post: Post, scored: Scored) -> Lead | None:
        """``None`` for a post that is neither a lead nor a copy of one."""
        found, chars, mine = scored
        if chars is None:
            return None
        lead_id = stable_id(post.post_id)
        join = await self._cluster(post, lead_id, found, chars, mine)
        if join is None:
            return None
        lead = make_lead(post, found, lead_id, join, self.stage.labels)
        self._keep(lead, chars, mine)
        return lead

    def _keep(self, lead: Lead, chars: str, hashed: int) -> None:
        for cluster_id, lead_ids in self.members.items():
            if cluster_id == lead.cluster_id:
                lead_ids.add(lead.lead_id)
            else:
                lead_ids.discard(lead.lead_id)
        self.made[lead.lead_id] = lead
        window = self.stage.window
        self.replaced.setdefault(lead.lead_id, window.get(lead.lead_id))
        window.add(lead, chars, hashed)  # the lead's text is the post's

    def undo(self) -> None:
        window = self.stage.window
        for lead_id, before in self.replaced.items():
            window.remove(lead_id)
            if before is not None:
                window.add_seen(before)

    async def _members(self, cluster_id: str) -> set[str]:
        if cluster_id not in self.members:
            known = self.stored.get(cluster_id)
            stored = (
                set(known)
                if known is not None
                else (await self.stage.ctx.store.cluster_members([cluster_id]))[cluster_id]
            )
            # The store has not seen this batch yet: put its leads where they now are.
            for lead_id, lead in self.made.items():
                stored.discard(lead_id)
                if lead.cluster_id == cluster_id:
                    stored.add(lead_id)
            self.members[cluster_id] = stored
        return self.members[cluster_id]

    async def _cluster(
        self, post: Post, lead_id: str, found: Extraction, chars: str, mine: int
    ) -> Join | None:
        """``LeadfinderStage._cluster`` against the window and this batch."""
        if post.repost_of:
            original_id = stable_id(post.repost_of)
            original = self.made.get(original_id) or self.originals.get(original_id)
            if original is not None:
                members = await self._members(original.cluster_id)
                return Join(original.cluster_id, len(members | {lead_id}) - 1, original)
        reach = self.stage._reach(post, lead_id, mine)
        return window_join(self.stage.window, found, chars, reach, lead_id)
