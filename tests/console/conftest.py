from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Page

from console import create_app
from console.auth import Role
from xianban.records import Record
from xianban.settings import Settings
from xianban.store import Store

TOKENS: dict[str, Role] = {
    "viewer-token-0123456789": "viewer",
    "analyst-token-0123456789": "analyst",
    "leader-token-0123456789": "leader",
    "ops-token-0123456789": "ops",
    "admin-token-0123456789": "admin",
    "api-token-0123456789": "api",
}
TOKEN_OF: dict[Role, str] = {role: token for token, role in TOKENS.items()}


def bearer(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN_OF[role]}"}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{(tmp_path / 'console.db').as_posix()}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def published() -> list[Record]:
    return []


@pytest.fixture
def app(store: Store, published: list[Record], tmp_path: Path) -> FastAPI:
    async def publish(record: Record) -> None:
        published.append(record)

    return create_app(
        store=store, publish=publish, settings=Settings(data_dir=tmp_path), tokens=TOKENS
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
        yield http


async def log_in(client: httpx.AsyncClient, role: Role, *, name: str = "zhangwei") -> str:
    """Log in through the form as a browser would; returns the CSRF token for later forms."""
    page = await client.get("/login")
    csrf = _hidden(page.text, "csrf")
    response = await client.post(
        "/login", data={"name": name, "token": TOKEN_OF[role], "csrf": csrf, "next": "/"}
    )
    assert response.status_code == 303, response.text
    home = await client.get("/cases")
    return _hidden(home.text, "csrf")


async def log_in_page(page: Page, role: Role, name: str) -> None:
    """Fill the login form the page shows and submit it, waiting for where it leads."""
    await page.fill("input[name=name]", name)
    await page.fill("input[name=token]", TOKEN_OF[role])
    async with page.expect_navigation():
        await page.click("button:has-text('登录')")


def tampered(token: str) -> str:
    """``token`` with its last character changed: a forged token, never the real one by chance
    (overwriting the end with fixed characters leaves it unchanged when it already ends so)."""
    return token[:-1] + ("1" if token[-1] == "0" else "0")


def _hidden(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
