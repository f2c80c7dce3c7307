"""A pool of headless Chromium contexts for platforms that only render in a browser.

One browser process, at most ``contexts`` contexts open at once (each is a profile: its
own cookies, so one per login session). A context is recycled after ``pages_per_context``
pages, because long-lived Chromium contexts leak memory, and at once when a page crashes
or its work raises, because a context that failed once tends to fail again. Images,
fonts and media are dropped at the request level: a crawler reads text, and they are
most of a page's bytes. Debian's Chromium is used (``executable``), not a downloaded one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Route,
    async_playwright,
)

from xianban.errors import ConfigError

CHROMIUM = "/usr/bin/chromium"
LAUNCH_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
BLOCKED = frozenset({"image", "font", "media"})


@dataclass
class Slot:
    """One open context and how many pages it has served."""

    context: BrowserContext
    session: str
    pages: int = 0
    busy: bool = False


@dataclass
class PoolStats:
    contexts_opened: int = 0
    contexts_recycled: int = 0
    blocked: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class BrowserPool:
    def __init__(
        self,
        *,
        executable: str = CHROMIUM,
        contexts: int = 2,
        pages_per_context: int = 50,
        blocked: Iterable[str] = BLOCKED,
    ) -> None:
        if contexts < 1 or pages_per_context < 1:
            raise ConfigError("browser pool: contexts and pages_per_context must be >= 1")
        if not Path(executable).exists():
            raise ConfigError(f"browser pool: no Chromium at {executable}")
        self.executable = executable
        self.pages_per_context = pages_per_context
        self.blocked = frozenset(blocked)
        self.max_contexts = contexts
        self.limit = asyncio.Semaphore(contexts)
        self.slots: list[Slot] = []
        self.stats = PoolStats()
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None

    async def start(self) -> None:
        self.playwright = await async_playwright().start()
        try:
            self.browser = await self.playwright.chromium.launch(
                executable_path=self.executable, args=list(LAUNCH_FLAGS), headless=True
            )
        except Exception:
            await self.playwright.stop()
            raise

    async def close(self) -> None:
        for slot in self.slots:
            await slot.context.close()
        self.slots.clear()
        if self.browser is not None:
            await self.browser.close()
        if self.playwright is not None:
            await self.playwright.stop()
        self.browser = self.playwright = None

    async def __aenter__(self) -> BrowserPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _drop(self, route: Route) -> None:
        if route.request.resource_type in self.blocked:
            self.stats.blocked += 1
            await route.abort()
        else:
            await route.continue_()

    async def _slot(self, session: str, cookies: list[dict[str, str]] | None) -> Slot:
        """An idle context of this session, else a new one (the semaphore bounds them)."""
        for slot in self.slots:
            if not slot.busy and slot.session == session:
                return slot
        if len(self.slots) >= self.max_contexts:
            # we hold a permit, so at most max_contexts - 1 others are busy: one is idle
            idle = next(s for s in self.slots if not s.busy)
            await self._recycle(idle, "room for another session")
        if self.browser is None:
            raise ConfigError("browser pool: not started")
        context = await self.browser.new_context(locale="zh-CN")
        if cookies:
            await context.add_cookies(cookies)  # type: ignore[arg-type]
        await context.route("**/*", self._drop)
        slot = Slot(context=context, session=session)
        self.slots.append(slot)
        self.stats.contexts_opened += 1
        return slot

    async def _recycle(self, slot: Slot, reason: str) -> None:
        self.slots.remove(slot)
        self.stats.contexts_recycled += 1
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1
        await slot.context.close()

    @asynccontextmanager
    async def page(
        self, session: str = "", cookies: list[dict[str, str]] | None = None
    ) -> AsyncIterator[Page]:
        """A fresh tab in a context of ``session``; ``cookies`` seed a new context."""
        async with self.limit:
            slot = await self._slot(session, cookies)
            slot.busy = True
            tab = await slot.context.new_page()
            crashed = False

            def on_crash(_: Page) -> None:
                nonlocal crashed
                crashed = True

            tab.on("crash", on_crash)
            try:
                yield tab
            except BaseException:
                slot.busy = False
                await self._recycle(slot, "error")
                raise
            slot.busy = False
            slot.pages += 1
            if crashed:
                await self._recycle(slot, "crash")
            elif slot.pages >= self.pages_per_context:
                await self._recycle(slot, "pages")
            else:
                await tab.close()
