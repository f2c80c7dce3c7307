"""``xianban report weekly|monthly``: arguments checked before anything opens, then publish."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

from console.webhooks import subscribers_from_env
from reports.period import Kind
from reports.publish import FORMATS, Format, publish
from xianban.settings import Settings
from xianban.store import Store


@dataclass(frozen=True, slots=True)
class ReportArgs:
    kind: Kind
    first: date | None
    last: date | None
    formats: tuple[Format, ...]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} {value!r}: not a date (YYYY-MM-DD)") from None


def parse_report_args(
    kind: str, first: str | None, last: str | None, formats: list[str]
) -> ReportArgs:
    """A ValueError naming the bad option (the CLI turns it into exit code 2)."""
    if kind not in ("weekly", "monthly"):
        raise ValueError(f"unknown report {kind!r}: weekly or monthly")
    wanted: list[Format] = []
    for item in (f.strip() for value in formats for f in value.split(",")):
        if item not in FORMATS:
            raise ValueError(f"--format {item!r}: choose from {', '.join(FORMATS)}")
        if item not in wanted:
            wanted.append(item)
    start, end = _day(first, "--from"), _day(last, "--to")
    if start and end and start > end:
        raise ValueError(f"--from {start} is after --to {end}")
    return ReportArgs(cast(Kind, kind), start, end, tuple(wanted))


async def report_command(settings: Settings, args: ReportArgs, out_dir: Path) -> dict[str, Any]:
    subscribers = subscribers_from_env(os.environ)
    store = await Store.open(settings.db_url)
    try:
        done = await publish(
            store,
            kind=args.kind,
            first=args.first,
            last=args.last,
            formats=args.formats,
            out_dir=out_dir,
            configs_dir=settings.configs_dir,
            subscribers=subscribers,
        )
    finally:
        await store.close()
    b = done.briefing
    return {
        "kind": b.period.kind,
        "title": b.period.title,
        "from": b.period.start.isoformat(),
        "to": b.period.end.isoformat(),
        "files": [str(p) for p in done.files],
        "funnel": {s.key: s.count for s in b.funnel},
        "summary": b.summary,
        "event_id": done.event_id,
        "webhook": {
            "subscribers": len(subscribers),
            "delivered": done.announced,
            "already_announced": done.already_announced,
            "failures": done.failures,
        },
    }
