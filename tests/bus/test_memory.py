"""Memory bus specifics the contract suite cannot see from outside."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from xianban.bus.memory import MemoryBus, partition_for
from xianban.bus.wire import murmur2

from .traffic import DEADLINE_S

JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}
"""org.apache.kafka.common.utils.Utils.murmur2 on these keys (Kafka's UtilsTest)."""


@pytest.mark.parametrize("partitions", [1, 3, 12, 64])
def test_keys_land_where_the_java_client_puts_them(partitions: int) -> None:
    counter = itertools.count()
    for key, java_hash in JAVA_MURMUR2.items():
        assert partition_for(key, partitions, counter) == (java_hash & 0x7FFFFFFF) % partitions


@given(st.binary(max_size=200))
def test_murmur2_is_aiokafkas_on_any_key(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


async def test_keyless_records_spread_over_partitions() -> None:
    bus = MemoryBus(partitions=3)
    for i in range(9):
        await bus.produce("noise", str(i).encode(), key=None)
    consumer = bus.consumer("g", ["noise"])
    await consumer.start()
    got = await consumer.getmany(timeout_s=0, max_records=100)
    await consumer.stop()
    assert sorted(m.value or b"" for m in got) == [str(i).encode() for i in range(9)]
    assert {m.partition for m in got} == {0, 1, 2}


async def test_a_waiting_member_wakes_when_partitions_come_to_it() -> None:
    bus = MemoryBus(partitions=2)
    await bus.produce("posts", b"x", key="k")
    where = ("posts", partition_for(b"k", 2, itertools.count()))
    first, second = bus.consumer("g", ["posts"]), bus.consumer("g", ["posts"])
    await first.start()
    await second.start()
    holder, idle = (first, second) if where in first.assignment() else (second, first)
    assert where not in idle.assignment()
    waiting = asyncio.create_task(idle.getmany(timeout_s=3600, max_records=10))
    await asyncio.sleep(0)  # idle is now waiting on an empty partition
    await holder.stop()  # ...and the record's partition moves to it
    done, _ = await asyncio.wait({waiting}, timeout=DEADLINE_S)
    waiting.cancel()
    await idle.stop()
    assert waiting in done, "the waiting member was not woken by the rebalance"
    assert [m.value for m in waiting.result()] == [b"x"]
