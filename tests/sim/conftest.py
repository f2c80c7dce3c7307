from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from sim.platforms import SimState, create_platforms_app

WIDE = "，"
"""A search term in nearly every written post: the pool is not written around query words,
so tests that need many results search for this."""


@pytest.fixture(scope="session")
def app() -> Starlette:
    return create_platforms_app(seed=7)


@pytest.fixture
def state(app: Starlette) -> SimState:
    sim: SimState = app.state.sim
    return sim


@pytest.fixture
async def client(app: Starlette, state: SimState) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the shared app; faults, counters and clock are reset around each test."""
    state.faults.clear()
    state.faults.reset_stats()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield http
    state.faults.clear()
    state.elapsed = timedelta(0)
