"""What the verifier looks up before ruling on a lead, and the follow-up verdict.

The rules are pure functions of a lead and this context, so they are tested without a
store; the lookups (confirmed leads on the same category, district and street within the
duplicate window) are one indexed query per lead.
"""

from __future__ import annotations

from datetime import timedelta

from verifier.rules import Context, VerifierConfig
from xianban.records import Lead, Verdict, stable_id, utcnow
from xianban.store import Store
from xianban.store.listing import confirmed_near


async def gather(store: Store, lead: Lead, cfg: VerifierConfig) -> Context:
    now = utcnow()
    rule = cfg.rules.duplicate_open_case
    if not rule.enabled or lead.geo.district is None or lead.geo.street is None:
        return Context(now=now)
    near = await confirmed_near(
        store,
        category=lead.category,
        district=lead.geo.district,
        street=lead.geo.street,
        since=now - timedelta(hours=rule.window_hours),
        exclude_cluster=lead.cluster_id,
    )
    return Context(now=now, near=tuple(near))


def follow_up(lead: Lead, previous: Verdict) -> Verdict:
    """Another report in a cluster already confirmed: it joins the same case."""
    target = previous.duplicate_of or previous.cluster_id
    return Verdict(
        verdict_id=stable_id(lead.cluster_id, lead.lead_id, "follow_up"),
        cluster_id=lead.cluster_id,
        lead=lead,
        decision="confirmed",
        by="rule:duplicate_open_case",
        reason=f"已确认线索簇的新报告，作为佐证并入线索 {target} 的工单",
        duplicate_of=target,
    )
