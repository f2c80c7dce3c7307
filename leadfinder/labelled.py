"""Labelled posts: reading them in either schema, and telling a near copy of one.

The calibration set (``../shared/eval/calibration.jsonl``) measures the leadfinder and must
never leak into what it learns from or what the simulator serves; a post sharing a long run
of characters with a calibration post is a near copy, whatever its punctuation.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from xianban.records import CATEGORIES

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


FIELDS = {"id", "platform", "text", "is_lead", "category", "also", "urgent", "district",
          "street", "road", "kind"}  # fmt: skip


def streets_by_district() -> dict[str, set[str]]:
    data = yaml.safe_load((ROOT / "configs/gazetteer/shenzhen.yaml").read_text(encoding="utf-8"))
    return {d: {f"{s}街道" for s in spec["streets"]} for d, spec in data["districts"].items()}


def check_row(row: object, streets: dict[str, set[str]]) -> list[str]:
    if not isinstance(row, dict):
        return ["not a JSON object"]
    errors = [f"missing {f}" for f in sorted(FIELDS - set(row))]
    errors += [f"unknown field {f}" for f in sorted(set(row) - FIELDS)]
    if errors:
        return errors
    if not isinstance(row["text"], str) or not row["text"].strip():
        errors.append("empty text")
    if not isinstance(row["is_lead"], bool) or not isinstance(row["urgent"], bool):
        errors.append("is_lead and urgent must be true/false")
    if row["is_lead"]:
        if row["category"] not in CATEGORIES:
            errors.append(f"lead needs one of the 18 category codes, got {row['category']!r}")
    elif row["category"] is not None or row["urgent"]:
        errors.append("a negative has category null and urgent false")
    also = row["also"]
    if not isinstance(also, list) or any(a not in CATEGORIES for a in also):
        errors.append(f"also must list category codes, got {also!r}")
    district, street = row["district"], row["street"]
    if district is not None and district not in streets:
        errors.append(f"unknown district {district!r}")
    if street is not None:
        if district is None:
            errors.append("street without district")
        elif street not in streets.get(district, set()):
            errors.append(f"{street!r} is not a street of {district!r}")
    if not isinstance(row["kind"], str) or not row["kind"]:
        errors.append("kind must name what makes the post hard")
    return errors


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


def corpus_table(files: Iterable[Path]) -> str:
    """The datasheet's counts, as Markdown: per file and in all, leads, urgent, negatives,
    the spread over categories, districts, platforms, kinds and lengths."""
    sets = {path.stem: read_examples(path) for path in sorted(files)}
    everything = [e for examples in sets.values() for e in examples]
    lines = [
        "| file | posts | leads | urgent | negatives | negatives % | median length |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, examples in [*sets.items(), ("all", everything)]:
        leads = sum(e.is_lead for e in examples)
        lengths = sorted(len(e.text) for e in examples) or [0]
        negatives = len(examples) - leads
        share = round(100 * negatives / len(examples), 1) if examples else 0.0
        lines.append(
            f"| {name} | {len(examples)} | {leads} | {sum(e.urgent for e in examples)} "
            f"| {negatives} | {share} | {lengths[len(lengths) // 2]} |"
        )

    def spread(title: str, values: Iterable[str | None]) -> None:
        counts = Counter(v or "(none)" for v in values).most_common()
        lines.extend(["", f"**{title}**: " + ", ".join(f"{k} {n}" for k, n in counts)])

    spread("lead categories", (e.category for e in everything if e.is_lead))
    spread("districts", (e.district for e in everything))
    spread("platforms", (e.platform for e in everything))
    spread("kinds", (e.kind for e in everything))
    buckets = Counter(
        "8-19" if len(e.text) < 20 else "20-59" if len(e.text) < 60 else
        "60-149" if len(e.text) < 150 else "150+"
        for e in everything
    )  # fmt: skip
    spread("lengths", (b for b, n in buckets.items() for _ in range(n)))
    return "\n".join(lines)
