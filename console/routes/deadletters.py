"""死信: records a stage gave up on, with the reason and the original bytes (masked);
filtered by stage, error type and topic, paged 50 at a time."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from console.deps import Operator, PagesDep, StoreDep
from console.filters import ORDER_LABELS, DeadLetterQueryDep
from console.masking import mask_bytes
from xianban.records import DeadLetter
from xianban.store.listing import dead_letter_facets, dead_letter_page

router = APIRouter()

PREVIEW_BYTES = 2048


@dataclass(frozen=True, slots=True)
class DeadLetterView:
    record: DeadLetter
    text: str
    hex_lines: list[str]
    truncated: bool


def view(dl: DeadLetter) -> DeadLetterView:
    """The original as text and as a hex dump; masked first, so hex does not leak numbers."""
    raw = mask_bytes(dl.original)
    head = raw[:PREVIEW_BYTES]
    hex_lines = [
        f"{offset:08x}  {head[offset : offset + 16].hex(' ')}" for offset in range(0, len(head), 16)
    ]
    return DeadLetterView(
        record=dl,
        text=head.decode("utf-8", errors="replace"),
        hex_lines=hex_lines,
        truncated=len(raw) > PREVIEW_BYTES,
    )


@router.get("/dead-letters")
async def dead_letters(
    request: Request, user: Operator, store: StoreDep, pages: PagesDep, q: DeadLetterQueryDep
) -> Response:
    listing = await dead_letter_page(store, q.filter, sort=q.sort, page=q.page)
    return pages.render(
        request,
        "deadletters.html",
        user=user,
        letters=[view(dl) for dl in listing.items],
        listing=listing,
        q=q,
        facets=await dead_letter_facets(store),
        sorts=ORDER_LABELS,
    )
