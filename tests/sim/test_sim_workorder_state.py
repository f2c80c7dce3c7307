"""The simulated work-order system's state file: a journal of changes, compacted now and then."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from sim import workorders
from sim.process import SimProcess
from sim.workorders import WorkOrderSystem


def form(case: str, department: str = "福田区城管局") -> dict[str, str]:
    return {
        "service_code": "市容环境",
        "description": f"{case}：路灯坏了",
        "address_string": "深圳市福田区",
        "attribute[department]": department,
        "attribute[case_id]": case,
    }


def snapshot(system: WorkOrderSystem) -> dict[str, object]:
    return {
        "orders": {i: o.as_open311() for i, o in system.orders.items()},
        "by_key": dict(system.by_key),
        "stats": {k: v for k, v in system.stats().items() if k != "posts_received"},
    }


def test_every_kind_of_change_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "workorder-sim.json"
    system = WorkOrderSystem(state_file=state)
    a, _ = system.create(form("c1"), "k1")
    b, _ = system.create(form("c2"), "k2")
    c, _ = system.create(form("c3"), None)
    system.transfer(b, "南山区水务局")
    a.escalations.append("三天没人管")
    system.save(a)
    system.advance(c, 4)
    system.reopen(c, "回访不满意")
    system.advance(a, 2)

    restored = WorkOrderSystem(state_file=state)

    assert snapshot(restored) == snapshot(system)
    assert restored.orders[c.service_request_id].status == "dispatched"
    again, created = restored.create(form("c1"), "k1")
    assert not created and again.service_request_id == a.service_request_id
    fresh, _ = restored.create(form("c4"), "k4")
    assert fresh.service_request_id not in system.orders


def test_the_file_is_rewritten_whole_once_its_lines_outnumber_the_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workorders, "COMPACT_MIN_LINES", 4)
    state = tmp_path / "workorder-sim.json"
    system = WorkOrderSystem(state_file=state)
    orders = [system.create(form(f"c{i}"), f"k{i}")[0] for i in range(10)]
    most_lines = 0
    for _ in range(30):
        for order in orders:
            system.reopen(order, "问题又出现了")
            most_lines = max(most_lines, len(state.read_text(encoding="utf-8").splitlines()))

    assert most_lines <= len(orders) + 1  # never more appends than orders before a rewrite
    assert not state.with_name(f"{state.name}.tmp").exists()
    restored = WorkOrderSystem(state_file=state)
    assert snapshot(restored) == snapshot(system)
    assert all(len(o.reopens) == 30 for o in restored.orders.values())


def test_a_state_file_written_whole_by_the_older_simulator_still_loads(tmp_path: Path) -> None:
    state = tmp_path / "workorder-sim.json"
    older = WorkOrderSystem()
    old, _ = older.create(form("c1"), "k1")
    data = {"orders": [vars(o) for o in older.orders.values()], "by_key": older.by_key}
    state.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")  # no newline

    system = WorkOrderSystem(state_file=state)
    new, _ = system.create(form("c2"), "k2")
    restored = WorkOrderSystem(state_file=state)

    assert set(restored.orders) == {old.service_request_id, new.service_request_id}
    assert restored.by_key == {"k1": old.service_request_id, "k2": new.service_request_id}


def test_a_damaged_line_is_an_error_not_an_order_silently_lost(tmp_path: Path) -> None:
    state = tmp_path / "workorder-sim.json"
    system = WorkOrderSystem(state_file=state)
    system.create(form("c1"), "k1")
    with state.open("a", encoding="utf-8") as f:
        f.write('{"orders": [{"service_req\n')
    system.create(form("c2"), "k2")

    with pytest.raises(json.JSONDecodeError):
        WorkOrderSystem(state_file=state)


async def test_an_answered_order_survives_a_sigkill_right_after(tmp_path: Path) -> None:
    state = tmp_path / "workorder-sim.json"
    sim = SimProcess(state_file=state, corpus_size=300)
    async with sim, httpx.AsyncClient(timeout=60) as client:
        await sim.ready()
        filed = await client.post(
            f"{sim.workorder_url}/open311/v2/requests.json",
            data=form("c1"),
            headers={"Idempotency-Key": "k1"},
        )
        assert sim._proc is not None
        os.kill(sim._proc.pid, signal.SIGKILL)
        assert await sim._proc.wait() == -signal.SIGKILL
    assert filed.status_code == 200
    request_id = filed.json()[0]["service_request_id"]

    again = SimProcess(state_file=state, corpus_size=300)
    async with again, httpx.AsyncClient(timeout=60) as client:
        await again.ready()
        found = await client.get(f"{again.workorder_url}/open311/v2/requests/{request_id}.json")
        retried = await client.post(
            f"{again.workorder_url}/open311/v2/requests.json",
            data=form("c1"),
            headers={"Idempotency-Key": "k1"},
        )
    assert found.status_code == 200
    assert found.json()[0]["description"] == "c1：路灯坏了"
    assert retried.json()[0]["service_request_id"] == request_id
