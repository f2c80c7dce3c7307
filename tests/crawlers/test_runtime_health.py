"""Every platform's way of refusing, read as the right health state; politeness clocks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crawlers.answer import Answer
from crawlers.errors import (
    Banned,
    Captcha,
    CrawlError,
    LoginRequired,
    RateLimited,
    ServerError,
)
from crawlers.health import check_json, check_response
from crawlers.politeness import Politeness, TokenBucket, backoff_delay


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"ok": -100, "url": "/weibo/login?r=x"}, LoginRequired),
        ({"ok": 0, "errno": "100005", "msg": "请求过于频繁，请稍后再试"}, RateLimited),
        ({"code": -100, "success": False, "msg": "登录已过期", "data": {}}, LoginRequired),
        ({"code": -104, "success": False, "msg": "账号异常，已被限制访问"}, Banned),
        ({"code": 300013, "msg": "访问频次异常，请勿频繁操作或重启试试"}, RateLimited),
        ({"code": 461, "msg": "请输入验证码"}, Captcha),
        ({"code": -352, "data": {"v_voucher": "x"}}, Captcha),
        ({"code": -101, "message": "账号未登录"}, LoginRequired),
        ({"code": -412, "message": "请求被拦截"}, Banned),
        ({"code": -799, "message": "请求过于频繁"}, RateLimited),
        ({"error": {"code": 40352, "message": "系统监测到您的网络环境存在异常"}}, Captcha),
        ({"error": {"code": 100, "message": "请先登录"}}, LoginRequired),
        ({"code": 40101, "msg": "请先登录"}, LoginRequired),
        ({"code": 42901, "msg": "访问过于频繁"}, RateLimited),
    ],
)
def test_refusal_bodies_become_their_state(body: dict[str, Any], error: type[CrawlError]) -> None:
    with pytest.raises(error):
        check_json(body, "GET /x")


@pytest.mark.parametrize(
    "body",
    [
        {"ok": 1, "data": {"cards": [{"mblog": {"text": "请先登录才能看到的路灯坏了"}}]}},
        {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}},
        {"code": 0, "msg": "success", "data": {"list": []}},
        {"paging": {"is_end": True}, "data": []},
        [1, 2],
    ],
)
def test_ordinary_bodies_pass(body: Any) -> None:
    check_json(body, "GET /x")


def answer(status: int, text: str = "", **headers: str) -> Answer:
    return Answer.of_httpx(
        httpx.Response(
            status, text=text, headers=headers, request=httpx.Request("GET", "http://sim/x")
        )
    )


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (answer(429, **{"Retry-After": "5"}), RateLimited),
        (answer(418), RateLimited),
        (answer(401), LoginRequired),
        (answer(302, location="/forum/login?redirect=/x"), LoginRequired),
        (answer(461), Captcha),
        (answer(403, "<h1>访问受限</h1>您的IP访问过于频繁"), Banned),
        (answer(403, "<title>安全验证</title>请输入验证码"), Captcha),
        (answer(412), Banned),
        (answer(503, "<center>nginx</center>"), ServerError),
        (
            answer(
                200, "<title>安全验证 - 微博</title>操作太频繁", **{"content-type": "text/html"}
            ),
            Captcha,
        ),
    ],
)
def test_status_lines_and_pages_become_their_state(
    response: Answer, error: type[CrawlError]
) -> None:
    with pytest.raises(error):
        check_response(response)


def test_retry_after_is_read() -> None:
    with pytest.raises(RateLimited) as caught:
        check_response(answer(429, **{"Retry-After": "7"}))
    assert caught.value.retry_after == 7


def test_backoff_grows_jittered_caps_and_honours_retry_after() -> None:
    policy = Politeness(backoff_s=1, backoff_max_s=10)
    assert [backoff_delay(policy, n, None, rng=lambda: 1.0) for n in range(5)] == [1, 2, 4, 8, 10]
    assert backoff_delay(policy, 0, None, rng=lambda: 0.0) == 0.5
    assert backoff_delay(policy, 0, 30, rng=lambda: 1.0) == 30


async def test_token_bucket_spends_the_burst_then_waits_its_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(2.0, 3, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        await bucket.take()
    assert slept == [0.5, 0.5]
    now[0] += 10
    await bucket.take()
    assert len(slept) == 2, "a quiet spell refills the burst"
