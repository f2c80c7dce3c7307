"""死信: records a stage gave up on, with the reason and the original bytes (masked)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from console.deps import Operator, PagesDep, StoreDep
from console.masking import mask_bytes
from xianban.records import DeadLetter

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
    request: Request, user: Operator, store: StoreDep, pages: PagesDep
) -> Response:
    letters = [view(dl) for dl in await store.list_dead_letters(limit=100)]
    return pages.render(request, "deadletters.html", user=user, letters=letters)
