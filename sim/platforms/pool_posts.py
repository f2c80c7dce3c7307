"""The written pool the simulator's world is built from: hand-written, labelled posts.

``sim/platforms/pool/*.jsonl`` (package data) holds posts written apart from the
leadfinder's rules and from the training corpus, one JSON object a line in the schema of
the calibration set (``id, platform, text, is_lead, category, also, urgent, district,
street, road, kind``; labels by ``docs/LABELS.md``). They are never training data: the
simulator's truth is a test only while nothing was fitted to it.

The pool is split in two halves by a stable hash of each post's id. The never-tuned seed
(``HELD_OUT_SEED``) builds its world from one half, every other seed from the other, so
looking at the fixed seed's per-post errors tells nothing about the never-tuned seed's
posts. ``XIANBAN_SIM_POOL`` points at another directory of pool files (tests, experiments).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

FIXED_SEED = 7
"""The default seed: its per-post errors may be looked at (and tuned on)."""
HELD_OUT_SEED = 20261201
"""The never-tuned seed: only its numbers may be looked at, never its per-post errors."""
POOL_ENV = "XIANBAN_SIM_POOL"
FIELDS = ("id", "platform", "text", "is_lead", "category", "also", "urgent", "district",
          "street", "road", "kind")  # fmt: skip


@dataclass(frozen=True, slots=True)
class PoolPost:
    id: str
    platform: str
    text: str
    is_lead: bool
    category: str | None
    also: tuple[str, ...]
    urgent: bool
    district: str | None
    street: str | None
    road: str | None
    kind: str

    @property
    def held_out(self) -> bool:
        """Whether this post belongs to the never-tuned seed's half of the pool."""
        return is_held_out(self.id)


@dataclass(frozen=True, slots=True)
class Pool:
    posts: tuple[PoolPost, ...]
    skipped: int
    """Lines that were not a complete pool post (a line being appended, a broken one)."""

    def half(self, seed: int) -> tuple[PoolPost, ...]:
        """The posts a seed builds its world from, in id order."""
        held = seed == HELD_OUT_SEED
        return tuple(p for p in self.posts if p.held_out == held)


def is_held_out(post_id: str) -> bool:
    digest = hashlib.sha256(f"xianban-sim-pool:{post_id}".encode()).digest()
    return bool(digest[0] & 1)


def pool_files(directory: Path | None = None) -> list[Path]:
    """The pool's JSONL files in name order: ``directory``, ``$XIANBAN_SIM_POOL`` or the
    package's own ``pool/``."""
    if directory is None and os.environ.get(POOL_ENV):
        directory = Path(os.environ[POOL_ENV])
    if directory is None:
        directory = Path(str(resources.files("sim.platforms") / "pool"))
    return sorted(directory.glob("*.jsonl"))


def parse(line: str) -> PoolPost | None:
    """One pool line, or None when it is not a complete, well-typed pool post."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(row, dict) or any(f not in row for f in FIELDS):
        return None
    text, ident = row["text"], row["id"]
    if not isinstance(text, str) or not text.strip() or not isinstance(ident, str | int):
        return None
    if not isinstance(row["is_lead"], bool) or not isinstance(row["urgent"], bool):
        return None
    also = row["also"] if isinstance(row["also"], list) else []
    return PoolPost(
        id=str(ident),
        platform=str(row["platform"] or ""),
        text=text,
        is_lead=row["is_lead"],
        category=_optional(row["category"]),
        also=tuple(str(a) for a in also),
        urgent=row["urgent"],
        district=_optional(row["district"]),
        street=_optional(row["street"]),
        road=_optional(row["road"]),
        kind=str(row["kind"] or "unknown"),
    )


def _optional(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def read_pool(files: Iterable[Path]) -> Pool:
    """Every complete post of the files; a repeated id keeps its first occurrence."""
    posts: dict[str, PoolPost] = {}
    skipped = 0
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            post = parse(line)
            if post is None:
                skipped += 1
            elif post.id not in posts:
                posts[post.id] = post
    return Pool(posts=tuple(sorted(posts.values(), key=lambda p: p.id)), skipped=skipped)


def load_pool(directory: Path | None = None) -> Pool:
    return read_pool(pool_files(directory))
