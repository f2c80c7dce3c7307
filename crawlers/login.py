"""QR-code login for headless crawlers: show the code, wait for the scan, keep the session.

The crawler fleet runs on servers with no browser and no screen. An ops user runs
``xianban sources login SOURCE`` (or the console), scans the code with the platform's app
on a phone, and the confirmed session joins the source's account pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from crawlers.base import Fetcher, QrCode, QrLoginAdapter
from crawlers.errors import LoginTimedOut
from crawlers.politeness import Sleep
from crawlers.sessions import Account, SessionPool


async def qr_login(
    adapter: QrLoginAdapter,
    fetch: Fetcher,
    pool: SessionPool,
    *,
    show: Callable[[QrCode], None],
    poll_s: float = 2.0,
    timeout_s: float = 180.0,
    sleep: Sleep = asyncio.sleep,
    cookie: str = "web_session",
) -> Account:
    """Create a code, ``show`` it, poll until it is confirmed; the new account is live."""
    qr = await adapter.qr_create(fetch)
    show(qr)
    waited = 0.0
    while True:
        token = await adapter.qr_poll(fetch, qr)
        if token:
            return pool.add(token, cookie=cookie)
        if waited >= timeout_s:
            raise LoginTimedOut(f"{adapter.name}: QR code {qr.qr_id} not scanned in {timeout_s:g}s")
        await sleep(poll_s)
        waited += poll_s
