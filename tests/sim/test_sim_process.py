"""The simulators in a child process (``sim.process``), as ``xianban run`` starts them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from sim.process import SimProcess
from sim.server import SimServer
from xianban.errors import UnavailableError
from xianban.records import utcnow


async def test_a_request_made_before_the_child_serves_waits_for_it(tmp_path: Path) -> None:
    sim = SimProcess(state_file=tmp_path / "workorder-sim.json", corpus_size=300)
    async with sim, httpx.AsyncClient(timeout=60) as client:
        # no ready() first: the request waits in the backlog of the socket bound here
        services = await client.get(f"{sim.workorder_url}/open311/v2/services.json")
        await sim.ready()
        feed = await client.get(f"{sim.url}/jingbao/rss.xml")
    assert services.status_code == 200 and len(services.json()) == 18
    assert feed.status_code == 200 and b"<rss" in feed.content


async def test_the_child_anchors_its_world_where_it_is_told() -> None:
    """``--anchor`` pins the world (``xianban sim --anchor``): its posts end there and the
    simulator's clock starts there."""
    anchor = datetime(2031, 5, 4, 3, 2, tzinfo=UTC)
    async with SimProcess(corpus_size=300, anchor=anchor) as sim:
        await sim.ready()
        async with httpx.AsyncClient(timeout=60) as client:
            clock = (await client.get(f"{sim.url}/_admin/clock")).json()
            feed = await client.get(f"{sim.url}/jingbao/rss.xml")
    assert datetime.fromisoformat(clock["now"]) == anchor
    dates = [parsedate_to_datetime(d) for d in re.findall(r"<pubDate>([^<]+)</pubDate>", feed.text)]
    assert dates and all(anchor - timedelta(days=31) <= d <= anchor for d in dates)


async def test_a_live_server_without_an_anchor_ends_its_world_now() -> None:
    """What ``make run`` and ``xianban sim`` serve: a world whose newest history is today,
    so a wall-clock crawler's lookback window holds it on any date."""
    async with SimServer(corpus_size=50) as sim:
        assert abs(sim.platforms.now() - utcnow()) < timedelta(minutes=2)
        newest = max(i.created_at for i in sim.platforms.corpus.items)
    assert newest - utcnow() < timedelta(days=3)


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
