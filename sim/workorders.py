"""The city work-order system, simulated: an Open311 GeoReport v2 endpoint plus extensions.

Real 12345 work-order platforms differ by city; Open311 GeoReport v2 is the public standard
shape (``services.json``, ``requests.json``, ``requests/{id}.json``), so the case opener
speaks it and the simulator serves it. Extensions the standard lacks are marked ``x_``.

Behaviour that matters to the tests:

* ``Idempotency-Key`` header on ``POST requests.json``: a repeated key returns the request
  already made, so a filing retried after a timeout never creates a second work order.
* Faults (``POST /_admin/faults``): ``timeout_after_accept`` stores the request and then
  stalls past the client's timeout — the half-way failure a filing must survive —,
  ``timeout_before_accept`` stalls as long and then refuses it unstored (the client timed
  out and the system never committed), and ``error_5xx`` answers 503 before storing
  anything.
* Lifecycle: each request moves filed → dispatched → in_progress → resolved → closed, one
  step per ``POST /_admin/advance`` or, if ``auto_advance_s`` is set, as time passes.
* 退单: with a ``judge`` (``sim.duty_judge``, the city's duties list applied to the corpus
  truth), a request sent to the wrong unit is ``returned`` at once, with
  ``x_return_reason`` and ``x_suggested_agency``; ``POST requests/{id}/x_transfer``
  (``{"agency": …}``) sends it to another unit, judged again. ``/_admin/stats`` counts the
  requests accepted by the first unit and the incidents filed more than once.
* State file: like the real system, the orders outlive a restart. Each change is appended
  to the file as one JSON line (one ``write``, before the answer, so an order whose id was
  answered survives a SIGKILL right after); the file is rewritten whole (atomically) only
  once the lines outnumber the orders, so a filing costs the same with 10 orders or 10 000.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from sim.duty_judge import Judgement

LIFECYCLE = ("filed", "dispatched", "in_progress", "resolved", "closed")
COMPACT_MIN_LINES = 256
"""Below this many lines the state file is never rewritten: a small file replays fast."""
Judge = Callable[[Mapping[str, str]], "Judgement | None"]


class FaultSpec(BaseModel):
    kind: str = Field(pattern="^(timeout_after_accept|timeout_before_accept|error_5xx)$")
    times: int = Field(1, ge=1)
    delay_s: float = Field(30.0, ge=0)


@dataclass
class WorkOrder:
    service_request_id: str
    service_code: str
    description: str
    address_string: str
    agency_responsible: str
    priority: str
    external_id: str
    created: float
    step: int = 0
    escalations: list[str] = field(default_factory=list)
    history: list[tuple[float, str]] = field(default_factory=list)
    returned: bool = False
    return_reason: str = ""
    suggested_agency: str = ""
    first_agency: str = ""
    transfers: list[str] = field(default_factory=list)
    incident: str | None = None
    accepted_at: float | None = None
    routing_form: dict[str, str] = field(default_factory=dict)
    satisfaction: str = ""
    """回访 as the 12345 centre records it once the order is closed (empty until then)."""
    reopens: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "returned" if self.returned else LIFECYCLE[self.step]

    def as_open311(self) -> dict[str, Any]:
        def iso(ts: float) -> str:
            return datetime.fromtimestamp(ts, UTC).isoformat()

        return {
            "service_request_id": self.service_request_id,
            "status": "closed" if self.status in ("resolved", "closed") else "open",
            "status_notes": f"工单状态：{self.status}",
            "service_code": self.service_code,
            "description": self.description,
            "agency_responsible": self.agency_responsible,
            "address": self.address_string,
            "requested_datetime": iso(self.created),
            "updated_datetime": iso(self.history[-1][0] if self.history else self.created),
            "x_status": self.status,
            "x_priority": self.priority,
            "x_external_id": self.external_id,
            "x_escalations": len(self.escalations),
            "x_history": [{"at": iso(t), "status": s} for t, s in self.history],
            "x_return_reason": self.return_reason if self.returned else "",
            "x_suggested_agency": self.suggested_agency if self.returned else "",
            "x_transfers": list(self.transfers),
            "x_satisfaction": self.satisfaction if self.status == "closed" else "",
            "x_reopens": len(self.reopens),
        }


class WorkOrderSystem:
    """State of the simulated system; one per app so tests can inspect it directly."""

    def __init__(
        self,
        *,
        auto_advance_s: float | None = None,
        state_file: Path | None = None,
        judge: Judge | None = None,
    ) -> None:
        self.judge = judge
        self.orders: dict[str, WorkOrder] = {}
        self.by_key: dict[str, str] = {}
        self.faults: list[FaultSpec] = []
        self.auto_advance_s = auto_advance_s
        self.posts_received = 0
        self.state_file = state_file
        self._lines = 0  # in the state file: the whole state once, then one per change since
        if state_file is not None:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            if state_file.is_file():
                text = state_file.read_text(encoding="utf-8")
                self._replay(text)
                if text and not text.endswith("\n"):  # the older simulator's: appends go after
                    self._compact(state_file)
        self._ids = itertools.count(len(self.orders) + 1)

    def _replay(self, text: str) -> None:
        """Every line is ``{"orders": [...], "by_key": {...}}``, applied in turn (the last
        line about an order is its state); a file from before the journal is one such line.
        A line that does not parse is an error, not skipped: an append is a single
        ``write``, which a killed process never leaves half done, so it is damage."""
        for line in text.splitlines():
            saved = json.loads(line)
            for raw in saved["orders"]:
                order = WorkOrder(**raw)
                order.history = [(t, s) for t, s in raw["history"]]
                self.orders[order.service_request_id] = order
            self.by_key.update(saved["by_key"])
            self._lines += 1

    def save(self, order: WorkOrder, key: str | None = None) -> None:
        """Like the real system, remember work orders across restarts (when given a file):
        the changed ``order`` (made with ``key``) is on disk when this returns."""
        if self.state_file is None:
            return
        if self._lines >= max(COMPACT_MIN_LINES, len(self.orders)):
            self._compact(self.state_file)
            return
        # vars, not asdict: the fields are plain values, and asdict's deep copy of every
        # order was most of a ``run --once`` sweep (one save per status call, 90 ms each)
        entry = {"orders": [vars(order)], "by_key": {key: order.service_request_id} if key else {}}
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        fd = os.open(self.state_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
        finally:
            os.close(fd)
        if written != len(line):  # a full disk; the caller answers 500, not 201
            raise OSError(f"{self.state_file}: wrote {written} of {len(line)} bytes")
        self._lines += 1

    def _compact(self, state_file: Path) -> None:
        """The whole state as one line, written aside and renamed over the file: a kill
        part-way leaves the old file whole. After as many appends as orders, so its cost
        per change stays constant."""
        data = {"orders": [vars(o) for o in self.orders.values()], "by_key": self.by_key}
        aside = state_file.with_name(f"{state_file.name}.tmp")
        aside.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(aside, state_file)
        self._lines = 1

    def take_fault(self) -> FaultSpec | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self.faults.pop(0)
        return fault

    def create(self, form: dict[str, str], key: str | None) -> tuple[WorkOrder, bool]:
        if key and key in self.by_key:
            return self.orders[self.by_key[key]], False
        now = time.time()
        order = WorkOrder(
            service_request_id=f"SZ{datetime.now(UTC):%Y%m%d}{next(self._ids):06d}",
            service_code=form["service_code"],
            description=form.get("description", ""),
            address_string=form.get("address_string", ""),
            agency_responsible=form.get("attribute[department]", ""),
            priority=form.get("attribute[priority]", "ordinary"),
            external_id=form.get("attribute[case_id]", ""),
            created=now,
            history=[(now, "filed")],
            first_agency=form.get("attribute[department]", ""),
            routing_form={k: v for k, v in form.items() if k.startswith("attribute[")},
        )
        self._judge(order, now)
        self.orders[order.service_request_id] = order
        if key:
            self.by_key[key] = order.service_request_id
        self.save(order, key)
        return order, True

    def _judge(self, order: WorkOrder, now: float) -> None:
        """The receiving unit looks at the order: its own (accepted) or not (退单)."""
        verdict = self.judge(order.routing_form) if self.judge is not None else None
        if verdict is not None:
            order.incident = verdict.incident
        if verdict is None or verdict.accepted:
            order.returned, order.accepted_at = False, now
            return
        order.returned = True
        order.return_reason = verdict.reason
        order.suggested_agency = verdict.right_unit
        order.history.append((now, "returned"))

    def transfer(self, order: WorkOrder, agency: str) -> None:
        """The dispatch centre sends a returned order to another unit (改派)."""
        if agency == order.agency_responsible and not order.returned:
            return
        now = time.time()
        order.agency_responsible = agency
        order.transfers.append(agency)
        order.routing_form["attribute[department]"] = agency
        if order.returned:
            order.history.append((now, "filed"))
        self._judge(order, now)
        self.save(order)

    def reopen(self, order: WorkOrder, reason: str) -> None:
        """Back to the unit: 办结审核退回, a dissatisfied 回访 or the problem back again."""
        now = time.time()
        order.reopens.append(reason)
        order.step = LIFECYCLE.index("dispatched")
        order.accepted_at = now - (self.auto_advance_s or 0) * order.step
        order.satisfaction = ""
        order.history.append((now, "dispatched"))
        self.save(order)

    def stats(self) -> dict[str, Any]:
        orders = list(self.orders.values())
        judged = [o for o in orders if o.incident is not None]
        return {
            "orders": len(orders),
            "posts_received": self.posts_received,
            "by_status": {s: sum(o.status == s for o in orders) for s in (*LIFECYCLE, "returned")},
            "accepted_first_time": sum(not o.transfers and not o.returned for o in orders),
            "returned_ever": sum(bool(o.transfers) or o.returned for o in orders),
            "duplicate_orders": len(judged) - len({o.incident for o in judged}),
        }

    def advance(self, order: WorkOrder, steps: int = 1) -> None:
        if order.returned:
            return
        moved = False
        for _ in range(steps):
            if order.step < len(LIFECYCLE) - 1:
                order.step += 1
                order.history.append((time.time(), order.status))
                if order.status == "closed" and not order.satisfaction:
                    order.satisfaction = "satisfied"
                moved = True
        if moved:  # a status read that moves nothing writes nothing
            self.save(order)

    def refresh(self, order: WorkOrder) -> None:
        if self.auto_advance_s and not order.returned:
            start = order.accepted_at if order.accepted_at is not None else order.created
            due = int((time.time() - start) // self.auto_advance_s)
            self.advance(order, max(0, due - order.step))


def create_workorder_app(system: WorkOrderSystem | None = None) -> FastAPI:
    system = system or WorkOrderSystem()
    app = FastAPI(title="工单系统模拟器", docs_url=None, redoc_url=None)
    app.state.system = system
    api = APIRouter(prefix="/open311/v2")

    @api.get("/services.json")
    async def services() -> list[dict[str, Any]]:
        from xianban.records import CATEGORIES

        return [
            {"service_code": c, "service_name": c, "type": "realtime", "metadata": True}
            for c in CATEGORIES
        ]

    @api.post("/requests.json")
    async def create_request(
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> list[dict[str, Any]]:
        form = {k: str(v) for k, v in (await request.form()).items()}
        system.posts_received += 1
        if not form.get("service_code"):
            raise HTTPException(400, detail=[{"code": 400, "description": "service_code 缺失"}])
        fault = system.take_fault()
        if fault and fault.kind == "timeout_before_accept":
            await asyncio.sleep(fault.delay_s)
        if fault and fault.kind in ("error_5xx", "timeout_before_accept"):
            raise HTTPException(503, detail="系统繁忙，请稍后再试")
        order, _ = system.create(form, idempotency_key)
        if fault and fault.kind == "timeout_after_accept":
            await asyncio.sleep(fault.delay_s)
        return [{"service_request_id": order.service_request_id, "service_notice": "已受理"}]

    def find(request_id: str) -> WorkOrder:
        order = system.orders.get(request_id)
        if order is None:
            raise HTTPException(404, detail=f"工单 {request_id} 不存在")
        system.refresh(order)
        return order

    @api.get("/requests/{request_id}.json")
    async def get_request(request_id: str) -> list[dict[str, Any]]:
        return [find(request_id).as_open311()]

    @api.get("/requests.json")
    async def get_requests(service_request_id: str = "") -> list[dict[str, Any]]:
        """Several requests at once (GeoReport v2: ``service_request_id`` comma-delimited);
        unknown ids are left out of the answer. The spec's other filters are not served."""
        found = []
        for request_id in filter(None, service_request_id.split(",")):
            order = system.orders.get(request_id)
            if order is not None:
                system.refresh(order)
                found.append(order.as_open311())
        return found

    @api.post("/requests/{request_id}/x_escalations")
    async def escalate(request_id: str, request: Request) -> dict[str, Any]:
        order = find(request_id)
        body = await request.json()
        order.escalations.append(str(body.get("reason", "")))
        system.save(order)
        return {"service_request_id": request_id, "x_escalations": len(order.escalations)}

    @api.post("/requests/{request_id}/x_transfer")
    async def transfer(request_id: str, request: Request) -> list[dict[str, Any]]:
        order = find(request_id)
        body = await request.json()
        agency = str(body.get("agency", "")).strip()
        if not agency:
            raise HTTPException(400, detail=[{"code": 400, "description": "agency 缺失"}])
        system.transfer(order, agency)
        return [order.as_open311()]

    @api.post("/requests/{request_id}/x_reopen")
    async def reopen(request_id: str, request: Request) -> dict[str, Any]:
        order = find(request_id)
        body = await request.json()
        system.reopen(order, str(body.get("reason", "")))
        return {"service_request_id": request_id, "x_status": order.status}

    @app.post("/_admin/faults")
    async def add_fault(spec: FaultSpec) -> dict[str, int]:
        system.faults.append(spec)
        return {"pending_faults": len(system.faults)}

    @app.post("/_admin/advance")
    async def advance_all(steps: int = 1) -> dict[str, int]:
        for order in system.orders.values():
            system.advance(order, steps)
        return {"orders": len(system.orders)}

    @app.get("/_admin/stats")
    async def stats() -> dict[str, Any]:
        return system.stats()

    app.include_router(api)
    return app
