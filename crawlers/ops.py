"""What ops do to a source, once for the CLI and the console: read its health, pause,
resume, rerun.

Both front ends call these, so the two can never disagree about what a rerun means: it
ends the source's rest and marks it ``queued``, keeps its last success (when it last
worked is exactly what ops need while it does not), and forgets the watermarks only when
asked to re-read the look-back window.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from crawlers.checkpoint import Checkpoint
from crawlers.sessions import SessionPool
from crawlers.sources import Source
from crawlers.states import describe
from xianban.store import SourceState, Store


def status_row(
    source: Source | None,
    state: SourceState | None,
    now: datetime,
    pool: SessionPool | None,
    *,
    source_id: str | None = None,
) -> dict[str, Any]:
    """One source's health as ops read it (also the JSON of ``sources status``).

    ``source`` is None for a source the store knows but the config no longer lists.
    """
    checkpoint = Checkpoint.parse(state.cursor if state else None)
    newest = checkpoint.newest()
    accounts = pool.accounts() if pool is not None else []
    resting = checkpoint.open_until if checkpoint.is_open(now) else None
    shown = describe(
        state.state if state else None,
        paused=bool(state and state.paused),
        enabled=source.enabled if source else True,
        resting_until=resting,
    )
    last = checkpoint.last_run
    return {
        "source": source.id if source else (source_id or (state.source if state else "")),
        "name": source.name if source else "（未配置）",
        "platform": source.platform if source else "",
        "configured": source is not None,
        "enabled": source.enabled if source else False,
        "needs": list(source.needs) if source else [],
        "state": shown.code,
        "crawler_state": state.state if state else "never_crawled",
        "label": shown.label,
        "tone": shown.tone,
        "meaning": shown.meaning,
        "paused": bool(state and state.paused),
        "resting_until": resting,
        "last_success": state.last_success if state else None,
        "posts_per_hour": round(checkpoint.posts_per_hour(now), 1),
        "posts_total": state.posts_total if state else 0,
        "errors": dict(state.error_counts) if state else {},
        "errors_24h": checkpoint.errors_by_kind(now),
        "errors_by_hour": checkpoint.errors_by_hour(now),
        "last_error": state.last_error if state else None,
        "cursor_lag_s": round((now - newest).total_seconds()) if newest else None,
        "last_run": last.model_dump(mode="json") if last else None,
        "accounts": {k: sum(a.state == k for a in accounts) for k in ("live", "expired", "banned")}
        if accounts
        else None,
    }


async def status_rows(
    store: Store, sources: dict[str, Source], now: datetime, data_dir: Path
) -> list[dict[str, Any]]:
    """Every configured source, then any the store still has state for."""
    states = {s.source: s for s in await store.list_source_states()}
    rows = [
        status_row(
            s,
            states.get(s.id),
            now,
            SessionPool.for_source(data_dir, s.id),
        )
        for s in sources.values()
    ]
    rows += [
        status_row(None, state, now, None, source_id=sid)
        for sid, state in sorted(states.items())
        if sid not in sources
    ]
    return rows


async def set_paused(store: Store, source: str, paused: bool, *, actor: str) -> bool:
    """Pause or resume; False when it already was (nothing written, nothing audited)."""
    current = await store.get_source_state(source)
    if current is not None and current.paused == paused:
        return False
    await store.set_source_state(source, paused=paused)
    action = "source.paused" if paused else "source.resumed"
    await store.audit(actor=actor, action=action, target=source)
    return True


async def rerun(store: Store, source: str, *, actor: str, from_scratch: bool = False) -> None:
    """End the source's rest and mark it queued; its last success stays as it was."""
    state = await store.get_source_state(source)
    checkpoint = Checkpoint.parse(state.cursor if state else None)
    checkpoint.succeeded()
    if from_scratch:
        checkpoint.queries.clear()
    await store.set_source_state(source, state="queued", cursor=checkpoint.model_dump_json())
    await store.audit(
        actor=actor, action="source.rerun", target=source, detail={"from_scratch": from_scratch}
    )
