"""Labelled posts: reading them in either schema, and telling a near copy of one.

The calibration set (``../shared/eval/calibration.jsonl``) measures the leadfinder and must
never leak into what it learns from or what the simulator serves; a post sharing a long run
of characters with a calibration post is a near copy, whatever its punctuation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = ROOT.parent / "shared" / "eval" / "calibration.jsonl"
LEAK_RUN = 12  # shared characters, punctuation and spaces removed, that make a near copy
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    platform: str
    text: str
    is_lead: bool
    urgent: bool
    category: str | None
    also: tuple[str, ...]
    district: str | None
    street: str | None
    road: str | None
    kind: str | None


def read_examples(path: Path) -> list[Example]:
    """Labelled posts in the calibration schema or the old dev-set schema (nested ``geo``)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        lead = bool(row["is_lead"])
        geo = row.get("geo") or row
        out.append(
            Example(
                id=str(row["id"]),
                platform=str(row.get("platform") or "input"),
                text=str(row["text"]),
                is_lead=lead,
                urgent=lead and bool(row.get("urgent")),
                category=row.get("category") if lead else None,
                also=tuple(row.get("also") or ()),
                district=geo.get("district"),
                street=geo.get("street"),
                road=geo.get("road"),
                kind=row.get("kind"),
            )
        )
    return out


def flat(text: str) -> str:
    """The text without punctuation, spaces and symbols: what a near copy keeps."""
    return _STRIP.sub("", text)


def shingles(text: str, n: int = LEAK_RUN) -> set[str]:
    bare = flat(text)
    return {bare[i : i + n] for i in range(len(bare) - n + 1)}


class LeakIndex:
    """Every ``LEAK_RUN``-character run of a reference set, to find near copies of its posts."""

    def __init__(self, examples: Iterable[Example]) -> None:
        self.owner: dict[str, str] = {}
        for example in examples:
            for s in shingles(example.text):
                self.owner.setdefault(s, example.id)

    def copies(self, text: str) -> set[str]:
        """Ids of the reference posts ``text`` shares a run with."""
        return {self.owner[s] for s in shingles(text) if s in self.owner}
