"""The routing figures ``run --once`` prints: first-time routing and duplicate cases.

``first_time_routing`` is the share of the cases that reached the work-order system and
were accepted by the first unit they were sent to (no 退单): the programme's published
98 %. ``duplicate_cases`` is how many cases report an incident another case already
reports; only the simulated work-order system knows which incident a case is (from the
corpus truth), so it is ``None`` against a real one.
"""

from __future__ import annotations

from typing import Any

import httpx

from xianban.store import Store


async def routing_figures(store: Store) -> dict[str, Any]:
    cases = await store.list_cases(limit=1_000_000)
    filed = [c for c in cases if c.external_id]
    first_time = [c for c in filed if not c.returned]
    return {
        "first_time_routing": round(len(first_time) / len(filed), 4) if filed else None,
        "cases_filed": len(filed),
        "cases_rerouted": len(filed) - len(first_time),
        "cases_with_routing_explanation": sum(bool(c.routing) for c in cases),
    }


async def duplicate_cases(workorder_url: str | None) -> int | None:
    """Cases filed for an incident that already had one, as the simulator judges it."""
    if not workorder_url:
        return None
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            response = await http.get(workorder_url.rstrip("/") + "/_admin/stats")
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    value = response.json().get("duplicate_orders")
    return value if isinstance(value, int) else None
