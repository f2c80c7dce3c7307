"""The worker runtime: consume → handle → produce → commit, for any stage.

Delivery is at-least-once. A batch (the records of one poll) is committed only after
every output of every record in it has been acknowledged by the bus, so a worker that
dies mid-batch leaves its records to the next group member, and the stages' idempotency
makes the replay harmless. A stage with ``handle_batch`` gets the decoded records of the
poll at once (one store round-trip per batch); the others get ``handle`` per record.

What happens to a record that fails:

* it does not decode (``RecordError``: bad JSON or UTF-8, a wrong field, another schema
  version, empty bytes, a null value) or the stage says it never will (``PermanentError``,
  or any other exception from ``handle``): it goes to ``dlq`` with the reason, the stage
  and the original bytes, and the worker moves on; a batch that fails so is handled again
  record by record, so only the records that fail alone go to ``dlq``;
* the stage raises ``TransientError``: retried with exponential backoff; when retries run
  out the worker stops *without committing* and raises, so the process exits non-zero and
  the fleet restarts it (STYLE.md #12: a stage that crashes fails loudly);
* unexpected exceptions (not ``PermanentError``) are dead-lettered too, but
  ``max_consecutive_bugs`` of them in a row mean the stage itself is broken, not the
  records: the worker stops with ``StageBroken`` rather than emptying the topic into the
  DLQ.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from xianban import metrics
from xianban.bus.base import Bus, Consumer, Message
from xianban.errors import PermanentError, TransientError, XianbanError
from xianban.metrics import RECORDS
from xianban.records import DeadLetter, Record, RecordError
from xianban.settings import Settings
from xianban.stage import AssignmentAware, BatchStage, PreparingStage, Stage

if TYPE_CHECKING:
    from xianban.store import Store

log = structlog.get_logger(__name__)
T = TypeVar("T")


YOUNG_GC_THRESHOLD = 50_000
"""Allocations (net of frees) between two collections of the youngest generation once the
stages run, against CPython's 700: the loop's records die by reference count, but each
collection walked the survivors of the batch in hand (window entries, memo caches, the
batch's records), and the older generations' collections followed every 10th (bench e2e
embedded, 3,000 posts: 310 collections, 0.30-0.36 s of ~4 s of CPU -> 1, 0.04 s)."""


def settle_collector() -> None:
    """Once a process's stages have started: what start-up loaded (dictionaries, automata,
    the model, clients) lives as long as the process, frozen so that full collections stop
    walking it again and again; and the youngest generation collected every
    ``YOUNG_GC_THRESHOLD`` allocations (cyclic garbage waits longer, nothing else changes)."""
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, middle, oldest)


class StageBroken(XianbanError):
    """Every record fails with an unexpected error: a bug or a broken dependency."""


@dataclass
class WorkerStats:
    """What a worker did; ``xianban run --once`` sums these into its summary."""

    handled: int = 0
    committed: int = 0
    """Records whose batch was committed (its outputs acknowledged by the bus first)."""
    produced: dict[str, int] = field(default_factory=dict)
    dead: int = 0
    retries: int = 0

    def count_produced(self, topic: str) -> None:
        self.produced[topic] = self.produced.get(topic, 0) + 1


@dataclass
class _Poll:
    """A poll decoded, waiting to be handled: what did not decode (dead letters to be),
    and the records that did, in the one list ``prepare`` and ``handle_batch`` get."""

    messages: list[Message]
    records: list[Record] = field(default_factory=list)
    decoded: list[int] = field(default_factory=list)
    """The index in ``messages`` of each of ``records``."""
    failed: list[tuple[int, RecordError]] = field(default_factory=list)
    ahead: bool = False
    """``prepare`` started the batch's work elsewhere: worth reading the next poll first."""


READ_AHEAD = 3
"""Polls a worker reads and prepares beyond the one it handles, for a stage whose work
starts elsewhere (``PreparingStage``): with one, the embedded leadfinder's scoring child
sat idle while the loop ran the verifier and case opener between the leadfinder's
batches, and the leadfinder then waited for it (the loop idle a fifth of a burst)."""

IDLE_POLL_S = 0.02
"""First poll wait of a worker draining until idle (``run --once``): records already on
the bus come at once; an empty answer is checked against the group's lag, and the wait
doubles up to ``poll_timeout_s`` while records are still on their way."""


class Worker:
    """Runs one stage as one member of its consumer group."""

    def __init__(
        self,
        stage: Stage[Any],
        bus: Bus,
        settings: Settings,
        *,
        store: Store | None = None,
        client_id: str = "",
    ) -> None:
        self.stage = stage
        self.bus = bus
        self.settings = settings
        self.store = store
        self.client_id = client_id or stage.name
        self.stats = WorkerStats()
        self._stopping = asyncio.Event()
        self._consumer: Consumer | None = None
        self._bugs_in_a_row = 0
        self._assignment: frozenset[tuple[str, int]] = frozenset()

    def stop(self) -> None:
        """Ask the worker to finish its current batch, commit it and return."""
        self._stopping.set()

    async def run(self, *, until_idle: bool = False) -> WorkerStats:
        """Consume until ``stop()`` (or, with ``until_idle``, until the group has no lag).

        The consumer is started here and stopped in every case; on an exception it is
        stopped without committing the batch in hand.
        """
        consumer = self.bus.consumer(
            self.stage.name, [self.stage.input.topic], client_id=self.client_id
        )
        self._consumer = consumer
        await consumer.start()
        poll = self.settings.poll_timeout_s
        first_wait = min(poll, IDLE_POLL_S) if until_idle else poll
        wait = first_wait
        held: deque[_Poll] = deque()
        """Polls read, oldest first: the one handled next and those read ahead (their
        work started elsewhere by ``prepare``)."""
        try:
            while held or not self._stopping.is_set():
                messages: list[Message] = []
                if not self._stopping.is_set() and len(held) <= READ_AHEAD:
                    messages = await consumer.getmany(
                        timeout_s=0.0 if held else wait, max_records=self.settings.batch_size
                    )
                    if messages and not held:
                        messages = await self._fill(consumer, messages)
                if await self._follow_assignment(consumer):
                    # Read before the partitions moved: the group hands their records
                    # out again from the committed offsets.
                    held.clear()
                if messages:
                    polled = self._decode(messages)
                    held.append(polled)
                    if polled.ahead and len(held) <= READ_AHEAD:
                        continue  # read the next poll too before handling the oldest
                if held:
                    batch = held.popleft()
                    started = time.monotonic()
                    await self._handle_batch(batch)
                    await consumer.commit(batch.messages)
                    self.stats.committed += len(batch.messages)
                    self._observe(consumer, len(batch.messages), time.monotonic() - started)
                    wait = first_wait
                elif until_idle:
                    if await consumer.lag() == 0:
                        break
                    wait = min(wait * 2, poll)
        finally:
            self._consumer = None
            await consumer.stop()
        return self.stats

    async def _fill(self, consumer: Consumer, messages: list[Message]) -> list[Message]:
        """More records for a batch that came short, for up to ``batch_linger_s``: a
        batch's store round-trips cost the same for 1 record as for 200, so a stream
        arriving a few records at a time is handled in batches of that many, not of one
        (a worker kept busy by such batches falls behind)."""
        size, linger = self.settings.batch_size, self.settings.batch_linger_s
        deadline = time.monotonic() + linger
        while len(messages) < size and (remaining := deadline - time.monotonic()) > 0:
            more = await consumer.getmany(timeout_s=remaining, max_records=size - len(messages))
            if not more:
                break
            messages = [*messages, *more]
        return messages

    def _observe(self, consumer: Consumer, records: int, seconds: float) -> None:
        name = self.stage.name
        metrics.BATCH_SECONDS.labels(name).observe(seconds)
        metrics.BATCH_RECORDS.labels(name).observe(records)
        metrics.lag(name, consumer.local_lag().items())

    async def _follow_assignment(self, consumer: Consumer) -> bool:
        """Tell the stage when its partitions changed; whether they did."""
        current = consumer.assignment()
        if current == self._assignment:
            return False
        self._assignment = current
        log.info("stage.assigned", stage=self.stage.name, partitions=sorted(current))
        if isinstance(self.stage, AssignmentAware):
            await self.stage.assigned(current)
        return True

    def _decode(self, messages: list[Message]) -> _Poll:
        """A poll's records decoded, and their early work started when the stage has
        some (``PreparingStage.prepare``)."""
        poll = _Poll(messages)
        kind = self.stage.input
        for i, message in enumerate(messages):
            given = message.decoded  # the producer's own record, on the memory bus
            if isinstance(given, kind):
                poll.records.append(given)
                poll.decoded.append(i)
                continue
            try:
                poll.records.append(kind.from_bytes(message.value))
                poll.decoded.append(i)
            except RecordError as exc:
                poll.failed.append((i, exc))
        if poll.records and isinstance(self.stage, PreparingStage):
            poll.ahead = self.stage.prepare(poll.records)
        return poll

    async def _handle_batch(self, poll: _Poll) -> None:
        """Handle the decoded records (as one batch when the stage takes batches), keep
        the dead letters in one store write, produce every output in input order, flush."""
        messages = poll.messages
        outputs: list[Sequence[Record]] = [()] * len(messages)
        metrics.RECORDS_IN.labels(self.stage.name).inc(len(messages))
        self.stats.handled += len(messages)
        for i, exc in poll.failed:
            outputs[i] = [self._letter(messages[i], exc)]
        if poll.records:
            results = await self._handle_records([messages[i] for i in poll.decoded], poll.records)
            for i, out in zip(poll.decoded, results, strict=True):
                outputs[i] = out
        wire: list[tuple[Record, bytes]] = []
        letters: list[DeadLetter] = []
        for message, out in zip(messages, outputs, strict=True):
            try:
                encoded = [(r, r.to_bytes()) for r in out]
            except Exception as exc:  # an output that cannot be written: the stage's bug
                log.exception("stage.output_unencodable", stage=self.stage.name)
                encoded = [(letter := self._letter(message, exc), letter.to_bytes())]
            for record, raw in encoded:
                if isinstance(record, DeadLetter):
                    letters.append(record)
                    record = record.for_bus(self.settings.dlq_max_bytes)
                    raw = record.to_bytes()
                wire.append((record, raw))
        if letters and self.store is not None:
            await self.store.add_dead_letters(letters)
        produced: dict[str, int] = {}
        try:
            for record, raw in wire:
                await self.bus.produce(record.topic, raw, key=record.key(), record=record)
                self.stats.count_produced(record.topic)
                produced[record.topic] = produced.get(record.topic, 0) + 1
        finally:  # one labelled increment per topic, not per record (2.5 µs each)
            for topic, count in produced.items():
                metrics.RECORDS_OUT.labels(self.stage.name, topic).inc(count)
        await self.bus.flush()

    async def _handle_records(
        self, messages: Sequence[Message], records: Sequence[Record]
    ) -> list[Sequence[Record]]:
        """Outputs per record. A batch that fails with anything but ``TransientError`` is
        handled again record by record, so only the records that fail alone are lost to
        the DLQ."""
        batch = self.stage.handle_batch if isinstance(self.stage, BatchStage) else None
        if batch is None:
            return await self._handle_each(messages, records)
        try:
            results = await self._with_retries(lambda: batch(records), messages[0])
            if len(results) != len(records):
                raise StageBroken(
                    f"{self.stage.name}.handle_batch answered {len(results)} output lists "
                    f"for {len(records)} records"
                )
        except (TransientError, StageBroken, asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:
            log.warning(
                "stage.batch_failed",
                stage=self.stage.name,
                records=len(records),
                error=f"{type(exc).__name__}: {exc}"[:300],
                then="one by one",
            )
            return [await self._handle_one(m, r) for m, r in zip(messages, records, strict=True)]
        self._bugs_in_a_row = 0
        RECORDS.labels(self.stage.name, "ok").inc(len(records))
        return [list(out) for out in results]

    async def _handle_each(
        self, messages: Sequence[Message], records: Sequence[Record]
    ) -> list[Sequence[Record]]:
        """``handle`` per record; with ``concurrency`` above 1, records of different keys
        at once (those of one key still in order, as one worker per partition would)."""
        limit = self.settings.concurrency.get(self.stage.name, 1)
        if limit <= 1:
            return [await self._handle_one(m, r) for m, r in zip(messages, records, strict=True)]
        by_key: dict[bytes | None, list[int]] = {}
        for i, message in enumerate(messages):
            by_key.setdefault(message.key, []).append(i)
        out: list[Sequence[Record]] = [()] * len(records)
        gate = asyncio.Semaphore(limit)

        async def in_order(indices: list[int]) -> None:
            async with gate:
                for i in indices:
                    out[i] = await self._handle_one(messages[i], records[i])

        try:
            async with asyncio.TaskGroup() as group:
                for indices in by_key.values():
                    group.create_task(in_order(indices))
        except BaseExceptionGroup as errors:  # the first failure, as the sequential path raises
            raise errors.exceptions[0] from None
        return out

    async def _with_retries(self, call: Callable[[], Awaitable[T]], message: Message) -> T:
        """``call()``, retried with exponential backoff while it raises ``TransientError``;
        when retries run out the error is raised (the worker stops without committing)."""
        attempt = 0
        while True:
            try:
                return await call()
            except TransientError as exc:
                if attempt >= self.settings.retry_attempts:
                    RECORDS.labels(self.stage.name, "gave_up").inc()
                    log.error(
                        "stage.transient_exhausted",
                        stage=self.stage.name,
                        topic=message.topic,
                        offset=message.offset,
                        error=str(exc),
                    )
                    raise
                delay = self.settings.retry_backoff_s * (2**attempt)
                attempt += 1
                self.stats.retries += 1
                RECORDS.labels(self.stage.name, "retried").inc()
                log.warning(
                    "stage.retry",
                    stage=self.stage.name,
                    attempt=attempt,
                    delay_s=delay,
                    error=str(exc),
                )
                await asyncio.sleep(delay)

    async def _handle_one(self, message: Message, record: Record) -> Sequence[Record]:
        try:
            outputs = await self._with_retries(lambda: self.stage.handle(record), message)
        except (TransientError, asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # PermanentError, or a bug: keep the record, go on
            if not isinstance(exc, PermanentError):
                log.exception("stage.handler_error", stage=self.stage.name)
                self._bugs_in_a_row += 1
                if self._bugs_in_a_row >= self.settings.max_consecutive_bugs:
                    raise StageBroken(
                        f"{self.stage.name}: {self._bugs_in_a_row} records in a row failed "
                        f"unexpectedly, last: {type(exc).__name__}: {exc}"
                    ) from exc
            return [self._letter(message, exc)]
        self._bugs_in_a_row = 0
        RECORDS.labels(self.stage.name, "ok").inc()
        return outputs

    def _letter(self, message: Message, exc: Exception) -> DeadLetter:
        """The dead letter for a record (stored and produced with the batch's outputs)."""
        self.stats.dead += 1
        RECORDS.labels(self.stage.name, "dead").inc()
        metrics.DEAD_LETTERS.labels(self.stage.name, type(exc).__name__).inc()
        letter = DeadLetter.for_bytes(
            stage=self.stage.name,
            source_topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key.decode("utf-8", "replace") if message.key is not None else None,
            original=message.value,
            reason=str(exc) or type(exc).__name__,
            error_type=type(exc).__name__,
        )
        log.warning(
            "stage.dead_letter",
            stage=self.stage.name,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=letter.record_key,
            error_type=letter.error_type,
            reason=letter.reason[:300],
        )
        return letter


async def run_until_signalled(workers: Sequence[Worker], *, started: float | None = None) -> None:
    """Run workers until SIGTERM/SIGINT, then let each finish its batch and commit.

    If any worker dies (its task raises), the others are stopped and the error is
    re-raised, so the process exits non-zero instead of limping on.
    """
    loop = asyncio.get_running_loop()

    def stop_all() -> None:
        for w in workers:
            w.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_all)
    tasks = [asyncio.create_task(w.run(), name=f"worker:{w.stage.name}") for w in workers]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                stop_all()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise error
        await asyncio.gather(*tasks)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        for task in tasks:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if started is not None:
            log.info("workers.stopped", after_s=round(time.monotonic() - started, 1))
