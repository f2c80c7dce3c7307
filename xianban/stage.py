"""What a stage is to the worker runtime: read one record type, return the records it makes.

A stage knows nothing about the bus, offsets or retries; ``xianban.runtime.Worker`` does
that. ``handle`` must be idempotent (a record may arrive twice) and should raise
``TransientError`` for failures worth retrying and ``PermanentError`` (or let a
``RecordError`` through) for records that can never be handled.

A stage may also opt in to batches (``BatchStage``): the worker hands it the records of
one poll and it answers one list of outputs per record, in order, with one store
round-trip instead of one per record. The batch must give exactly what handling the
records one by one would (tests replay streams both ways). When a batch raises anything
but ``TransientError`` the worker hands the same records to ``handle`` one by one, so a
poison record is dead-lettered alone and the rest flow on. Without ``handle_batch`` the
worker calls ``handle`` per record (``handle_each``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

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


@runtime_checkable
class BatchStage(Stage[In], Protocol[In]):
    async def handle_batch(self, records: Sequence[In]) -> Sequence[Sequence[Record]]:
        """Handle the records of one poll; one output list per record, in their order."""
        ...


@runtime_checkable
class PreparingStage(BatchStage[In], Protocol[In]):
    def prepare(self, records: Sequence[In]) -> bool:
        """Start, and return at once, the work on a batch that needs nothing from the
        batches before it; ``handle_batch`` of the same list waits for it. The worker
        calls it as soon as it has decoded a poll and, when it answers True (work was
        started elsewhere: a child process), reads and prepares the next polls
        (``runtime.READ_AHEAD``) before it handles this one, so that work runs on
        another core meanwhile. False: nothing was started (the stage does the work itself
        in ``handle_batch``), and the worker reads no further ahead."""
        ...


@runtime_checkable
class AssignmentAware(Protocol):
    async def assigned(self, partitions: frozenset[tuple[str, int]]) -> None:
        """Called before the first batch after the worker's partitions changed (a
        rebalance), so a stage keeping state per partition can rebuild it from the store."""
        ...


async def handle_each(stage: Stage[In], records: Sequence[In]) -> list[Sequence[Record]]:
    """The default batch: ``handle`` for each record, in order."""
    return [await stage.handle(record) for record in records]


@dataclass(frozen=True)
class StageContext:
    """What the wiring hands every stage at construction (Scrapy's ``from_crawler``)."""

    settings: Settings
    store: Store


class StageFactory(Protocol):
    def __call__(self, ctx: StageContext) -> Stage[Any]: ...
