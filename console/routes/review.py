"""线索审核队列: analysts confirm, reject or correct the leads the rules could not decide.

Each action publishes a ``Verdict`` by ``analyst:<name>`` on ``verdicts`` (a confirmation
is what makes the case opener file a work order), records it in the store so the queue
updates at once, and writes the audit log. The verdict id is derived from the action, so a
double-clicked button is recognised and changes nothing the second time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from console.auth import Principal
from console.deps import Analyst, AnalystForm, PagesDep, Publish, PublishDep, StoreDep
from console.metrics import ANALYST_ACTIONS
from xianban.records import Category, Decision, Geo, Lead, Verdict, stable_id

router = APIRouter()

Outcome = Literal["confirmed", "rejected", "amended"]
OUTCOME_MESSAGES: dict[str, str] = {
    "confirmed": "已确认，线索将立案并报送工单系统",
    "rejected": "已驳回该线索",
    "amended": "已保存修改，线索仍在队列中等待确认",
}
DECISION_LABELS: dict[str, str] = {"confirmed": "已确认", "rejected": "已驳回"}
GeoField = Annotated[str, Form(max_length=64)]


@router.get("/review")
async def review_queue(
    request: Request, user: Analyst, store: StoreDep, pages: PagesDep, done: str = ""
) -> Response:
    # Urgent leads first (they must be dispatched within 30 minutes), newest first within.
    queue = sorted(await store.review_queue(limit=100), key=lambda v: not v.lead.urgent)
    return pages.render(
        request,
        "review.html",
        user=user,
        queue=queue,
        notice=OUTCOME_MESSAGES.get(done, ""),
    )


async def _decide(
    store: StoreDep,
    publish: Publish | None,
    user: Principal,
    cluster_id: str,
    *,
    decision: Decision,
    outcome: Outcome,
    reason: str,
    amend: dict[str, object] | None = None,
) -> Response:
    current = await store.latest_verdict(cluster_id)
    if current is None:
        raise HTTPException(404, f"没有找到线索簇 {cluster_id}")
    lead: Lead = current.lead.model_copy(update=amend) if amend else current.lead
    by = f"analyst:{user.name}"
    verdict_id = stable_id(cluster_id, lead.model_dump_json(), by, decision, reason)
    if current.verdict_id != verdict_id:  # the same action again is a no-op, not an error
        if current.decision != "needs_review":
            raise HTTPException(
                409,
                f"该线索已由 {current.by} 处理"
                f"（{DECISION_LABELS.get(current.decision, current.decision)}），无需重复操作",
            )
        if publish is None:
            raise HTTPException(503, "控制台未连接消息总线，暂时无法提交研判结果")
        verdict = Verdict(
            verdict_id=verdict_id,
            cluster_id=cluster_id,
            lead=lead,
            decision=decision,
            by=by,
            reason=reason,
        )
        await publish(verdict)
        await store.record_verdict(verdict)
        detail: dict[str, object] = {"decision": decision, "verdict_id": verdict_id}
        if amend:
            detail["amended"] = {k: _plain(v) for k, v in amend.items()}
        await store.audit(
            actor=user.name, action=f"lead.{outcome}", target=cluster_id, detail=detail
        )
        ANALYST_ACTIONS.labels(action=outcome).inc()
    return RedirectResponse(f"/review?done={outcome}", status_code=303)


def _or_none(value: str) -> str | None:
    return value.strip() or None


def _plain(value: object) -> object:
    return value.model_dump() if isinstance(value, Geo) else value


@router.post("/review/{cluster_id}/confirm")
async def confirm(
    cluster_id: str, user: AnalystForm, store: StoreDep, publish: PublishDep
) -> Response:
    return await _decide(
        store,
        publish,
        user,
        cluster_id,
        decision="confirmed",
        outcome="confirmed",
        reason="研判员人工确认",
    )


@router.post("/review/{cluster_id}/reject")
async def reject(
    cluster_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    return await _decide(
        store,
        publish,
        user,
        cluster_id,
        decision="rejected",
        outcome="rejected",
        reason=reason.strip() or "研判员人工驳回",
    )


@router.post("/review/{cluster_id}/amend")
async def amend(
    cluster_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    category: Annotated[Category, Form()],
    district: GeoField = "",
    street: GeoField = "",
    community: GeoField = "",
    road: GeoField = "",
    poi: GeoField = "",
) -> Response:
    geo = Geo(
        district=_or_none(district),
        street=_or_none(street),
        community=_or_none(community),
        road=_or_none(road),
        poi=_or_none(poi),
    )
    return await _decide(
        store,
        publish,
        user,
        cluster_id,
        decision="needs_review",
        outcome="amended",
        reason="研判员修改分类或地点",
        amend={"category": category, "geo": geo},
    )
