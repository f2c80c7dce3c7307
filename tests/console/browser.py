"""The console served on a free localhost port beside a Chromium page, for browser tests.

Every browser test needs the same four things torn down in reverse order (server, playwright,
browser, page); one context manager keeps that order in one place.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Page, async_playwright
from starlette.types import ASGIApp

from crawlers.browser import CHROMIUM, LAUNCH_FLAGS
from tests.services import require_service
from xianban.asgi_server import EmbeddedServer


@asynccontextmanager
async def console_page(
    app: ASGIApp, *, width: int = 1280, height: int = 900
) -> AsyncIterator[tuple[Page, str]]:
    """Yield a fresh page and the console's base URL (``http://127.0.0.1:PORT``)."""
    require_service("Chromium", os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing")
    server = EmbeddedServer(app)
    await server.start()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=list(LAUNCH_FLAGS)
            )
            try:
                page = await browser.new_page(viewport={"width": width, "height": height})
                yield page, server.url
            finally:
                await browser.close()
    finally:
        await server.stop()
