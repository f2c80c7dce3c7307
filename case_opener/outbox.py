"""The filing outbox: the case is saved and its filing queued in one place, then delivered.

A case is written to the store together with an outbox item keyed by its case id before
anything is sent, so a crash, a timeout or a lost answer never loses a filing and never
files twice (the item's key is also the ``Idempotency-Key`` the work-order system sees).
Delivery runs right after the case opener queues an item (or a batch of them) and again
on every supervision sweep, until the system has accepted it; filings go out
``FILING_CONCURRENCY`` at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from case_opener.filing import WorkOrderClient
from xianban.errors import PermanentError, TransientError
from xianban.records import Case, CaseEvent, CaseStatus, utcnow

if TYPE_CHECKING:
    from xianban.store import Store

log = structlog.get_logger(__name__)

FILE_CASE = "file_case"


async def queue_filing(store: Store, case: Case) -> bool:
    """Save the case and queue its filing; False when it was queued before (a replay)."""
    await store.save_case(case)
    return await store.outbox_put(key=case.case_id, kind=FILE_CASE, payload={})


FILING_CONCURRENCY = 16
"""Filings in flight at once: each is one request to the work-order system."""


async def deliver(
    store: Store,
    client: WorkOrderClient,
    *,
    limit: int = 100,
    concurrency: int = FILING_CONCURRENCY,
    saved: Mapping[str, Case] | None = None,
) -> list[Case]:
    """Send pending filings, ``concurrency`` at a time; returns the cases that changed
    (now filed, or refused), in the outbox's order. The outcome of the whole round is
    written in one transaction. ``saved``: cases by id as the caller has just saved them
    with their filings (the case opener's batch), not read back."""
    items = [i for i in await store.outbox_pending(limit=limit) if i.kind == FILE_CASE]
    if not items:
        return []
    known = saved or {}
    cases = {i.key: known[i.key] for i in items if i.key in known}
    missing = [i.key for i in items if i.key not in known]
    if missing:
        cases |= await store.get_cases(missing)
    gate = asyncio.Semaphore(concurrency)

    async def file(key: str) -> tuple[str, str]:
        """("filed", external id), ("rejected", why) or ("failed", why)."""
        case = cases.get(key)
        if case is None:
            return "failed", "case missing from store"
        async with gate:
            try:
                return "filed", await client.file(case)
            except TransientError as exc:
                log.warning("filing.retry_later", case_id=case.case_id, error=str(exc))
                return "failed", str(exc)
            except PermanentError as exc:
                return "rejected", str(exc)

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(file(i.key)) for i in items]
    except BaseExceptionGroup as errors:  # a bug in the client: say it plainly
        raise errors.exceptions[0] from None
    done: list[tuple[str, dict[str, Any]]] = []
    failed: list[tuple[str, str]] = []
    changed: list[Case] = []
    for item, task in zip(items, tasks, strict=True):
        outcome, detail = task.result()
        if outcome == "failed":
            failed.append((item.key, detail))
            continue
        case = cases[item.key]
        if outcome == "rejected":
            done.append((item.key, {"error": detail}))
            case = with_status(case, "rejected", f"工单系统拒收：{detail}")
        else:
            done.append((item.key, {"external_id": detail}))
            case = with_status(case, "filed", f"已报送工单系统，编号 {detail}")
            case = case.model_copy(update={"external_id": detail})
        changed.append(case)
    await store.outbox_results(done=done, failed=failed, cases=changed)
    return changed


def with_status(
    case: Case, status: CaseStatus, note: str, *, by: str = "system", at: datetime | None = None
) -> Case:
    """The case with one more history event; unchanged fields are kept as they are."""
    event = CaseEvent(at=at or utcnow(), status=status, note=note, by=by)
    return case.model_copy(update={"status": status, "history": [*case.history, event]})
