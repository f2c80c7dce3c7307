"""Reading a platform's answer for what it says about the source's health.

A refusal often comes as HTTP 200: a captcha page, a login wall in JSON (``ok: -100``), a
throttling message. The fetcher runs every answer through ``check_response`` (status and
HTML pages) and every JSON body through ``check_json`` before an adapter sees it, so each
refusal becomes its own ``CrawlError`` state instead of a parse error further on.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

from crawlers.answer import Answer
from crawlers.errors import (
    Banned,
    Captcha,
    CrawlError,
    LoginRequired,
    RateLimited,
    ServerError,
)
from xianban.records import utcnow

CAPTCHA_MARKERS = ("安全验证", "请输入验证码", "操作太频繁", "验证码")
BAN_MARKERS = ("访问受限", "请求被拦截", "账号异常", "已被限制")
LOGIN_MARKERS = ("登录已过期", "请先登录", "账号未登录", "登录")
RATE_MARKERS = ("频繁", "频次")
OK_CODES: tuple[object, ...] = (0, "0", 1, 200, None)


def retry_after_s(response: Answer) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After`` as a number or an HTTP date."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


def check_response(response: Answer) -> None:
    """Raise the health state a status line or an HTML refusal page stands for."""
    status = response.status_code
    where = response.where
    if status in (429, 418):
        raise RateLimited(f"{where}: HTTP {status}", retry_after=retry_after_s(response))
    if status in (401, 407):
        raise LoginRequired(f"{where}: HTTP {status}")
    if status in (301, 302, 303, 307, 308) and "login" in response.headers.get("location", ""):
        raise LoginRequired(f"{where}: redirected to the login page")
    if status == 461:
        raise Captcha(f"{where}: HTTP 461 captcha")
    if status in (403, 412):
        raise _refusal_in(response.text, where) or Banned(f"{where}: HTTP {status}")
    if status >= 500:
        raise ServerError(f"{where}: HTTP {status}")
    if status >= 400:
        raise CrawlError(f"{where}: HTTP {status}")
    if "html" in response.headers.get("content-type", ""):
        head = response.text[:2000]
        if "<title>安全验证" in head or ("请输入验证码" in head and "<form" not in head):
            raise Captcha(f"{where}: captcha page")


def _refusal_in(text: str, where: str) -> CrawlError | None:
    if any(m in text for m in CAPTCHA_MARKERS):
        return Captcha(f"{where}: {_short(text)}")
    if any(m in text for m in BAN_MARKERS):
        return Banned(f"{where}: {_short(text)}")
    return None


def check_json(body: Any, where: str) -> None:
    """Raise the health state an error body stands for (any platform's code/msg shape).

    Only bodies that say they failed are read (``ok``/``code`` not a success value,
    ``success: false`` or an ``error`` object), so a post that merely mentions "登录"
    never trips it.
    """
    if not isinstance(body, dict):
        return
    error = body.get("error")
    failed = (
        body.get("ok", 1) not in (1, None)
        or body.get("code") not in OK_CODES
        or body.get("success") is False
        or isinstance(error, dict)
    )
    if not failed:
        return
    detail = error if isinstance(error, dict) else body
    message = str(detail.get("msg") or detail.get("message") or "")
    codes = {str(body.get("ok")), str(body.get("code")), str(detail.get("code"))}
    text = f"{where}: {message or codes}"
    if codes & {"-100", "-101", "100", "40101"} or any(m in message for m in LOGIN_MARKERS):
        raise LoginRequired(text)
    if codes & {"-352", "461", "40352"} or any(m in message for m in CAPTCHA_MARKERS):
        raise Captcha(text)
    if codes & {"-104", "-412"} or any(m in message for m in BAN_MARKERS):
        raise Banned(text)
    if body.get("errno") == "100005" or codes & {"-799", "42901", "300013", "10020"}:
        raise RateLimited(text)
    if any(m in message for m in RATE_MARKERS):
        raise RateLimited(text)


def _short(text: str) -> str:
    return " ".join(text.split())[:80]
