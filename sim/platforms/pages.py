"""Refusal pages in the styles platforms really use, so health detection meets the real thing.

A JSON API that throttles rarely answers in JSON: a captcha or a ban comes back as an HTML
page, often with status 200, and a gateway's 5xx is an nginx page. Only rate limits and
login walls speak the platform's own JSON error shape, which each platform supplies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sim.platforms.faults import Active, FaultPages, PageMaker

GATEWAY_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


JSON_TYPE = "application/json; charset=utf-8"


def compact_json(body: Any) -> str:
    """Compact JSON with Chinese left readable, the way the platforms' APIs send it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(compact_json(body).encode(), status, headers, media_type=JSON_TYPE)


def _retry_after(active: Active) -> dict[str, str]:
    return {"Retry-After": str(int(active.number("retry_after", 5)))}


def _status(active: Active, default: int) -> int:
    """The asked error status if it is one (400–599); a refusal must never look like success."""
    status = int(active.number("status", default))
    return status if 400 <= status <= 599 else default


def gateway_error(_: Request, active: Active) -> Response:
    status = _status(active, 503)
    reason = GATEWAY_REASONS.get(status, "Error")
    body = (
        f"<html><head><title>{status} {reason}</title></head><body>"
        f"<center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>"
    )
    return HTMLResponse(body, status)


def captcha_page(site: str, prefix: str) -> PageMaker:
    def page(request: Request, _: Active) -> Response:
        back = quote(str(request.url.path))
        body = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>安全验证 - {site}</title></head><body><div class="verify-wrap">
<h2>操作太频繁，请稍后再试</h2><p>为了您的账号安全，请输入验证码</p>
<form action="/{prefix}/captcha/verify?back={back}" method="post">
<img class="captcha-img" src="/{prefix}/captcha.png" alt="验证码">
<input name="code" placeholder="请输入验证码"><button type="submit">确定</button>
</form></div></body></html>"""
        return HTMLResponse(body, 200)

    return page


def ban_page(site: str) -> PageMaker:
    def page(_: Request, active: Active) -> Response:
        body = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>访问受限 - {site}</title></head><body><div class="forbidden">
<h2>访问受限</h2><p>您的IP访问过于频繁，已被暂时限制访问。如有疑问请联系客服。</p>
<p class="code">错误代码：403-{site}</p></div></body></html>"""
        return HTMLResponse(body, _status(active, 403))

    return page


def redirect_to_login(prefix: str) -> PageMaker:
    def page(request: Request, _: Active) -> Response:
        back = quote(str(request.url.path) + ("?" + request.url.query if request.url.query else ""))
        return RedirectResponse(f"/{prefix}/login?redirect={back}", status_code=302)

    return page


def login_page(site: str, prefix: str) -> Callable[[Request], Response]:
    """The page a login wall leads to; what a crawler sees instead of content."""

    def page(_: Request) -> Response:
        body = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>登录 - {site}</title></head><body><div class="login-box">
<h2>登录{site}</h2><p>登录后查看更多精彩内容</p>
<form action="/{prefix}/login" method="post"><input name="account" placeholder="手机号/邮箱">
<input name="password" type="password" placeholder="密码"><button>登录</button></form>
<p class="qrcode-tip">请使用APP扫码登录</p></div></body></html>"""
        return HTMLResponse(body)

    return page


def html_pages(site: str, prefix: str) -> FaultPages:
    """Refusals of an HTML site: every one is a page."""

    def rate_limited(request: Request, active: Active) -> Response:
        body = (
            f"<html><head><title>{site}</title></head>"
            "<body><p>操作太频繁，请稍后再试</p></body></html>"
        )
        return HTMLResponse(body, _status(active, 429), _retry_after(active))

    return FaultPages(
        rate_limited=rate_limited,
        server_error=gateway_error,
        captcha=captcha_page(site, prefix),
        ban=ban_page(site),
        login_wall=redirect_to_login(prefix),
    )


def json_pages(
    site: str, prefix: str, *, throttled: dict[str, Any], login_wall: PageMaker
) -> FaultPages:
    """Refusals of a JSON API: its own JSON for throttling and login, HTML for the rest."""

    def rate_limited(_: Request, active: Active) -> Response:
        return json_response(throttled, _status(active, 429), _retry_after(active))

    return FaultPages(
        rate_limited=rate_limited,
        server_error=gateway_error,
        captcha=captcha_page(site, prefix),
        ban=ban_page(site),
        login_wall=login_wall,
    )
