"""The simulators in a child process (``sim.process``), as ``xianban run`` starts them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from sim.process import SimProcess
from xianban.errors import UnavailableError


async def test_a_request_made_before_the_child_serves_waits_for_it(tmp_path: Path) -> None:
    sim = SimProcess(state_file=tmp_path / "workorder-sim.json", corpus_size=300)
    async with sim, httpx.AsyncClient(timeout=60) as client:
        # no ready() first: the request waits in the backlog of the socket bound here
        services = await client.get(f"{sim.workorder_url}/open311/v2/services.json")
        await sim.ready()
        feed = await client.get(f"{sim.url}/jingbao/rss.xml")
    assert services.status_code == 200 and len(services.json()) == 18
    assert feed.status_code == 200 and b"<rss" in feed.content


async def test_the_child_stops_when_its_stdin_closes(tmp_path: Path) -> None:
    sim = SimProcess(state_file=tmp_path / "workorder-sim.json", corpus_size=300)
    async with sim:
        await sim.ready()
        proc = sim._proc
    assert proc is not None and proc.returncode == 0  # it left by itself, not killed
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"{sim.workorder_url}/open311/v2/services.json")


async def test_a_child_that_cannot_start_is_an_error_not_a_hang(tmp_path: Path) -> None:
    state = tmp_path / "workorder-sim.json"
    state.write_text("{not json", encoding="utf-8")
    sim = SimProcess(state_file=state, corpus_size=300)
    async with sim:
        with pytest.raises(UnavailableError, match="exited with code 1"):
            await sim.ready()
