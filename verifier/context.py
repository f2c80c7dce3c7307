"""What the verifier looks up before ruling on a lead, and the follow-up verdict.

The rules are pure functions of a lead and this context, so they are tested without a
store; the lookup (leads of the district confirmed within the duplicate window) is one
query per lead.
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
    if not rule.enabled or lead.geo.district is None:
        return Context(now=now)
    # the district's confirmations in the window: the rule looks for the same problem at
    # the same place, or the same text (a repost filed under another category)
    near = await confirmed_near(
        store,
        category=None,
        district=lead.geo.district,
        street=None,
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
