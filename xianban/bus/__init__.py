"""The bus: one seam (``base``), two implementations (``memory``, ``kafka``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xianban.bus.base import Bus, Consumer, Message
from xianban.bus.broker import LocalBroker
from xianban.bus.kafka import KafkaBus
from xianban.bus.memory import MemoryBus
from xianban.errors import ConfigError

if TYPE_CHECKING:
    from xianban.settings import Settings

__all__ = ["Bus", "Consumer", "KafkaBus", "LocalBroker", "MemoryBus", "Message", "make_bus"]


def make_bus(settings: Settings) -> Bus:
    """The bus the settings ask for."""
    if settings.bus == "kafka":
        if not settings.kafka.bootstrap:
            raise ConfigError("bus is kafka but no brokers are set (XIANBAN_KAFKA__BOOTSTRAP)")
        return KafkaBus(settings.kafka, partitions=settings.partitions)
    return MemoryBus(partitions=settings.partitions)
