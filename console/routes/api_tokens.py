"""Consumers' tokens over the API: who am I, rotate my token; admins issue and revoke.

Every change is in the store, so it holds at once in every console process (no restart):
``POST /api/v1/tokens/current/rotate`` gives the caller a successor and keeps the old
token alive for ``grace_seconds`` while the consumer switches over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response

from console import tokens
from console.callers import AnyApiCaller, TokenAdmin
from console.deps import StoreDep
from console.paging import respond
from console.problems import PROBLEM_RESPONSES, ApiProblem, problem_doc
from console.responses import MaskedJSONResponse
from xianban.records import utcnow
from xianban.store.ticket_api import ApiToken, list_tokens

router = APIRouter(
    prefix="/api/v1/tokens",
    default_response_class=MaskedJSONResponse,
    tags=["访问令牌"],
    responses=PROBLEM_RESPONSES,
)


class TokenOut(BaseModel):
    token_id: str | None
    consumer: str
    kind: str = Field(description="database（可经接口轮换）或 configured（配置文件中的）")
    scopes: list[str]
    departments: list[str] = Field(description="可回写工单的承办单位；空表示全部")
    note: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    rotated_from: str | None = None
    last_used_at: datetime | None = None


class IssuedToken(TokenOut):
    token: str = Field(description="令牌本身：只在此显示一次，服务端只存其摘要")


class Rotation(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"grace_seconds": 3600}]}
    )

    grace_seconds: int = Field(3600, ge=0, le=7 * 86400, description="旧令牌继续有效的秒数")


class NewToken(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "consumer": "longhua-dashboard",
                    "scopes": ["cases:read", "cases:write"],
                    "departments": ["龙华区城市管理和综合执法局"],
                    "note": "龙华区指挥中心大屏",
                }
            ]
        },
    )

    consumer: str = Field(min_length=1, max_length=128, pattern=r"^[\w.-]+$")
    scopes: list[str] = Field(min_length=1)
    departments: list[str] = Field(default_factory=list, max_length=50)
    note: str = Field("", max_length=500)
    expires_at: datetime | None = None

    @field_validator("scopes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return list(tokens.as_scopes(value))


def token_json(token: ApiToken) -> dict[str, Any]:
    def at(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "token_id": token.token_id,
        "consumer": token.consumer,
        "kind": "database",
        "scopes": list(token.scopes),
        "departments": list(token.departments),
        "note": token.note,
        "created_at": at(token.created_at),
        "expires_at": at(token.expires_at),
        "revoked_at": at(token.revoked_at),
        "rotated_from": token.rotated_from,
        "last_used_at": at(token.last_used_at),
    }


@router.get("/current", response_model=TokenOut, summary="当前令牌：调用方、权限范围、有效期")
async def current(request: Request, user: AnyApiCaller, store: StoreDep) -> Response:
    if user.token_id is not None:
        token = await tokens.current(store, user.token_id)
        if token is not None:
            return respond(request, token_json(token))
    held = sorted(s for s in tokens.SCOPES if user.has_scope(s))
    return respond(
        request,
        {
            "token_id": None,
            "consumer": user.name,
            "kind": "configured",
            "scopes": held,
            "departments": [],
        },
    )


@router.post(
    "/current/rotate",
    response_model=IssuedToken,
    status_code=201,
    responses={409: problem_doc("配置文件中的令牌不能经接口轮换")},
    summary="轮换当前令牌（旧令牌在宽限期后失效）",
)
async def rotate(request: Request, body: Rotation, user: AnyApiCaller, store: StoreDep) -> Response:
    token = await tokens.current(store, user.token_id) if user.token_id else None
    if token is None:
        raise ApiProblem(
            "token_not_rotatable",
            "此令牌来自配置（XIANBAN_CONSOLE_TOKENS），请修改配置更换；接口只轮换数据库中的令牌",
        )
    secret, successor = await tokens.rotate(
        store, token, grace=timedelta(seconds=body.grace_seconds)
    )
    await store.audit(
        actor=user.name,
        action="api.token.rotate",
        target=token.token_id,
        detail={"successor": successor.token_id, "grace_seconds": body.grace_seconds},
    )
    return respond(request, {**token_json(successor), "token": secret}, status_code=201)


@router.get("", response_model=list[TokenOut], summary="（管理员）所有消费方令牌")
async def all_tokens(request: Request, user: TokenAdmin, store: StoreDep) -> Response:
    return respond(request, [token_json(t) for t in await list_tokens(store)])


@router.post("", response_model=IssuedToken, status_code=201, summary="（管理员）为消费方签发令牌")
async def issue(request: Request, body: NewToken, user: TokenAdmin, store: StoreDep) -> Response:
    if body.expires_at is not None and (
        body.expires_at.tzinfo is None or body.expires_at <= utcnow()
    ):
        raise ApiProblem(
            "invalid_parameter",
            "expires_at 须带时区且晚于现在",
            extra={"problems": [{"field": "body.expires_at", "problem": "past or naive"}]},
        )
    secret, token = await tokens.issue(
        store,
        consumer=body.consumer,
        scopes=body.scopes,
        departments=body.departments,
        note=body.note,
        expires_at=body.expires_at,
    )
    await store.audit(
        actor=user.name,
        action="api.token.issue",
        target=token.token_id,
        detail={"consumer": token.consumer, "scopes": list(token.scopes)},
    )
    return respond(request, {**token_json(token), "token": secret}, status_code=201)


@router.delete(
    "/{token_id}",
    status_code=204,
    responses={404: problem_doc("没有找到访问令牌")},
    summary="（管理员）吊销令牌，立即生效",
)
async def revoke(
    token_id: Annotated[str, Path(max_length=64)], user: TokenAdmin, store: StoreDep
) -> Response:
    if not await tokens.revoke(store, token_id):
        raise ApiProblem("token_not_found", f"没有找到访问令牌 {token_id}")
    await store.audit(actor=user.name, action="api.token.revoke", target=token_id)
    return Response(status_code=204)
