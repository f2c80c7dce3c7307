"""现场核查 over the API: the street office's system lists what to check and answers.

``GET /api/v1/site-checks?status=requested`` lists open checks (newest last);
``POST /api/v1/site-checks/{check_id}`` with ``{"result": "confirmed" | "not_found",
"note": "…", "photo": "…"}`` records the answer, which decides the lead (a confirmation
opens a case). The same answer twice changes nothing; a different second answer is 409.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from console.callers import Reader, Writer
from console.deps import PublishDep, StoreDep
from console.responses import MaskedJSONResponse
from console.routes.review_actions import apply_site_check_result
from xianban.store.verification import SiteCheck, get_site_check, open_site_checks

router = APIRouter(prefix="/api/v1/site-checks", default_response_class=MaskedJSONResponse)


class SiteCheckResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["confirmed", "not_found"]
    note: str = Field("", max_length=500)
    photo: str | None = Field(None, max_length=500)


def _json(check: SiteCheck) -> dict[str, object]:
    body = asdict(check)
    for key in ("requested_at", "decided_at"):
        value = body[key]
        body[key] = value.isoformat() if value is not None else None
    return body


@router.get("")
async def list_site_checks(
    user: Reader,
    store: StoreDep,
    status: Annotated[Literal["requested"], Query()] = "requested",
) -> MaskedJSONResponse:
    checks = await open_site_checks(store)
    return MaskedJSONResponse({"count": len(checks), "site_checks": [_json(c) for c in checks]})


@router.get("/{check_id}")
async def get_check(check_id: str, user: Reader, store: StoreDep) -> MaskedJSONResponse:
    check = await get_site_check(store, check_id)
    if check is None:
        raise HTTPException(404, f"没有找到现场核查 {check_id}")
    return MaskedJSONResponse(_json(check))


@router.post("/{check_id}")
async def answer_check(
    check_id: str,
    body: SiteCheckResult,
    user: Writer,
    store: StoreDep,
    publish: PublishDep,
) -> MaskedJSONResponse:
    check = await apply_site_check_result(
        store, publish, user, check_id, result=body.result, note=body.note.strip(), photo=body.photo
    )
    return MaskedJSONResponse(_json(check))
