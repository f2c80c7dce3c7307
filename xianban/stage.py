"""What a stage is to the worker runtime: read one record type, return the records it makes.

A stage knows nothing about the bus, offsets or retries; ``xianban.runtime.Worker`` does
that. ``handle`` must be idempotent (a record may arrive twice) and should raise
``TransientError`` for failures worth retrying and ``PermanentError`` (or let a
``RecordError`` through) for records that can never be handled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from xianban.records import Record
from xianban.settings import Settings

if TYPE_CHECKING:
    from xianban.store import Store

In = TypeVar("In", bound=Record)


class Stage(Protocol[In]):
    name: str
    """Stage name, also the consumer group (``leadfinder``, ``verifier`` ...)."""

    input: type[In]
    """Record model this stage reads; its ``topic`` is the topic consumed."""

    async def start(self) -> None:
        """Open what the stage needs (store, HTTP clients, dictionaries) once."""
        ...

    async def handle(self, record: In) -> Sequence[Record]:
        """Handle one record; each returned record goes to its own topic under its key."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class StageContext:
    """What the wiring hands every stage at construction (Scrapy's ``from_crawler``)."""

    settings: Settings
    store: Store


class StageFactory(Protocol):
    def __call__(self, ctx: StageContext) -> Stage[Any]: ...
