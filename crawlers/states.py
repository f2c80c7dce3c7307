"""One vocabulary for a source's health, shared by the crawler, the CLI and the console.

The crawler writes a state code (``CrawlError.state``, ``ok``, ``queued`` after a rerun)
into the store; ops read it as one Chinese label and one tone, whatever screen they are
on. ``describe`` folds in what the code alone does not say: ops paused the source, or it
is resting after a refusal until a given time ("限流中 至 14:30"). A code this module does
not know still gets a label (the code itself) and the ``unknown`` tone, so a new error
class shows up as itself instead of passing for healthy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

Tone = Literal["good", "info", "idle", "warn", "bad", "changed", "unknown"]
"""A colour family: the console maps each to a CSS class (``state-<tone>``)."""

SHANGHAI = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class StateInfo:
    label: str
    tone: Tone
    meaning: str


STATES: Mapping[str, StateInfo] = {
    "ok": StateInfo("正常", "good", "最近一次采集成功"),
    "never_crawled": StateInfo("未采集", "idle", "还没有采集过"),
    "queued": StateInfo("待重采", "info", "运维已安排重新采集，下一轮调度执行"),
    "paused": StateInfo("已暂停", "idle", "运维暂停，调度器不再派发任务"),
    "disabled": StateInfo("未启用", "idle", "配置中未启用（enabled: false）"),
    "rate_limited": StateInfo("限流中", "warn", "平台限流（429/频繁），退避后再试"),
    "captcha": StateInfo("验证码", "warn", "平台要求输入验证码，源已暂歇"),
    "banned": StateInfo("已封禁", "bad", "IP 或账号被平台封禁"),
    "login_required": StateInfo("登录失效", "bad", "登录已过期或缺少登录，需重新扫码登录"),
    "layout_changed": StateInfo("页面改版", "changed", "页面或接口结构变了，适配器需要更新"),
    "silent_block": StateInfo("静默屏蔽", "bad", "平台返回空结果，而历史上这里有内容"),
    "signature_rejected": StateInfo("签名失效", "changed", "平台拒绝了请求签名，签名服务需要更新"),
    "server_error": StateInfo("平台故障", "warn", "平台返回 5xx 网关错误"),
    "timeout": StateInfo("超时", "warn", "平台无响应或连接被重置"),
    "malformed": StateInfo("响应损坏", "warn", "响应无法解析（截断的 JSON 等）"),
    "error": StateInfo("异常", "warn", "其他抓取错误"),
}
"""Every state a source can be in, in the order ops read them."""

REFUSALS = frozenset(
    {"captcha", "banned", "login_required", "layout_changed", "silent_block", "signature_rejected"}
)


@dataclass(frozen=True, slots=True)
class Shown:
    """A source's state as ops see it: code, label (with the rest-until time), tone."""

    code: str
    label: str
    tone: Tone
    meaning: str
    until: datetime | None = None


def info(code: str) -> StateInfo:
    return STATES.get(code) or StateInfo(code, "unknown", "未登记的状态")


def label(code: str) -> str:
    return info(code).label


def describe(
    code: str | None,
    *,
    paused: bool = False,
    enabled: bool = True,
    resting_until: datetime | None = None,
) -> Shown:
    """What ops are shown: paused and disabled win over the crawler's last state; a source
    resting after a refusal says until when (Shanghai time)."""
    if not enabled:
        shown = "disabled"
    elif paused:
        shown = "paused"
    else:
        shown = code or "never_crawled"
    base = info(shown)
    text = base.label
    if resting_until is not None and shown not in ("paused", "disabled"):
        local = resting_until.astimezone(SHANGHAI)
        text = f"{text} 至 {local:%m-%d %H:%M}"
    return Shown(shown, text, base.tone, base.meaning, resting_until)
