"""A case opener killed between produce and commit: after restart, nothing is lost and
nothing is filed twice. Runs on both buses; on Kafka against the real broker."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from case_opener.stage import CaseOpenerStage
from sim.server import SimServer
from xianban.records import Geo, Lead, Record, Verdict
from xianban.runtime import Worker
from xianban.settings import Settings
from xianban.stage import StageContext
from xianban.store import Store

from .buses import open_bus


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the runtime catches it."""


class DiesAfter:
    """The real case opener, killed right after its n-th record was handled and produced."""

    def __init__(self, inner: CaseOpenerStage, n: int) -> None:
        self.inner, self.left = inner, n
        self.name, self.input = inner.name, inner.input

    async def start(self) -> None:
        await self.inner.start()

    async def handle(self, record: Verdict) -> Sequence[Record]:
        if self.left == 0:
            raise Killed
        self.left -= 1
        return await self.inner.handle(record)

    async def close(self) -> None:
        await self.inner.close()


def verdict(i: int) -> Verdict:
    lead = Lead(
        lead_id=f"l{i}",
        cluster_id=f"c{i}",
        post_ids=[f"weibo:{i}"],
        platform="weibo",
        text=f"南山科技园第{i}个井盖丢了",
        category="municipal_facilities",
        urgent=True,
        geo=Geo(district="南山区", street="粤海街道"),
        score=0.95,
    )
    return Verdict(
        verdict_id=f"v{i}",
        cluster_id=lead.cluster_id,
        lead=lead,
        decision="confirmed",
        by="rule:urgent_hazard",
        reason="加急",
    )


@pytest.mark.parametrize("kind", ["memory", "kafka"])
async def test_killed_case_opener_recovers_without_double_filing(kind: str, tmp_path: Path) -> None:
    verdicts = [verdict(i) for i in range(30)]
    async with SimServer() as sim, open_bus(kind) as bus:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/x.db")
        settings = Settings(
            workorder_url=sim.workorder_url, poll_timeout_s=0.2, batch_size=50, partitions=3
        )
        ctx = StageContext(settings=settings, store=store)
        try:
            for v in verdicts:
                await bus.produce(v.topic, v.to_bytes(), key=v.key())
            await bus.flush()

            doomed = DiesAfter(CaseOpenerStage(ctx), n=12)
            await doomed.start()
            with pytest.raises(Killed):
                await Worker(doomed, bus, settings, store=store).run(until_idle=True)
            await doomed.close()
            assert len(sim.workorders.orders) == 12  # filed, produced, never committed

            survivor = CaseOpenerStage(ctx)
            await survivor.start()
            stats = await Worker(survivor, bus, settings, store=store).run(until_idle=True)
            await survivor.close()

            assert stats.handled >= 30 - 12  # redelivered records included
            assert len(sim.workorders.orders) == 30
            assert sim.workorders.posts_received == 30  # no filing was sent twice
            cases = await store.list_cases(limit=100)
            assert sorted(c.cluster_id for c in cases) == sorted(v.cluster_id for v in verdicts)
            assert all(c.status == "filed" for c in cases)
            assert len({c.external_id for c in cases}) == 30
        finally:
            await store.close()
