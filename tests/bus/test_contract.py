"""One contract, two buses: the memory bus must behave like Kafka where stages can tell.

Every test runs on ``MemoryBus`` and on ``KafkaBus`` against a local tansu broker. The
deadlines below only stop a broken bus from hanging the run; nothing asserts speed.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence

import pytest
from aiokafka.partitioner import DefaultPartitioner

from xianban.bus import Bus, Consumer, MemoryBus, Message
from xianban.errors import ConfigError
from xianban.records import Post

from .traffic import DEADLINE_S, numbered, produce_all, take, values

PARTITIONS = 3


def kafka_partition(key: bytes) -> int:
    """Where aiokafka's own partitioner (Java's murmur2) puts ``key``."""
    everything = list(range(PARTITIONS))
    partition: int = DefaultPartitioner()(key, everything, everything)
    return partition


async def settle(consumers: Sequence[Consumer], topic: str) -> None:
    """Poll every member until the group's partitions are split among all of them."""
    everything = {(topic, p) for p in range(PARTITIONS)}

    async def poll() -> None:
        while True:
            owned = [c.assignment() for c in consumers]
            split = sum(len(o) for o in owned) == len(everything) and set().union(*owned)
            if split == everything and all(owned):
                return
            await asyncio.gather(*(c.getmany(timeout_s=0.1, max_records=1) for c in consumers))

    await asyncio.wait_for(poll(), DEADLINE_S)


async def test_each_key_keeps_its_order_on_one_partition(bus: Bus, topic_prefix: str) -> None:
    topic = f"{topic_prefix}posts"
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    # 40 keys, interleaved: key k gets values 0..24 in order
    items = [(f"source-{k}", f"{k}:{seq}".encode()) for seq in range(25) for k in range(40)]
    await produce_all(bus, topic, items)
    consumer = bus.consumer(f"{topic_prefix}g", [topic])
    await consumer.start()
    try:
        got = await take(consumer, len(items), commit=True)
    finally:
        await consumer.stop()

    sequences: dict[str, list[int]] = defaultdict(list)
    partitions: dict[bytes | None, set[int]] = defaultdict(set)
    for m in got:
        assert m.value is not None
        k, seq = m.value.decode().split(":")
        assert m.key == f"source-{k}".encode()
        sequences[k].append(int(seq))
        partitions[m.key].add(m.partition)
    assert len(sequences) == 40
    assert all(seqs == list(range(25)) for seqs in sequences.values())
    assert all(len(p) == 1 for p in partitions.values())
    assert len({p for ps in partitions.values() for p in ps}) > 1  # keys spread out


async def test_uncommitted_records_go_to_the_next_member(bus: Bus, topic_prefix: str) -> None:
    topic, group = f"{topic_prefix}leads", f"{topic_prefix}verifier"
    items = numbered(300)
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    await produce_all(bus, topic, items)

    first = bus.consumer(group, [topic])
    await first.start()
    seen = await take(first, len(items), commit=False)
    # commit the first half of what each partition delivered, then die
    by_partition: dict[int, list[Message]] = defaultdict(list)
    for m in seen:
        by_partition[m.partition].append(m)
    done = [m for ms in by_partition.values() for m in ms[: len(ms) // 2]]
    await first.commit(done)
    await first.stop()

    second = bus.consumer(group, [topic])
    await second.start()
    try:
        again = await take(second, len(items) - len(done), commit=True)
        extra = await second.getmany(timeout_s=0.5, max_records=500)
    finally:
        await second.stop()
    assert extra == []
    assert sorted(values(again)) == sorted(set(values(seen)) - set(values(done)))


async def test_two_members_split_partitions_and_see_each_record_once(
    bus: Bus, topic_prefix: str
) -> None:
    topic, group = f"{topic_prefix}posts", f"{topic_prefix}leadfinder"
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    a, b = bus.consumer(group, [topic]), bus.consumer(group, [topic])
    await a.start()
    await b.start()
    try:
        await settle([a, b], topic)
        assert a.assignment().isdisjoint(b.assignment())
        assert a.assignment() | b.assignment() == {(topic, p) for p in range(PARTITIONS)}

        items = numbered(600, keys=60)
        await produce_all(bus, topic, items)
        got: list[Message] = []
        while len(got) < len(items):
            batches = await asyncio.wait_for(
                asyncio.gather(*(take(c, 1, commit=True) for c in (a, b))), DEADLINE_S
            )
            for member, batch in zip((a, b), batches, strict=True):
                assert {(m.topic, m.partition) for m in batch} <= member.assignment()
                got.extend(batch)
    finally:
        await a.stop()
        await b.stop()
    assert Counter(values(got)) == Counter(v for _, v in items)


async def test_a_member_leaving_hands_its_partitions_over(bus: Bus, topic_prefix: str) -> None:
    topic, group = f"{topic_prefix}verdicts", f"{topic_prefix}case-opener"
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    stays, leaves = bus.consumer(group, [topic]), bus.consumer(group, [topic])
    await stays.start()
    await leaves.start()
    try:
        await settle([stays, leaves], topic)
        await leaves.stop()
        assert leaves.assignment() == frozenset()
        items = numbered(200)
        await produce_all(bus, topic, items)
        got = await take(stays, len(items), commit=True)
        assert stays.assignment() == {(topic, p) for p in range(PARTITIONS)}
    finally:
        await stays.stop()
    assert sorted(values(got)) == sorted(v for _, v in items)


async def test_each_group_sees_everything(bus: Bus, topic_prefix: str) -> None:
    topic = f"{topic_prefix}cases"
    items = numbered(150)
    await produce_all(bus, topic, items)  # auto-creates the topic
    for group in ("webhooks", "supervisor"):
        consumer = bus.consumer(f"{topic_prefix}{group}", [topic])
        await consumer.start()
        try:
            got = await take(consumer, len(items), commit=True)
        finally:
            await consumer.stop()
        assert sorted(values(got)) == sorted(v for _, v in items)


async def test_lag_counts_uncommitted_records_until_commit(bus: Bus, topic_prefix: str) -> None:
    topic, group = f"{topic_prefix}tasks", f"{topic_prefix}crawlers"
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    items = numbered(120)
    await produce_all(bus, topic, items)
    consumer = bus.consumer(group, [topic])
    await consumer.start()
    try:
        assert await consumer.lag() == len(items)
        got = await take(consumer, len(items), commit=False)
        assert await consumer.lag() == len(items)
        await consumer.commit(got[: len(got) // 2])
        assert 0 < await consumer.lag() < len(items)
        await consumer.commit(got)
        assert await consumer.lag() == 0
        await produce_all(bus, topic, numbered(7))
        assert await consumer.lag() == 7
    finally:
        await consumer.stop()


async def test_a_large_batch_round_trips(bus: Bus, topic_prefix: str) -> None:
    topic = f"{topic_prefix}posts"
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    items = [(f"post-{i}", f"{i:05d}".encode() * 40) for i in range(5_000)]
    await produce_all(bus, topic, items)
    consumer = bus.consumer(f"{topic_prefix}bulk", [topic])
    await consumer.start()
    try:
        got = await take(consumer, len(items), commit=True)
        assert await consumer.lag() == 0
    finally:
        await consumer.stop()
    assert sorted(values(got)) == sorted(v for _, v in items)


async def test_dead_letters_keep_their_original_bytes(bus: Bus, topic_prefix: str) -> None:
    topic = f"{topic_prefix}dlq"
    originals: list[tuple[str, bytes | None]] = [
        ("bad-utf8", b"\xff\xfe\x00not json \xe4\xb8"),
        ("html", "<html><body>访问过于频繁</body></html>".encode()),
        ("empty", b""),
        ("tombstone", None),  # a null value, as any Kafka client can send
    ]
    await produce_all(bus, topic, originals)
    consumer = bus.consumer(f"{topic_prefix}ops", [topic])
    await consumer.start()
    try:
        got = await take(consumer, len(originals), commit=True)
    finally:
        await consumer.stop()
    assert {m.key: m.value for m in got} == {k.encode(): v for k, v in originals}


async def test_keys_land_on_the_partition_kafka_clients_choose(bus: Bus, topic_prefix: str) -> None:
    topic = f"{topic_prefix}tasks"
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    keys = [f"source-{i}" for i in range(30)]
    await produce_all(bus, topic, [(k, k.encode()) for k in keys])
    consumer = bus.consumer(f"{topic_prefix}crawlers", [topic])
    await consumer.start()
    try:
        got = await take(consumer, len(keys), commit=True)
    finally:
        await consumer.stop()
    assert all(m.key is not None and m.partition == kafka_partition(m.key) for m in got)


async def test_bad_input_is_refused_clearly_and_loses_nothing(bus: Bus, topic_prefix: str) -> None:
    topic = f"{topic_prefix}posts"
    await produce_all(bus, topic, numbered(5))
    with pytest.raises(ConfigError, match="invalid topic name"):
        await bus.produce("帖子 posts", b"{}", key="k")
    with pytest.raises(ConfigError, match="invalid topic name"):
        await bus.ensure_topics(["", topic], partitions=PARTITIONS)
    with pytest.raises(ConfigError, match="invalid topic name"):
        await bus.consumer(f"{topic_prefix}g", ["posts/*"]).start()
    with pytest.raises(TypeError, match="value is bytes or None, not str"):
        await bus.produce(topic, "text", key="k")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key is str, bytes or None, not int"):
        await bus.produce(topic, b"{}", key=7)  # type: ignore[arg-type]
    await produce_all(bus, topic, [("k", b"after")])
    consumer = bus.consumer(f"{topic_prefix}g", [topic])
    await consumer.start()
    try:
        got = await take(consumer, 6, commit=True)
        assert await consumer.lag() == 0
    finally:
        await consumer.stop()
    assert sorted(values(got)) == sorted([v for _, v in numbered(5)] + [b"after"])


async def test_lag_covers_the_whole_group(bus: Bus, topic_prefix: str) -> None:
    topic, group = f"{topic_prefix}leads", f"{topic_prefix}verifier"
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    a, b = bus.consumer(group, [topic]), bus.consumer(group, [topic])
    await a.start()
    await b.start()
    try:
        await settle([a, b], topic)
        items = numbered(90, keys=30)
        await produce_all(bus, topic, items)
        everything = list(range(PARTITIONS))
        own = {p for _, p in a.assignment()}
        on_a = sum(
            1 for k, _ in items if DefaultPartitioner()(k.encode(), everything, everything) in own
        )
        await take(a, on_a, commit=True)
        # a has drained its partitions; the group still waits on b's
        assert await a.lag() == await b.lag() == len(items) - on_a > 0
    finally:
        await a.stop()
        await b.stop()


async def test_a_late_commit_leaves_lost_partitions_to_their_new_owner(
    bus: Bus, topic_prefix: str
) -> None:
    topic, group = f"{topic_prefix}posts", f"{topic_prefix}leadfinder"
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    items = numbered(90, keys=30)
    await produce_all(bus, topic, items)
    a = bus.consumer(group, [topic])
    await a.start()
    b = bus.consumer(group, [topic])
    try:
        fetched = await take(a, len(items), commit=False)
        await b.start()
        await settle([a, b], topic)
        await a.commit(fetched)  # a slow batch: part of it is on partitions b now owns
        theirs = {p for _, p in b.assignment()}
        on_b = [v for k, v in items if kafka_partition(k.encode()) in theirs]
        got = await take(b, len(on_b), commit=True)
        assert await b.getmany(timeout_s=0.5, max_records=500) == []
        assert await a.lag() == 0
    finally:
        await a.stop()
        await b.stop()
    assert sorted(values(got)) == sorted(on_b)


async def test_a_record_handed_along_arrives_as_its_bytes(bus: Bus, topic_prefix: str) -> None:
    """A producer may pass the record its bytes encode: every consumer gets the same
    bytes, and only a bus in the consumer's own process hands the record on as well."""
    topic = f"{topic_prefix}posts"
    post = Post(platform="weibo", native_id="1", text="路灯坏了三天")
    await bus.ensure_topics([topic], partitions=PARTITIONS)
    await bus.produce(topic, post.to_bytes(), key=post.key(), record=post)
    await bus.produce(topic, b"{not json", key=post.key())
    await bus.flush()
    consumer = bus.consumer(f"{topic_prefix}g", [topic])
    await consumer.start()
    try:
        first, second = await take(consumer, 2, commit=True)
    finally:
        await consumer.stop()
    assert first.value == post.to_bytes() and Post.from_bytes(first.value) == post
    assert first.decoded is (post if isinstance(bus, MemoryBus) else None)
    assert second.value == b"{not json" and second.decoded is None
