"""The filing outbox: the case is saved and its filing queued in one place, then delivered.

A case is written to the store together with an outbox item keyed by its case id before
anything is sent, so a crash, a timeout or a lost answer never loses a filing and never
files twice (the item's key is also the ``Idempotency-Key`` the work-order system sees).
Delivery runs right after the case opener queues an item and again on every
supervision sweep, until the system has accepted it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

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


async def deliver(store: Store, client: WorkOrderClient, *, limit: int = 100) -> list[Case]:
    """Send pending filings; returns the cases that changed (now filed, or refused)."""
    changed: list[Case] = []
    for item in await store.outbox_pending(limit=limit):
        if item.kind != FILE_CASE:
            continue
        case = await store.get_case(item.key)
        if case is None:
            await store.outbox_failed(item.key, error="case missing from store")
            continue
        try:
            external_id = await client.file(case)
        except TransientError as exc:
            await store.outbox_failed(item.key, error=str(exc))
            log.warning("filing.retry_later", case_id=case.case_id, error=str(exc))
            continue
        except PermanentError as exc:
            await store.outbox_done(item.key, result={"error": str(exc)})
            case = with_status(case, "rejected", f"工单系统拒收：{exc}")
            await store.save_case(case)
            changed.append(case)
            continue
        await store.outbox_done(item.key, result={"external_id": external_id})
        case = with_status(case, "filed", f"已报送工单系统，编号 {external_id}")
        case = case.model_copy(update={"external_id": external_id})
        await store.save_case(case)
        changed.append(case)
    return changed


def with_status(
    case: Case, status: CaseStatus, note: str, *, by: str = "system", at: datetime | None = None
) -> Case:
    """The case with one more history event; unchanged fields are kept as they are."""
    event = CaseEvent(at=at or utcnow(), status=status, note=note, by=by)
    return case.model_copy(update={"status": status, "history": [*case.history, event]})
