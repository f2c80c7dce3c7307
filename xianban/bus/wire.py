"""What both buses accept on the wire, checked the same way so the memory bus refuses
exactly what Kafka would, with a clear error before anything is written."""

from __future__ import annotations

import functools
import random
import re
import struct

from xianban.errors import ConfigError

TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
"""Kafka's rule for topic names."""


def topic_name(topic: str) -> str:
    if not isinstance(topic, str) or not TOPIC_NAME.fullmatch(topic) or topic in (".", ".."):
        raise ConfigError(
            f"invalid topic name {topic!r}: use 1-249 of the characters A-Z a-z 0-9 . _ -"
        )
    return topic


def key_bytes(key: str | bytes | None) -> bytes | None:
    if key is None or isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode()
    raise TypeError(f"a record key is str, bytes or None, not {type(key).__name__}")


def value_bytes(value: bytes | None) -> bytes | None:
    """Bytes, or ``None`` for a null value (a tombstone), which Kafka accepts too."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"a record value is bytes or None, not {type(value).__name__}")


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


@functools.lru_cache(maxsize=65_536)
def murmur2(key: bytes) -> int:
    """Kafka's murmur2 (the Java client's, as ``aiokafka.partitioner.murmur2``), four
    bytes a step: aiokafka's byte by byte took 9 µs of a 12 µs ``produce``. Remembered,
    as one key goes out several times (a post on ``posts`` and ``posts.scored``, a
    cluster's lead, verdict and case). The memory bus places records by it, and the Kafka
    producer too (``kafka_partition``), so a key lands on the same partition on both."""
    length = len(key)
    h = 0x9747B28C ^ length
    whole = length & ~3
    for (k,) in struct.iter_unpack("<I", key[:whole]):
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ (((k ^ (k >> 24)) * _M) & _MASK)
    tail = length & 3
    if tail:
        if tail == 3:
            h ^= key[whole + 2] << 16
        if tail >= 2:
            h ^= key[whole + 1] << 8
        h = ((h ^ key[whole]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def kafka_partition(key: bytes | None, partitions: list[int], available: list[int]) -> int:
    """aiokafka's ``DefaultPartitioner`` with ``murmur2`` above: a keyless record goes to
    a random available partition, a keyed one where the Java client puts it."""
    if key is None:
        return random.choice(available or partitions)
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
