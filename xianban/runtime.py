"""The worker runtime: consume → handle → produce → commit, for any stage.

Delivery is at-least-once. A batch is committed only after every output of every record
in it has been acknowledged by the bus, so a worker that dies mid-batch leaves its records
to the next group member, and the stages' idempotency makes the replay harmless.

What happens to a record that fails:

* it does not decode (``RecordError``) or the stage says it never will
  (``PermanentError``, or any other exception from ``handle``): it goes to ``dlq`` with the
  reason, the stage and the original bytes, and the worker moves on;
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
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter

from xianban.bus.base import Bus, Consumer, Message
from xianban.errors import PermanentError, TransientError, XianbanError
from xianban.records import DeadLetter, Record, RecordError
from xianban.settings import Settings
from xianban.stage import Stage

if TYPE_CHECKING:
    from xianban.store import Store

log = structlog.get_logger(__name__)


class StageBroken(XianbanError):
    """Every record fails with an unexpected error: a bug or a broken dependency."""


RECORDS = Counter(
    "xianban_records_total", "Records handled by a stage, by outcome", ["stage", "outcome"]
)
PRODUCED = Counter("xianban_produced_total", "Records produced, by topic", ["stage", "topic"])


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
        try:
            while not self._stopping.is_set():
                messages = await consumer.getmany(
                    timeout_s=self.settings.poll_timeout_s, max_records=self.settings.batch_size
                )
                if messages:
                    await self._handle_batch(messages)
                    await consumer.commit(messages)
                    self.stats.committed += len(messages)
                elif until_idle and await consumer.lag() == 0:
                    break
        finally:
            self._consumer = None
            await consumer.stop()
        return self.stats

    async def _handle_batch(self, messages: Sequence[Message]) -> None:
        for message in messages:
            outputs = await self._handle_one(message)
            for record in outputs:
                if isinstance(record, DeadLetter):
                    record = record.for_bus(self.settings.dlq_max_bytes)
                await self.bus.produce(record.topic, record.to_bytes(), key=record.key())
                self.stats.count_produced(record.topic)
                PRODUCED.labels(self.stage.name, record.topic).inc()
        await self.bus.flush()

    async def _handle_one(self, message: Message) -> Sequence[Record]:
        self.stats.handled += 1
        try:
            record = self.stage.input.from_bytes(message.value)
        except RecordError as exc:
            return [await self._dead(message, exc)]
        attempt = 0
        while True:
            try:
                outputs = await self.stage.handle(record)
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
            except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
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
                return [await self._dead(message, exc)]
            else:
                self._bugs_in_a_row = 0
                RECORDS.labels(self.stage.name, "ok").inc()
                return outputs

    async def _dead(self, message: Message, exc: Exception) -> DeadLetter:
        self.stats.dead += 1
        RECORDS.labels(self.stage.name, "dead").inc()
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
            offset=message.offset,
            reason=letter.reason[:300],
        )
        if self.store is not None:
            await self.store.add_dead_letter(letter)
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
