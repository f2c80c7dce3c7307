"""An analyst's decision on a lead: checked against what others did meanwhile, then kept.

Two analysts may open the same lead. Each page carries the id of the verdict it showed
(``version``); a decision names that verdict as its base and gets the id
``stable_id(cluster, "after", base)``. Whoever records first wins: the verdicts table keeps
one row per id, so the second analyst's insert finds the first's and is answered 409 with
who decided what and when, on SQLite and PostgreSQL alike, with no lock held. The same
analyst repeating the same action (a double click, a resent form) changes nothing.

The verdict is recorded and audited first, then published on ``verdicts``. If the bus is
down at that moment the decision is kept (and said so); a confirmation that never reached
the case opener is filed by supervision's reconciliation (``confirmed_without_case``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import HTTPException

from console.auth import Principal
from console.deps import Publish
from console.metrics import ANALYST_ACTIONS
from console.rendering import local_time
from xianban.records import Decision, Geo, Lead, Verdict, stable_id
from xianban.store import Store

log = structlog.get_logger(__name__)

DECISION_LABELS: dict[str, str] = {
    "confirmed": "已确认",
    "rejected": "已驳回",
    "needs_review": "待审核",
}


def _plain(value: object) -> object:
    return value.model_dump() if isinstance(value, Geo) else value


def _same(current: Verdict, candidate: Verdict) -> bool:
    keys = ("by", "decision", "reason", "lead", "merged_into", "duplicate_of")
    return all(getattr(current, k) == getattr(candidate, k) for k in keys)


def conflict(current: Verdict) -> HTTPException:
    label = DECISION_LABELS.get(current.decision, current.decision)
    return HTTPException(
        409,
        f"该线索已由 {current.by} 于 {local_time(current.decided_at)} 更新"
        f"（{label}：{current.reason}），您的操作未生效，请刷新后查看最新状态再操作",
    )


async def current_verdict(store: Store, cluster_id: str) -> Verdict:
    current = await store.latest_verdict(cluster_id)
    if current is None:
        raise HTTPException(404, f"没有找到线索簇 {cluster_id}")
    return current


async def decide(
    store: Store,
    publish: Publish | None,
    user: Principal,
    cluster_id: str,
    *,
    decision: Decision,
    action: str,
    reason: str,
    version: str | None = None,
    lead: Lead | None = None,
    merged_into: str | None = None,
    duplicate_of: str | None = None,
    detail: Mapping[str, Any] | None = None,
    by: str | None = None,
) -> Verdict:
    """Record, audit and publish one decision; the verdict that stands afterwards.

    ``version`` is the verdict id the analyst's page showed (None: whatever is current,
    for API callers that do not lock). ``lead`` replaces the lead (a correction)."""
    current = await current_verdict(store, cluster_id)
    by = by or f"analyst:{user.name}"
    candidate = Verdict(
        verdict_id=stable_id(cluster_id, "after", current.verdict_id),
        cluster_id=cluster_id,
        lead=lead or current.lead,
        decision=decision,
        by=by,
        reason=reason,
        merged_into=merged_into,
        duplicate_of=duplicate_of,
    )
    if _same(current, candidate):
        return current  # the same action again: nothing changes the second time
    if version is not None and version != current.verdict_id:
        raise conflict(current)
    if current.decision != "needs_review":
        label = DECISION_LABELS.get(current.decision, current.decision)
        raise HTTPException(409, f"该线索已由 {current.by} 处理（{label}），无需重复操作")
    if publish is None:
        raise HTTPException(503, "控制台未连接消息总线，暂时无法提交研判结果")
    if not await store.record_verdict(candidate):
        raise conflict(await current_verdict(store, cluster_id))
    audit: dict[str, Any] = {
        "decision": decision,
        "verdict_id": candidate.verdict_id,
        "base": current.verdict_id,
        "reason": reason,
    }
    if lead is not None:
        changed = {
            k: _plain(getattr(lead, k))
            for k in ("category", "geo", "post_ids")
            if getattr(lead, k) != getattr(current.lead, k)
        }
        if changed:
            audit["amended"] = changed
    if merged_into:
        audit["merged_into"] = merged_into
    if duplicate_of:
        audit["duplicate_of"] = duplicate_of
    audit.update(detail or {})
    await store.audit(actor=user.name, action=action, target=cluster_id, detail=audit)
    ANALYST_ACTIONS.labels(action=action.removeprefix("lead.")).inc()
    try:
        await publish(candidate)
    except Exception as exc:
        log.warning("console.publish_failed", cluster_id=cluster_id, error=repr(exc))
        raise HTTPException(
            503,
            "消息总线暂不可用：研判结果已保存，确认的线索将由督办巡检补报工单系统",
        ) from exc
    return candidate


async def open_cluster(
    store: Store,
    publish: Publish | None,
    user: Principal,
    *,
    lead: Lead,
    verdict_id: str,
    action: str,
    reason: str,
    detail: Mapping[str, Any] | None = None,
) -> Verdict:
    """A new cluster an analyst made (by splitting one), queued for review."""
    if publish is None:
        raise HTTPException(503, "控制台未连接消息总线，暂时无法提交研判结果")
    verdict = Verdict(
        verdict_id=verdict_id,
        cluster_id=lead.cluster_id,
        lead=lead,
        decision="needs_review",
        by=f"analyst:{user.name}",
        reason=reason,
    )
    if await store.record_verdict(verdict):
        audit = {"decision": "needs_review", "verdict_id": verdict_id, **(detail or {})}
        await store.audit(actor=user.name, action=action, target=lead.cluster_id, detail=audit)
        await publish(verdict)
    return verdict
