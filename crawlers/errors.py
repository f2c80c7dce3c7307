"""What can go wrong while crawling, one class per health state (STYLE.md #8).

```
CrawlError                      a source answered, but not with content
├── RetryableError              worth another request after a wait
│   ├── RateLimited             429/418 or a throttling body; ``retry_after`` when given
│   ├── ServerError             5xx, a gateway page
│   ├── FetchTimeout            no answer in time, connection refused or reset
│   └── MalformedResponse       a body that does not parse (truncated JSON)
└── SourceRefused               retrying soon only digs deeper: back the source off
    ├── Banned                  403/412 "访问受限", an account restricted
    ├── Captcha                 a verification page ("操作太频繁", "请输入验证码")
    ├── LoginRequired           the login wall: a session expired or is missing
    ├── LayoutChanged           the page parses but not into the shape the adapter knows
    ├── SilentBlock             an empty page where the source's history says posts should be
    ├── SignatureRejected       the platform refused the request signature (the signer is stale)
    └── LoginTimedOut           nobody scanned the QR code in time
```

Each class carries ``state``: the value written to the source's state in the store, so
ops see *why* a source stopped, not a generic error.
"""

from __future__ import annotations


class CrawlError(Exception):
    state = "error"


class RetryableError(CrawlError):
    pass


class RateLimited(RetryableError):
    state = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(RetryableError):
    state = "server_error"


class FetchTimeout(RetryableError):
    state = "timeout"


class MalformedResponse(RetryableError):
    state = "malformed"


class SourceRefused(CrawlError):
    pass


class Banned(SourceRefused):
    state = "banned"


class Captcha(SourceRefused):
    state = "captcha"


class LoginRequired(SourceRefused):
    state = "login_required"


class LayoutChanged(SourceRefused):
    state = "layout_changed"


class SilentBlock(SourceRefused):
    state = "silent_block"


class SignatureRejected(SourceRefused):
    state = "signature_rejected"


class LoginTimedOut(SourceRefused):
    state = "login_required"
