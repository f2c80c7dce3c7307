"""Webhook subscriptions of a consumer, their delivery log and redelivery (webhooks:manage).

A consumer sees and changes only its own subscriptions. The URL is checked against the
allowed hosts and for internal addresses (``console.webhook_hosts``) when it is given
and again before every delivery. The signing secret is returned when the subscription is
made and when it is rotated; a rotated secret keeps signing (as a second ``v1``) for the
grace period, so the receiver can switch without losing a delivery.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response

from console.auth import Principal
from console.callers import HookManager
from console.deps import SettingsDep, StoreDep
from console.paging import decode_cursor, encode_cursor, respond
from console.problems import PROBLEM_RESPONSES, ApiProblem, problem_doc
from console.responses import MaskedJSONResponse
from console.webhook_hosts import UrlRefused, check
from xianban.records import utcnow
from xianban.store import Store
from xianban.store.ticket_api import (
    Delivery,
    DeliveryStatus,
    Subscription,
    attempts_of,
    get_delivery,
    get_subscription,
    list_deliveries,
    list_subscriptions,
    put_subscription,
    redeliver,
)

router = APIRouter(
    prefix="/api/v1/webhooks",
    default_response_class=MaskedJSONResponse,
    tags=["Webhook 订阅"],
    responses=PROBLEM_RESPONSES,
)
_404: dict[int | str, dict[str, Any]] = {404: problem_doc("没有找到订阅或投递记录")}
EventType = Literal["case.created", "case.status_changed", "case.updated", "*"]
SubscriptionId = Annotated[str, Path(max_length=64)]
DeliveryId = Annotated[str, Path(max_length=64)]


def _every_event() -> list[EventType]:
    return ["*"]


class NewSubscription(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.longhua.example.cn/xianban",
                    "event_types": ["case.status_changed"],
                    "description": "龙华区大屏",
                }
            ]
        },
    )

    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://[A-Za-z0-9.:\[\]-]+(/[!-~]*)?$",
        description="https 地址；须在允许的主机之列，且不能解析到内部地址",
    )
    event_types: list[EventType] = Field(default_factory=_every_event, min_length=1)
    description: str = Field("", max_length=200)

    @field_validator("event_types")
    @classmethod
    def _unique(cls, value: list[EventType]) -> list[EventType]:
        return list(dict.fromkeys(value))


class SecretRotation(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"grace_seconds": 86400}]}
    )

    grace_seconds: int = Field(86400, ge=0, le=7 * 86400, description="旧密钥继续签名的秒数")


class SubscriptionOut(BaseModel):
    subscription_id: str
    url: str
    event_types: list[str]
    departments: list[str] = Field(description="只收这些承办单位的工单事件；空表示全部")
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(None, description="签名密钥：只在创建和轮换时返回")


class SubscriptionList(BaseModel):
    count: int
    webhooks: list[SubscriptionOut]


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    delivery_id: str
    event_id: str
    event_type: str
    case_id: str
    sequence: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    log: list[AttemptOut] | None = Field(None, description="每次尝试（单条查询时给出）")


class DeliveryPage(BaseModel):
    count: int
    deliveries: list[DeliveryOut]
    next_cursor: str | None


def _consumer(user: Principal) -> str:
    return user.consumer or user.name


def _sub_json(sub: Subscription, *, secret: str | None = None) -> dict[str, Any]:
    return {
        "subscription_id": sub.subscription_id,
        "url": sub.url,
        "event_types": list(sub.event_types),
        "departments": list(sub.departments),
        "description": sub.description,
        "active": sub.active,
        "created_at": sub.created_at.isoformat(),
        "updated_at": sub.updated_at.isoformat(),
        **({"secret": secret} if secret else {}),
    }


def _delivery_json(d: Delivery, log: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    def at(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "delivery_id": d.delivery_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "case_id": d.case_id,
        "sequence": d.seq,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": at(d.next_attempt_at),
        "created_at": at(d.created_at),
        "updated_at": at(d.updated_at),
        "delivered_at": at(d.delivered_at),
        "last_status": d.last_status,
        "last_error": d.last_error,
        **({"log": log} if log is not None else {}),
    }


async def _own(store: Store, user: Principal, subscription_id: str) -> Subscription:
    sub = await get_subscription(store, subscription_id)
    if sub is None or sub.consumer != _consumer(user):
        raise ApiProblem("webhook_not_found", f"没有找到订阅 {subscription_id}")
    return sub


@router.get("", response_model=SubscriptionList, summary="本方的订阅")
async def list_webhooks(request: Request, user: HookManager, store: StoreDep) -> Response:
    subs = await list_subscriptions(store, consumer=_consumer(user))
    return respond(request, {"count": len(subs), "webhooks": [_sub_json(s) for s in subs]})


@router.post(
    "",
    response_model=SubscriptionOut,
    status_code=201,
    responses={403: problem_doc("订阅地址不被允许（主机不在允许之列，或为内部地址）")},
    summary="新建订阅（返回签名密钥）",
)
async def create_webhook(
    request: Request,
    body: NewSubscription,
    user: HookManager,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    try:
        await check(body.url, settings.api)
    except UrlRefused as exc:
        raise ApiProblem("webhook_url_refused", str(exc)) from None
    now = utcnow()
    secret = "whsec_" + secrets.token_urlsafe(24)
    sub = Subscription(
        subscription_id="sub_" + secrets.token_hex(8),
        consumer=_consumer(user),
        origin="api",
        url=body.url,
        secret=secret,
        event_types=tuple(body.event_types),
        departments=user.departments,
        description=body.description,
        active=True,
        created_at=now,
        updated_at=now,
    )
    await put_subscription(store, sub)
    await store.audit(
        actor=user.name,
        action="api.webhook.create",
        target=sub.subscription_id,
        detail={"url": sub.url, "event_types": list(sub.event_types)},
    )
    return respond(request, _sub_json(sub, secret=secret), status_code=201)


@router.get(
    "/{subscription_id}", response_model=SubscriptionOut, responses=_404, summary="单个订阅"
)
async def get_webhook(
    request: Request, subscription_id: SubscriptionId, user: HookManager, store: StoreDep
) -> Response:
    return respond(request, _sub_json(await _own(store, user, subscription_id)))


@router.delete(
    "/{subscription_id}", status_code=204, responses=_404, summary="停用订阅（投递记录保留）"
)
async def delete_webhook(
    subscription_id: SubscriptionId, user: HookManager, store: StoreDep
) -> Response:
    sub = await _own(store, user, subscription_id)
    await put_subscription(
        store, Subscription(**{**_fields(sub), "active": False, "updated_at": utcnow()})
    )
    await store.audit(actor=user.name, action="api.webhook.delete", target=subscription_id)
    return Response(status_code=204)


def _fields(sub: Subscription) -> dict[str, Any]:
    return {name: getattr(sub, name) for name in Subscription.__dataclass_fields__}


@router.post(
    "/{subscription_id}/rotate-secret",
    response_model=SubscriptionOut,
    responses=_404,
    summary="轮换签名密钥（宽限期内新旧密钥同时签名）",
)
async def rotate_secret(
    request: Request,
    subscription_id: SubscriptionId,
    body: SecretRotation,
    user: HookManager,
    store: StoreDep,
) -> Response:
    sub = await _own(store, user, subscription_id)
    now = utcnow()
    secret = "whsec_" + secrets.token_urlsafe(24)
    rotated = Subscription(
        **{
            **_fields(sub),
            "secret": secret,
            "previous_secret": sub.secret,
            "previous_secret_until": now + timedelta(seconds=body.grace_seconds),
            "updated_at": now,
        }
    )
    await put_subscription(store, rotated)
    await store.audit(actor=user.name, action="api.webhook.rotate", target=subscription_id)
    return respond(request, _sub_json(rotated, secret=secret))


@router.get(
    "/{subscription_id}/deliveries",
    response_model=DeliveryPage,
    responses=_404 | {400: problem_doc("翻页游标无效")},
    summary="投递记录（新的在前，游标翻页）",
)
async def deliveries(
    request: Request,
    subscription_id: SubscriptionId,
    user: HookManager,
    store: StoreDep,
    status: Annotated[
        DeliveryStatus | None, Query(description="pending / delivered / parked")
    ] = None,
    cursor: Annotated[str | None, Query(description="上一页的 next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    await _own(store, user, subscription_id)
    filters = {"subscription_id": subscription_id, "status": status}
    after = decode_cursor(cursor, filters) if cursor else None
    rows = await list_deliveries(
        store, subscription_id=subscription_id, status=status, after=after, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = (
        encode_cursor(last.created_at, last.delivery_id, filters) if more and last else None
    )
    body = {
        "count": len(rows),
        "deliveries": [_delivery_json(d) for d in rows],
        "next_cursor": next_cursor,
    }
    return respond(request, body)


async def _own_delivery(
    store: Store, user: Principal, subscription_id: str, delivery_id: str
) -> Delivery:
    await _own(store, user, subscription_id)
    delivery = await get_delivery(store, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise ApiProblem("delivery_not_found", f"没有找到投递记录 {delivery_id}")
    return delivery


@router.get(
    "/{subscription_id}/deliveries/{delivery_id}",
    response_model=DeliveryOut,
    responses=_404,
    summary="单次投递及其每次尝试",
)
async def delivery(
    request: Request,
    subscription_id: SubscriptionId,
    delivery_id: DeliveryId,
    user: HookManager,
    store: StoreDep,
) -> Response:
    found = await _own_delivery(store, user, subscription_id, delivery_id)
    log = [
        {
            "at": a.at.isoformat(),
            "status_code": a.status_code,
            "error": a.error,
            "duration_ms": a.duration_ms,
        }
        for a in await attempts_of(store, delivery_id)
    ]
    return respond(request, _delivery_json(found, log))


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    status_code=202,
    responses=_404,
    summary="重新投递（已搁置或已送达的也可）",
)
async def redeliver_one(
    request: Request,
    subscription_id: SubscriptionId,
    delivery_id: DeliveryId,
    user: HookManager,
    store: StoreDep,
) -> Response:
    await _own_delivery(store, user, subscription_id, delivery_id)
    await redeliver(store, delivery_id, at=utcnow())
    await store.audit(actor=user.name, action="api.webhook.redeliver", target=delivery_id)
    found = await get_delivery(store, delivery_id)
    assert found is not None
    return respond(request, _delivery_json(found), status_code=202)
