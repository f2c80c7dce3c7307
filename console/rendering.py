"""The page renderer: Jinja2 with autoescape on and masking on every expression.

A post's text is hostile input (anyone can post ``<script>`` on Weibo), so autoescaping is
forced on for every template, whatever its file name, and ``finalize`` masks phone and
ID numbers in every value before it is escaped. Templates therefore never need to
remember either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import Response

from console.auth import ROLE_LABELS, Gate, Principal
from console.masking import Identifier, mask_for_template
from crawlers.states import label as source_state_label
from xianban.labels import CATEGORY_LABELS, STATUS_LABELS
from xianban.records import UNDISPATCHED_STATUSES, Case, Geo, utcnow

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Shenzhen keeps UTC+8 all year; a fixed offset avoids depending on the tz database.
SHENZHEN = timezone(timedelta(hours=8), "CST")

PRIORITY_LABELS: Mapping[str, str] = {"urgent": "加急", "ordinary": "一般"}
AUDIT_ACTION_LABELS: Mapping[str, str] = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "lead.confirmed": "确认线索",
    "lead.rejected": "驳回线索",
    "lead.amended": "修改分类或地点",
    "lead.merged": "合并线索",
    "lead.merged_in": "并入报告",
    "lead.split": "拆分线索",
    "lead.split_out": "拆分出新线索",
    "lead.site_check": "派发现场核查",
    "lead.site_checked": "现场核查结果",
    "case.closure_approved": "办结审核通过",
    "case.closure_returned": "办结审核退回",
    "case.follow_up": "回访",
    "similar.tagged": "类案打标签",
    "similar.assigned": "类案交办",
    "similar.status": "类案状态变更",
    "similar.noted": "类案备注",
    "similar.followed": "关注类案",
    "similar.unfollowed": "取消关注类案",
    "source.paused": "暂停采集源",
    "source.resumed": "恢复采集源",
    "source.rerun": "重新采集",
    "source.login": "扫码登录采集源",
    "source.pause": "暂停采集源（命令行）",
    "source.resume": "恢复采集源（命令行）",
    "webhook.failed": "推送失败",
    "webhook.parked": "推送暂停（多次失败）",
    "api.token.issue": "签发接口令牌",
    "api.token.rotate": "轮换接口令牌",
    "api.token.revoke": "吊销接口令牌",
    "api.webhook.create": "新建推送订阅",
    "api.webhook.delete": "删除推送订阅",
    "api.webhook.rotate": "轮换推送密钥",
    "api.webhook.redeliver": "重新推送",
    "api.case.status": "接口回写工单状态",
    "api.case.reply": "接口回写答复",
    "api.case.site_check": "接口回写现场核查",
}
"""Every action the code audits (``tests/console/test_audit_labels.py`` finds them all)."""
AUDIT_ACTION_AREAS: Mapping[str, str] = {
    "lead": "线索研判",
    "case": "工单办理",
    "source": "采集源操作",
    "api": "接口管理",
    "webhook": "推送",
    "report": "简报",
    "similar": "类案治理",
}


def audit_action(code: str) -> str:
    """The Chinese label of an audited action; one added without a label still reads as
    Chinese (its area), never as a bare code."""
    if code in AUDIT_ACTION_LABELS:
        return AUDIT_ACTION_LABELS[code]
    return f"{AUDIT_ACTION_AREAS.get(code.partition('.')[0], '其他操作')}（未登记）"


def local_time(value: datetime | None) -> str:
    return value.astimezone(SHENZHEN).strftime("%Y-%m-%d %H:%M") if value else "—"


def place(geo: Geo) -> str:
    parts = [geo.district, geo.street, geo.community, geo.road, geo.poi]
    return " · ".join(p for p in parts if p) or "未识别地点"


def overdue(case: Case) -> bool:
    """Not dispatched and past its dispatch deadline: what 督办 chases."""
    return case.status in UNDISPATCHED_STATUSES and case.dispatch_due < utcnow()


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        finalize=mask_for_template,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        local_time=local_time,
        place=place,
        category=lambda code: CATEGORY_LABELS.get(code, code),
        status=lambda code: STATUS_LABELS.get(code, code),
        priority=lambda code: PRIORITY_LABELS.get(code, code),
        role=lambda code: ROLE_LABELS.get(code, code),
        ident=Identifier,
        source_state=source_state_label,
        audit_action=audit_action,
        as_json=lambda value: json.dumps(value, ensure_ascii=False, default=str),
    )
    env.globals.update(CATEGORY_LABELS=CATEGORY_LABELS, overdue=overdue)
    return env


class Pages:
    """Renders a page with what every page needs: the user, the CSRF token, the menu."""

    def __init__(self, gate: Gate) -> None:
        self._templates = Jinja2Templates(env=_environment())
        self._gate = gate

    def render(
        self,
        request: Request,
        template: str,
        *,
        user: Principal | None,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        context.update(
            user=user,
            csrf=self._gate.csrf_token(user) if user else "",
            active=request.url.path,
        )
        return self._templates.TemplateResponse(request, template, context, status_code=status_code)
