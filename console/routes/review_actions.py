"""What an analyst does to a lead: confirm, reject (with a reason), correct its category or
place, merge it into another, split reports off it, send it for 现场核查, or act on many.

Every action goes through ``console.decisions.decide``: checked against the version the
analyst's page showed, recorded, audited with its reason, published. Places are checked
against the gazetteer before anything is recorded: a street that is not in the district
is refused with the reason, not filed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException
from starlette.responses import RedirectResponse, Response

from case_opener.stage import case_id_for
from console.auth import Principal
from console.decisions import conflict, current_verdict, decide, open_cluster
from console.deps import AnalystForm, DutiesDep, Publish, PublishDep, StoreDep
from xianban.records import Category, Geo, stable_id, utcnow
from xianban.store import Store
from xianban.store.verification import (
    SiteCheck,
    get_site_check,
    record_site_check_result,
    request_site_check,
)

router = APIRouter()

Version = Annotated[str | None, Form(max_length=64)]
GeoField = Annotated[str, Form(max_length=64)]
Note = Annotated[str, Form(max_length=500)]
Back = Annotated[str, Form(max_length=2000)]


def _back(back: str, default: str) -> str:
    """Where to go after an action: a console page we sent the analyst from, never elsewhere."""
    if back.startswith("/review") and "//" not in back and "\\" not in back:
        return back
    return default


def _with_done(url: str, done: str) -> str:
    base = url.split("#", 1)[0]
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}done={done}"


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@router.post("/review/{cluster_id}/confirm")
async def confirm(
    cluster_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    version: Version = None,
    back: Back = "",
) -> Response:
    await decide(
        store,
        publish,
        user,
        cluster_id,
        decision="confirmed",
        action="lead.confirmed",
        reason="研判员人工确认",
        version=version,
    )
    return _see_other(_with_done(_back(back, "/review"), "confirmed"))


def _reject_reason(preset: str, note: str) -> str:
    return "；".join(part for part in (preset.strip(), note.strip()) if part)


@router.post("/review/{cluster_id}/reject")
async def reject(
    cluster_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    reason: Note = "",
    note: Note = "",
    version: Version = None,
    back: Back = "",
) -> Response:
    text = _reject_reason(reason, note)
    current = await current_verdict(store, cluster_id)
    if not text and current.decision == "needs_review":
        raise HTTPException(400, "驳回线索须填写理由（将记入审计日志）")
    await decide(
        store,
        publish,
        user,
        cluster_id,
        decision="rejected",
        action="lead.rejected",
        reason=text or "研判员人工驳回",
        version=version,
    )
    return _see_other(_with_done(_back(back, "/review"), "rejected"))


def _or_none(value: str) -> str | None:
    return value.strip() or None


@router.post("/review/{cluster_id}/amend")
async def amend(
    cluster_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    duties: DutiesDep,
    category: Annotated[Category, Form()],
    district: GeoField = "",
    street: GeoField = "",
    community: GeoField = "",
    road: GeoField = "",
    poi: GeoField = "",
    version: Version = None,
    back: Back = "",
) -> Response:
    typed = Geo(
        district=_or_none(district),
        street=_or_none(street),
        community=_or_none(community),
        road=_or_none(road),
        poi=_or_none(poi),
    )
    geo, problems = duties.places.check(typed)
    if problems:
        raise HTTPException(400, "地点有误，未保存：" + "；".join(problems))
    current = await current_verdict(store, cluster_id)
    lead = current.lead.model_copy(update={"category": category, "geo": geo})
    await decide(
        store,
        publish,
        user,
        cluster_id,
        decision="needs_review",
        action="lead.amended",
        reason="研判员修改分类或地点",
        version=version,
        lead=lead,
    )
    return _see_other(_with_done(_back(back, f"/review/{cluster_id}"), "amended"))


@router.post("/review/{cluster_id}/merge")
async def merge(
    cluster_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    target: Annotated[str, Form(min_length=1, max_length=512)],
    version: Version = None,
    back: Back = "",
) -> Response:
    """Merge this lead into ``target``: its reports become the target's corroboration."""
    target = target.strip()
    if target == cluster_id:
        raise HTTPException(400, "不能把线索合并到它自己")
    into = await current_verdict(store, target)
    source = await current_verdict(store, cluster_id)
    if version is not None and version != source.verdict_id:
        raise conflict(source)
    members = await store.leads_in_cluster(cluster_id) or [source.lead]
    posts = list(dict.fromkeys([p for m in members for p in m.post_ids] + source.lead.post_ids))
    if into.decision == "rejected":
        raise HTTPException(409, f"目标线索 {target} 已驳回，不能合并到已驳回的线索")
    if into.decision == "confirmed":
        joins = into.duplicate_of or target
        await decide(
            store,
            publish,
            user,
            cluster_id,
            decision="confirmed",
            action="lead.merged",
            reason=f"与已确认线索 {joins} 为同一问题，作为佐证并入其工单 {case_id_for(joins)}",
            version=version,
            duplicate_of=joins,
            detail={"target": joins, "posts": len(posts)},
        )
        return _see_other(_with_done(_back(back, "/review"), "merged"))
    await decide(
        store,
        publish,
        user,
        cluster_id,
        decision="rejected",
        action="lead.merged",
        reason=f"与线索 {target} 为同一问题，已合并",
        version=version,
        merged_into=target,
        detail={"target": target, "posts": len(posts)},
    )
    for member in members:
        await store.upsert_lead(member.model_copy(update={"cluster_id": target}))
    joined = list(dict.fromkeys([*into.lead.post_ids, *posts]))
    grown = into.lead.model_copy(
        update={"post_ids": joined, "corroboration": max(into.lead.corroboration, len(joined) - 1)}
    )
    await decide(
        store,
        publish,
        user,
        target,
        decision="needs_review",
        action="lead.merged_in",
        reason=f"并入线索 {cluster_id} 的 {len(posts)} 条报告",
        lead=grown,
        detail={"source": cluster_id},
    )
    return _see_other(_with_done(_back(back, "/review"), "merged"))


@router.post("/review/{cluster_id}/split")
async def split(
    cluster_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    lead: Annotated[list[str], Form(max_length=500)],
    version: Version = None,
) -> Response:
    """Split the chosen reports off into a new lead of their own (another problem)."""
    current = await current_verdict(store, cluster_id)
    members = await store.leads_in_cluster(cluster_id)
    chosen = [m for m in members if m.lead_id in set(lead)]
    if not chosen or len(chosen) == len(members):
        raise HTTPException(400, "请选择要拆分出去的部分报告（至少一条，不能全选）")
    new_cluster = "split-" + stable_id("split", cluster_id, *sorted(m.lead_id for m in chosen))
    rest = [m for m in members if m not in chosen]
    keep = current.lead if current.lead.lead_id not in {m.lead_id for m in chosen} else rest[-1]
    kept_posts = list(dict.fromkeys(p for m in rest for p in m.post_ids))
    remaining = keep.model_copy(
        update={"post_ids": kept_posts, "corroboration": len(kept_posts) - 1}
    )
    await decide(
        store,
        publish,
        user,
        cluster_id,
        decision="needs_review",
        action="lead.split",
        reason=f"拆分出 {len(chosen)} 条报告，另立线索 {new_cluster}",
        version=version,
        lead=remaining,
        detail={"new_cluster": new_cluster, "leads": [m.lead_id for m in chosen]},
    )
    moved = [m.model_copy(update={"cluster_id": new_cluster}) for m in chosen]
    for member in moved:
        await store.upsert_lead(member)
    moved_posts = list(dict.fromkeys(p for m in moved for p in m.post_ids))
    first = moved[-1].model_copy(
        update={"post_ids": moved_posts, "corroboration": len(moved_posts) - 1}
    )
    await open_cluster(
        store,
        publish,
        user,
        lead=first,
        verdict_id=stable_id(new_cluster, "split-from", current.verdict_id),
        action="lead.split_out",
        reason=f"从线索 {cluster_id} 拆分而来，待审核",
        detail={"from": cluster_id},
    )
    return _see_other(_with_done(f"/review/{new_cluster}", "split"))


@router.post("/review/{cluster_id}/site-check")
async def send_site_check(
    cluster_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    duties: DutiesDep,
    unit: Annotated[str, Form(max_length=200)] = "",
    note: Note = "",
    version: Version = None,
) -> Response:
    """Ask the street office that holds the place to go and look (现场核查)."""
    current = await current_verdict(store, cluster_id)
    office = duties.street_office(current.lead.geo)
    chosen = unit.strip() or office.unit
    if chosen not in duties.units():
        raise HTTPException(400, f"权责清单中没有承办单位“{chosen}”")
    check_id = "SC-" + stable_id("site-check", cluster_id, current.verdict_id, length=12).upper()
    verdict = await decide(
        store,
        publish,
        user,
        cluster_id,
        decision="needs_review",
        action="lead.site_check",
        reason=f"已派 {chosen} 现场核查" + (f"：{note.strip()}" if note.strip() else ""),
        version=version,
        detail={"check_id": check_id, "unit": chosen},
    )
    await request_site_check(
        store,
        SiteCheck(
            check_id=check_id,
            cluster_id=cluster_id,
            unit=chosen,
            status="requested",
            requested_by=user.name,
            requested_at=verdict.decided_at,
            note=note.strip(),
        ),
    )
    return _see_other(_with_done(f"/review/{cluster_id}", "site_check"))


SiteResult = Literal["confirmed", "not_found"]


async def apply_site_check_result(
    store: Store,
    publish: Publish | None,
    user: Principal,
    check_id: str,
    *,
    result: SiteResult,
    note: str,
    photo: str | None,
) -> SiteCheck:
    """The street office's answer decides the lead: confirmed (a case is opened) or not."""
    check = await get_site_check(store, check_id)
    if check is None:
        raise HTTPException(404, f"没有找到现场核查 {check_id}")
    if check.status != "requested":
        if check.status == result and (check.result_note or "") == note:
            return check  # the same answer again
        raise HTTPException(409, f"现场核查 {check_id} 已有结果（{check.status}），不能重复回传")
    current = await current_verdict(store, check.cluster_id)
    if current.decision != "needs_review":
        raise HTTPException(409, f"该线索已由 {current.by} 处理，现场核查结果仅作记录")
    photo_text = f"（现场照片：{photo}）" if photo else ""
    if result == "confirmed":
        reason = f"现场核查属实：{note or '现场确认存在问题'}{photo_text}"
    else:
        reason = f"现场核查未发现问题：{note or '现场未见所述问题'}{photo_text}"
    await decide(
        store,
        publish,
        user,
        check.cluster_id,
        decision="confirmed" if result == "confirmed" else "rejected",
        action="lead.site_checked",
        reason=reason,
        by=f"site_check:{check.unit}",
        detail={"check_id": check_id, "result": result, "photo": photo},
    )
    await record_site_check_result(
        store, check_id, status=result, note=note, photo=photo, by=user.name, at=utcnow()
    )
    found = await get_site_check(store, check_id)
    assert found is not None
    return found


@router.post("/review/{cluster_id}/site-check/{check_id}")
async def site_check_result(
    cluster_id: str,
    check_id: str,
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    result: Annotated[SiteResult, Form()],
    note: Note = "",
    photo: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    check = await get_site_check(store, check_id)
    if check is None or check.cluster_id != cluster_id:
        raise HTTPException(404, f"线索 {cluster_id} 没有现场核查 {check_id}")
    await apply_site_check_result(
        store, publish, user, check_id, result=result, note=note.strip(), photo=_or_none(photo)
    )
    return _see_other(_with_done(f"/review/{cluster_id}", "site_checked"))


@router.post("/review/bulk")
async def bulk(
    user: AnalystForm,
    store: StoreDep,
    publish: PublishDep,
    op: Annotated[Literal["confirm", "reject"], Form()],
    item: Annotated[list[str], Form(max_length=200)],
    reason: Note = "",
    note: Note = "",
    back: Back = "",
) -> Response:
    """The same decision on every selected lead; each keeps its own version check."""
    text = _reject_reason(reason, note)
    if op == "reject" and not text:
        raise HTTPException(400, "批量驳回须填写理由（将记入审计日志）")
    done = failed = 0
    for entry in item:
        cluster_id, _, version = entry.partition("|")
        try:
            await decide(
                store,
                publish,
                user,
                cluster_id,
                decision="confirmed" if op == "confirm" else "rejected",
                action="lead.confirmed" if op == "confirm" else "lead.rejected",
                reason="研判员批量确认" if op == "confirm" else text,
                version=version or None,
                detail={"bulk": True},
            )
            done += 1
        except HTTPException as exc:
            if exc.status_code == 503:
                raise
            failed += 1
    url = _with_done(_back(back, "/review"), "bulk")
    return _see_other(f"{url}&ok={done}&failed={failed}")
