"""What both buses accept on the wire, checked the same way so the memory bus refuses
exactly what Kafka would, with a clear error before anything is written."""

from __future__ import annotations

import re

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
