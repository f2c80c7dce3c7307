"""Filing adapter for the city work-order system, spoken as Open311 GeoReport v2.

Every request carries ``Idempotency-Key: <case_id>``: a filing that timed out half-way
(accepted by the system, answer lost) is retried with the same key and yields the same
work order instead of a second one. Errors are translated here, at the boundary:
timeouts, connection failures and 5xx are ``TransientError`` (the outbox retries them);
other 4xx are ``PermanentError`` (retrying cannot help).
"""

from __future__ import annotations

from typing import Any

import httpx

from xianban.errors import ConfigError, PermanentError, TransientError
from xianban.records import Case
from xianban.settings import Settings
from xianban.tls import tls_context


class WorkOrderClient:
    def __init__(self, base_url: str, *, timeout_s: float) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/open311/v2", timeout=timeout_s, verify=tls_context()
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkOrderClient:
        if not settings.workorder_url:
            raise ConfigError("workorder_url is not set (XIANBAN_WORKORDER_URL)")
        return cls(settings.workorder_url, timeout_s=settings.workorder_timeout_s)

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise TransientError(f"work-order system timed out on {method} {path}") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"work-order system unreachable: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"work-order system answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(
                f"work-order system refused {method} {path}: "
                f"{response.status_code} {response.text[:200]}"
            )
        return response.json()

    async def file(self, case: Case) -> str:
        """File a case; returns the system's request id (the same one on a retry)."""
        address = " ".join(
            part
            for part in (case.geo.district, case.geo.street, case.geo.road, case.geo.poi)
            if part
        )
        form = {
            "service_code": case.category,
            "description": case.description[:4000],
            "address_string": address or "深圳市",
            "attribute[case_id]": case.case_id,
            "attribute[department]": case.department,
            "attribute[unit_level]": case.unit_level or "",
            "attribute[priority]": case.priority,
            "attribute[district]": case.geo.district or "",
            "attribute[street]": case.geo.street or "",
            "attribute[community]": case.geo.community or "",
            "attribute[post_ids]": ",".join(case.post_ids),
        }
        body = await self._call(
            "POST", "/requests.json", data=form, headers={"Idempotency-Key": case.case_id}
        )
        try:
            return str(body[0]["service_request_id"])
        except (KeyError, IndexError, TypeError) as exc:
            raise TransientError(f"unexpected filing answer: {str(body)[:200]}") from exc

    async def status(self, external_id: str) -> dict[str, Any]:
        body = await self._call("GET", f"/requests/{external_id}.json")
        if not isinstance(body, list) or not body or not isinstance(body[0], dict):
            raise TransientError(f"unexpected status answer for {external_id}")
        return body[0]

    async def escalate(self, external_id: str, reason: str) -> None:
        await self._call("POST", f"/requests/{external_id}/x_escalations", json={"reason": reason})

    async def transfer(self, external_id: str, agency: str, reason: str) -> dict[str, Any]:
        """Send a returned (退单) work order to another unit (改派); the new state."""
        body = await self._call(
            "POST",
            f"/requests/{external_id}/x_transfer",
            json={"agency": agency, "reason": reason},
        )
        if not isinstance(body, list) or not body or not isinstance(body[0], dict):
            raise TransientError(f"unexpected transfer answer for {external_id}")
        return body[0]

    async def reopen(self, external_id: str, reason: str) -> None:
        """Send a resolved work order back to its unit (办结审核退回, 不满意, 复发)."""
        await self._call("POST", f"/requests/{external_id}/x_reopen", json={"reason": reason})
