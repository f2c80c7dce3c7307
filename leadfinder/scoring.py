"""Scoring the leadfinder against labels: the numbers every evaluation reports.

One ``Scorer`` per labelled set (a file, or the simulator's truth). Per post it takes the
label (the calibration schema's fields, or the old dev schema with a nested ``geo``) and the
``Extraction``; ``report()`` gives:

* ``is_lead``: precision, recall, F1 and the confusion counts;
* ``urgent``: precision and recall over every post;
* ``category_accuracy``: over labelled leads, right when the category found is the label's
  ``category`` or one of its ``also``;
* ``district_accuracy``, ``street_accuracy``, ``road_accuracy``: over labelled leads whose
  label is not null (``labelled`` says how many each);
* ``by_kind``: per ``kind`` (when the set has kinds), ``n``, ``lead_accuracy`` and
  ``urgent_recall`` (null where the kind has no urgent post);
* ``misses``: the first posts that differ, with what differed (left out when asked).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadfinder.extract import Extraction

MISSES_CAP = 50
PLACES = ("district", "street", "road")


@dataclass(frozen=True, slots=True)
class Label:
    is_lead: bool
    urgent: bool
    category: str | None = None
    also: tuple[str, ...] = ()
    district: str | None = None
    street: str | None = None
    road: str | None = None
    kind: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Label:
        """A labelled row in either schema: places at the top level or in ``geo``."""
        geo = row.get("geo") if isinstance(row.get("geo"), Mapping) else row
        assert isinstance(geo, Mapping)
        kind = row.get("kind")
        return cls(
            is_lead=bool(row.get("is_lead")),
            urgent=bool(row.get("urgent")),
            category=row.get("category") or None,
            also=tuple(row.get("also") or ()),
            district=geo.get("district") or None,
            street=geo.get("street") or None,
            road=geo.get("road") or None,
            kind=str(kind) if kind else None,
        )

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> Label | str:
        """``of`` for a row read from a file: the label, or why it is not one (a wrong
        type would otherwise be scored as a silent ``False``)."""
        if not isinstance(row.get("is_lead"), bool):
            return "缺少 is_lead（true 或 false）"
        if not isinstance(row.get("urgent", False), bool):
            return "urgent 应为 true 或 false"
        geo = row.get("geo")
        if geo is not None and not isinstance(geo, Mapping):
            return "geo 应是对象"
        for key in ("category", "kind"):
            if not isinstance(row.get(key), str | None):
                return f"{key} 应是字符串或 null"
        for key in PLACES:
            if not isinstance((geo or row).get(key), str | None):
                return f"{key} 应是字符串或 null"
        also = row.get("also")
        if also is not None and not (
            isinstance(also, list) and all(isinstance(a, str) for a in also)
        ):
            return "also 应是字符串列表"
        return cls.of(row)


def ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def f1(p: float | None, r: float | None) -> float | None:
    return round(2 * p * r / (p + r), 4) if p and r else (0.0 if p is not None else None)


@dataclass
class _Kind:
    n: int = 0
    lead_right: int = 0
    urgent: int = 0
    urgent_found: int = 0


@dataclass
class Scorer:
    keep_misses: bool = True
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    utp: int = 0
    ufp: int = 0
    ufn: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("category", *PLACES), 0))
    labelled: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("category", *PLACES), 0)
    )
    kinds: dict[str, _Kind] = field(default_factory=lambda: defaultdict(_Kind))
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def posts(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def add(self, ident: str, text: str, want: Label, got: Extraction) -> None:
        lead, urgent = want.is_lead, want.urgent
        self.tp += got.is_lead and lead
        self.fp += got.is_lead and not lead
        self.fn += lead and not got.is_lead
        self.tn += not lead and not got.is_lead
        self.utp += got.urgent and urgent
        self.ufp += got.urgent and not urgent
        self.ufn += urgent and not got.urgent
        diff: dict[str, Any] = {}
        if got.is_lead != lead:
            diff["is_lead"] = [lead, got.is_lead]
        if got.urgent != urgent:
            diff["urgent"] = [urgent, got.urgent]
        if lead:
            if want.category:
                self.labelled["category"] += 1
                if got.category in (want.category, *want.also):
                    self.right["category"] += 1
                else:
                    diff["category"] = [want.category, got.category]
            for key in PLACES:
                wanted, actual = getattr(want, key), getattr(got.geo, key)
                if wanted:
                    self.labelled[key] += 1
                    if wanted == actual:
                        self.right[key] += 1
                    else:
                        diff[key] = [wanted, actual]
        if want.kind:
            kind = self.kinds[want.kind]
            kind.n += 1
            kind.lead_right += got.is_lead == lead
            kind.urgent += urgent
            kind.urgent_found += urgent and got.urgent
        if diff and self.keep_misses and len(self.misses) < MISSES_CAP:
            self.misses.append(
                {"id": ident, "text": text[:60], "diff": diff, "reasons": got.reasons}
            )

    def report(self) -> dict[str, Any]:
        precision, recall = ratio(self.tp, self.tp + self.fp), ratio(self.tp, self.tp + self.fn)
        out: dict[str, Any] = {
            "posts": self.posts,
            "is_lead": {
                "precision": precision,
                "recall": recall,
                "f1": f1(precision, recall),
                "tp": self.tp,
                "fp": self.fp,
                "fn": self.fn,
                "tn": self.tn,
            },
            "urgent": {
                "precision": ratio(self.utp, self.utp + self.ufp),
                "recall": ratio(self.utp, self.utp + self.ufn),
            },
            **{f"{k}_accuracy": ratio(self.right[k], self.labelled[k]) for k in self.right},
            "labelled": dict(self.labelled),
        }
        if self.kinds:
            out["by_kind"] = {
                name: {
                    "n": k.n,
                    "lead_accuracy": ratio(k.lead_right, k.n),
                    "urgent_recall": ratio(k.urgent_found, k.urgent),
                }
                for name, k in sorted(self.kinds.items(), key=lambda kv: (-kv[1].n, kv[0]))
            }
        if self.keep_misses:
            out["misses"] = self.misses
        return out
