"""``xianban bench e2e``: simulated posts through leadfinder → verifier → case opener.

Two deployments in one run, with the ceilings beside them:

* ``embedded``: memory bus + SQLite, one worker per stage in this process;
* ``kafka_postgres``: a local Kafka-compatible broker (tansu) + a fresh PostgreSQL
  database, ``workers`` processes per stage (``xianban worker STAGE``);
* ``ceilings``: bare aiokafka produce and consume of the same records, and bare asyncpg
  executemany of ``INSERT … ON CONFLICT`` in batches of 200 (one hop per post); and the
  same bare clients making the Kafka + PostgreSQL run's own moves, read back from its
  topics and tables (``same_moves``), so the framework's overhead shows as ratios
  against a ceiling that does as much as the loop did; and that replay with each
  consumed poll also through the stages' own pure work in the same bare loop
  (``same_work``: scoring, rules, building and filing cases; ``StageWork`` says what is
  in and what is not), so the stages' domain work is not counted as the framework's.

The simulated work-order system the case opener files to runs in a process of its own
(``sim.process.SimProcess``), as the real one is another system: served from the bench's event loop,
its request handling (uvicorn + FastAPI, 1.6 s of CPU in a profile of 2,000 posts, a third
of the case opener's) counted as ours and slowed the stages sharing the loop.

Each deployment gets a burst of ``posts`` posts (throughput: posts/s until every stage
has drained) and then a paced stream at half that rate for ``paced_s`` seconds
(latency: post produced → its lead produced, verdict produced → its case produced, as a
reader on each topic sees them). Posts are the simulator's corpus, copied with new ids
and moved in time so copies do not cluster with each other.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog

from xianban.bus import Bus, KafkaBus, LocalBroker, MemoryBus, make_bus
from xianban.bus.kafka import group_lag
from xianban.embedded import embedded_settings
from xianban.records import Case, Engagement, Lead, Post, Record, Verdict, stable_id, utcnow
from xianban.runtime import Worker, settle_collector
from xianban.settings import KafkaSettings, Settings
from xianban.stage import StageContext
from xianban.store import Store
from xianban.wiring import TOPICS, load_stage

log = structlog.get_logger(__name__)
STAGES = ("leadfinder", "verifier", "case-opener")
PG_ADMIN = os.environ.get(
    "XIANBAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def make_posts(n: int) -> list[Post]:
    """``n`` posts from the simulator's corpus: copy k of an item gets a new id and sits
    4 days after copy k-1 (the clustering window is 72 h), all within the last 90 days."""
    from sim.platforms.corpus import generate

    items = generate(size=100_000).items
    first = min(i.created_at for i in items)
    span = max(i.created_at for i in items) - first or timedelta(seconds=1)
    start = utcnow() - timedelta(days=88)
    out: list[Post] = []
    for k in range(n // len(items) + 1):
        for item in items:
            if len(out) == n:
                return out
            offset = (item.created_at - first) / span * timedelta(days=3)
            out.append(
                Post(
                    platform=item.site,
                    native_id=f"{item.native_id}b{k}",
                    text=item.text,
                    created_at=start + timedelta(days=4 * (k % 22)) + offset,
                    engagement=Engagement(likes=item.likes, comments=item.comments),
                    repost_of=f"{item.site}:{item.repost_of}b{k}" if item.repost_of else None,
                )
            )
    return out


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    cuts = (
        statistics.quantiles(values, n=100, method="inclusive")
        if len(values) > 1
        else [values[0]] * 99
    )
    return {
        "p50": round(cuts[49], 4),
        "p95": round(cuts[94], 4),
        "p99": round(cuts[98], 4),
        "n": len(values),
    }


class Taps:
    """Readers on leads, verdicts and cases (groups of their own) stamping arrivals.

    A record is kept as it came (bytes and time) and decoded only when the arrivals are
    asked for, after the phase: decoding every lead, verdict and case as it arrived
    (pydantic, a verdict carrying its lead) ran on the embedded stages' loop and was
    counted as their time."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._seen: list[tuple[str, bytes | None, float]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._last = time.monotonic()

    def last(self) -> float:
        """When the last record arrived on any of the topics."""
        return self._last

    def clear(self) -> None:
        """Forget the arrivals so far (the next phase counts its own)."""
        self._seen.clear()

    def arrivals(self) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        """When each post's lead, each confirmation (not joining another case) and each
        cluster's case first arrived: by post id, cluster id and cluster id."""
        lead_at: dict[str, float] = {}
        verdict_at: dict[str, float] = {}
        case_at: dict[str, float] = {}
        for topic, value, at in self._seen:
            if topic == Lead.topic:
                lead_at.setdefault(Lead.from_bytes(value).post_ids[0], at)
            elif topic == Verdict.topic:
                verdict = Verdict.from_bytes(value)
                if verdict.decision == "confirmed" and not verdict.duplicate_of:
                    verdict_at.setdefault(verdict.cluster_id, at)
            else:
                case_at.setdefault(Case.from_bytes(value).cluster_id, at)
        return lead_at, verdict_at, case_at

    async def start(self) -> None:
        for topic in (Lead.topic, Verdict.topic, Case.topic):
            consumer = self.bus.consumer(f"bench-tap-{topic}", [topic])
            await consumer.start()
            self._tasks.append(asyncio.create_task(self._read(consumer, topic)))

    async def _read(self, consumer: Any, topic: str) -> None:
        try:
            while not self._stop.is_set():
                for m in await consumer.getmany(timeout_s=0.05, max_records=5000):
                    self._last = now = time.monotonic()
                    self._seen.append((topic, m.value, now))
        finally:
            await consumer.stop()

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def stage_lag(bus: Bus) -> int:
    """Records the stages have not committed, upstream first: a stage commits a batch
    only after its outputs are on the bus, so 0 read in this order means every post went
    the whole way."""
    total = 0
    for name, topic in zip(STAGES, (Post.topic, Lead.topic, Verdict.topic), strict=True):
        if isinstance(bus, MemoryBus):
            total += bus.group_lag(name, [topic])
        elif isinstance(bus, KafkaBus):
            total += sum((await group_lag(bus.settings, name, [topic])).values())
        if total:
            return total
    return total


async def until_drained(
    bus: Bus, store: Store, taps: Taps, posts: int, *, quiet_s: float = 0.5, timeout_s: float = 1800
) -> float:
    """Until no lead, verdict or case has arrived for ``quiet_s`` (the taps have read them
    all), no stage has records left to commit and the store holds ``posts`` posts (the
    leadfinder stores each before its lead goes out): the stages are drained. The time
    the last record arrived. (Quiet alone is not drained: a stage busy with a long batch
    sends nothing meanwhile, and the next phase then queued behind its backlog.) The
    store is counted last, once the rest says drained: counting every table ten times a
    second through the burst competed with the embedded stages for the store and the CPU
    (4.3 s spent in ``counts`` in a profile of a 17 s burst)."""
    deadline = time.monotonic() + timeout_s
    while True:
        last = taps.last()
        quiet = time.monotonic() - last >= quiet_s
        if (
            quiet
            and await stage_lag(bus) == 0
            and (await store.counts())["posts"] >= posts
            and taps.last() == last
        ):
            return last
        if time.monotonic() > deadline:
            raise TimeoutError("the stages did not drain")
        await asyncio.sleep(0.1)


Offered = tuple[str, bytes]
"""A post as the bench offers it: its id (its key too) and its bytes."""


def encoded(posts: Sequence[Post]) -> list[Offered]:
    """The posts' bytes, made before a phase's clock starts: what the crawler encodes is
    not the stages' work (in the embedded run it was 3-4% of the loop's samples, counted
    against the stages; on Kafka it never was)."""
    return [(post.post_id, post.to_bytes()) for post in posts]


async def offer(bus: Bus, posts: Sequence[Offered], *, rate: float | None) -> dict[str, float]:
    """Produce the posts (at ``rate`` per second, else at once); when each went out."""
    sent: dict[str, float] = {}
    started = time.monotonic()
    for i, (post_id, raw) in enumerate(posts):
        if rate is not None:
            due = started + i / rate
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
        sent[post_id] = time.monotonic()
        await bus.produce(Post.topic, raw, key=post_id)
        if rate is not None or i % 500 == 499:
            await bus.flush()
    await bus.flush()
    return sent


async def warm_up(bus: Bus, store: Store, posts: Sequence[Post]) -> int:
    """Twenty copies of the first posts through every stage before the clock starts, in both
    deployments: every worker is up, in its group and through its first batch (the first
    store statements, the window's rebuild), so the burst measures the loop running, not
    starting. The posts it stored."""
    warm = [
        p.model_copy(update={"native_id": f"warm{i}-{p.native_id}"})
        for i, p in enumerate(posts[:20])
    ]
    taps = Taps(bus)
    await taps.start()
    try:
        await offer(bus, encoded(warm), rate=None)
        await until_drained(bus, store, taps, len(warm), quiet_s=5, timeout_s=600)
    finally:
        await taps.stop()
    return len(warm)


async def measure(
    bus: Bus,
    store: Store,
    posts: Sequence[Post],
    paced: Sequence[Post],
    paced_s: float,
    *,
    stored: int = 0,
) -> dict[str, Any]:
    burst, stream = encoded(posts), encoded(paced)
    taps = Taps(bus)
    await taps.start()
    try:
        started = time.monotonic()
        await offer(bus, burst, rate=None)
        seconds = await until_drained(bus, store, taps, stored + len(posts)) - started
        rate = max(1.0, 0.5 * len(posts) / seconds)
        count = min(len(paced), int(rate * paced_s))
        taps.clear()
        sent = await offer(bus, stream[:count], rate=rate)
        await until_drained(bus, store, taps, stored + len(posts) + count)
    finally:
        await taps.stop()
    lead_at, verdict_at, case_at = taps.arrivals()
    post_to_lead = [lead_at[p] - at for p, at in sent.items() if p in lead_at]
    verdict_to_case = [case_at[c] - at for c, at in verdict_at.items() if c in case_at]
    return {
        "posts": len(posts),
        "seconds": round(seconds, 2),
        "posts_per_s": round(len(posts) / seconds, 1),
        "paced": {"rate_per_s": round(rate, 1), "posts": count},
        "post_to_lead_s": percentiles(post_to_lead),
        "verdict_to_case_s": percentiles(verdict_to_case),
    }


@asynccontextmanager
async def simulator() -> AsyncIterator[str]:
    """The simulators in a process of their own (``SimProcess``, without a state file);
    their URL once they serve."""
    from sim.process import SimProcess

    async with SimProcess() as sim:
        await sim.ready()
        yield sim.url


async def embedded(
    settings: Settings, posts: Sequence[Post], paced: Sequence[Post], paced_s: float
) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sim = await stack.enter_async_context(simulator())
        s = embedded_settings(settings).model_copy(
            update={
                "bus": "memory",
                "database_url": f"sqlite+aiosqlite:///{folder}/bench.db",
                "data_dir": folder,
                "workorder_url": f"{sim}/workorders",
                "sim_url": sim,
            }
        )
        store = await Store.open(s.db_url)
        stack.push_async_callback(store.close)
        bus = make_bus(s)
        await bus.start()
        stack.push_async_callback(bus.close)
        await bus.ensure_topics(TOPICS, partitions=s.partitions)
        ctx = StageContext(settings=s, store=store)
        workers = []
        for name in STAGES:
            stage = load_stage(name)(ctx)
            await stage.start()
            stack.push_async_callback(stage.close)
            workers.append(Worker(stage, bus, s, store=store))
        settle_collector()  # as `xianban run` and `xianban worker` do once their stages started
        tasks = [asyncio.create_task(w.run()) for w in workers]

        async def stop() -> None:
            for w in workers:
                w.stop()
            await asyncio.gather(*tasks)

        stack.push_async_callback(stop)
        warmed = await warm_up(bus, store, posts)
        result = await measure(bus, store, posts, paced, paced_s, stored=warmed)
        result["store"] = await store.counts()
        return result


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = make_url(PG_ADMIN)
    name = f"xianban_bench_{uuid.uuid4().hex[:10]}"
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            async with engine.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


def balanced_partitions(partitions: int, workers: int) -> int:
    """At least ``partitions``, a multiple of ``workers``: with 3 partitions and 2 workers
    one worker of each stage got two partitions, twice the other's records (2,250 against
    1,088 posts in a run of 2,000 + the paced stream), and the stage went at the pace of
    the loaded one while the other waited."""
    return -(-max(partitions, workers) // workers) * workers


async def kafka_postgres(
    settings: Settings, posts: Sequence[Post], paced: Sequence[Post], paced_s: float, workers: int
) -> tuple[dict[str, Any], Moves]:
    """The deployment's numbers, and its moves read back once it drained."""
    async with AsyncExitStack() as stack:
        broker = await stack.enter_async_context(LocalBroker())
        url = await stack.enter_async_context(fresh_postgres())
        sim = await stack.enter_async_context(simulator())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        s = settings.model_copy(
            update={
                "bus": "kafka",
                "kafka": KafkaSettings(bootstrap=broker.bootstrap),
                "database_url": url,
                "data_dir": folder,
                "workorder_url": f"{sim}/workorders",
                "sim_url": sim,
                "partitions": balanced_partitions(settings.partitions, workers),
            }
        )
        store = await Store.open(url)  # migrates before the workers start
        stack.push_async_callback(store.close)
        bus = make_bus(s)
        await bus.start()
        stack.push_async_callback(bus.close)
        await bus.ensure_topics(TOPICS, partitions=s.partitions)
        env = {
            **os.environ,
            "XIANBAN_BUS": "kafka",
            "XIANBAN_KAFKA__BOOTSTRAP": broker.bootstrap,
            "XIANBAN_DATABASE_URL": url,
            "XIANBAN_DATA_DIR": str(folder),
            "XIANBAN_WORKORDER_URL": f"{sim}/workorders",
            "XIANBAN_SIM_URL": sim,
            "XIANBAN_PARTITIONS": str(s.partitions),
            "XIANBAN_LOG_LEVEL": "WARNING",
        }
        procs = []
        for name in STAGES:
            for _ in range(workers):
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "xianban",
                        "worker",
                        name,
                        env=env,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )
                )

        async def stop() -> None:
            for p in procs:
                if p.returncode is None:
                    p.terminate()
            await asyncio.gather(*(p.wait() for p in procs))

        stack.push_async_callback(stop)
        warmed = await warm_up(bus, store, posts)
        result = await measure(bus, store, posts, paced, paced_s, stored=warmed)
        result["workers_per_stage"] = workers
        result["store"] = await store.counts()
        return result, await run_moves(s.kafka, url)


@dataclass
class Moves:
    """What a Kafka + PostgreSQL run moved, in that run's bytes: the same-moves ceiling
    replays it on bare clients, so the ceiling makes the loop's moves and not one hop's."""

    records: dict[str, list[tuple[bytes | None, bytes]]]
    """Per topic, every record as produced (key, value)."""
    consumed: dict[str, int]
    """Per topic, the records the stages' groups committed on it."""
    rows: dict[str, list[str]]
    """Per table, every row as PostgreSQL serialises it (``row_to_json``)."""

    @property
    def posts(self) -> int:
        return len(self.records[Post.topic])

    def counts(self) -> dict[str, Any]:
        return {
            "posts": self.posts,
            "produced": {t: len(r) for t, r in self.records.items() if r},
            "consumed": {t: n for t, n in self.consumed.items() if n},
            "rows": {t: len(r) for t, r in self.rows.items() if r},
        }


def asyncpg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def run_moves(kafka: KafkaSettings, url: str) -> Moves:
    """The drained run's moves, read back from the outside: every topic from its first
    offset to its high-water mark (a group-less reader), the stages' groups' committed
    records per topic (``group_lag``: produced minus lag, summed over the groups, so a
    topic no stage reads counts 0) and every table's rows."""
    import asyncpg  # type: ignore[import-untyped]
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from xianban.bus.kafka import high_water_marks
    from xianban.store.tables import Base

    reader = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await reader.start()
    try:
        await reader.topics()
        parts = [
            TopicPartition(t, p)
            for t in TOPICS
            for p in sorted(reader.partitions_for_topic(t) or ())
        ]
        ends = await high_water_marks(kafka, dict.fromkeys(parts, 0))
        reader.assign(parts)
        await reader.seek_to_beginning(*parts)
        records: dict[str, list[tuple[bytes | None, bytes]]] = {t: [] for t in TOPICS}
        left = sum(ends.values())
        while left > 0:
            for batch in (await reader.getmany(timeout_ms=200)).values():
                records[batch[0].topic].extend((m.key, m.value) for m in batch)
                left -= len(batch)
    finally:
        await reader.stop()
    consumed = dict.fromkeys(TOPICS, 0)
    for name in STAGES:
        lag = await group_lag(kafka, name, TOPICS)
        for t in TOPICS:
            consumed[t] += len(records[t]) - sum(n for (topic, _), n in lag.items() if topic == t)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = {
            table.name: [
                r[0] for r in await conn.fetch(f'SELECT row_to_json(t)::text FROM "{table.name}" t')
            ]
            for table in Base.metadata.sorted_tables
        }
    finally:
        await conn.close()
    return Moves(records, consumed, rows)


async def produce(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes]]
) -> float:
    """Seconds a bare producer (acks all, 5 ms linger) takes to have ``records`` acked."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        started = time.monotonic()
        pending = [await producer.send(topic, v, key=k) for k, v in records]
        await asyncio.gather(*pending)
        return time.monotonic() - started
    finally:
        await producer.stop()


Work = Callable[[str, list[bytes]], Awaitable[None]]
"""The stages' own work on a poll's values of a topic (``StageWork``), or nothing."""


async def consume(
    bootstrap: str,
    topic: str,
    group: str,
    n: int,
    batch_size: int,
    *,
    work: Work | None = None,
    of: str = "",
) -> float:
    """Seconds a bare consumer in ``group`` takes to read ``n`` records of ``topic`` in
    polls of ``batch_size``, committing after each; with ``work``, each poll's values go
    through it (as the records of topic ``of``) before the commit, as a stage's do."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        got = 0
        started = time.monotonic()
        while got < n:
            batches = await consumer.getmany(timeout_ms=200, max_records=batch_size)
            got += sum(len(b) for b in batches.values())
            if batches:
                if work is not None:
                    await work(of, [m.value for b in batches.values() for m in b])
                await consumer.commit()
        return time.monotonic() - started
    finally:
        await consumer.stop()


async def insert(conn: Any, table: str, rows: Sequence[tuple[str, str]], batch_size: int) -> float:
    """Seconds asyncpg takes to store ``rows`` (key, JSON) in a fresh ``table`` with
    ``executemany`` of ``INSERT … ON CONFLICT DO NOTHING``, ``batch_size`` rows a call."""
    await conn.execute(f'CREATE TABLE "{table}" (key text PRIMARY KEY, data json)')
    started = time.monotonic()
    for i in range(0, len(rows), batch_size):
        await conn.executemany(
            f'INSERT INTO "{table}" VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
            rows[i : i + batch_size],
        )
    return time.monotonic() - started


async def replay(
    settings: Settings,
    bootstrap: str,
    conn: Any,
    moves: Moves,
    *,
    prefix: str = "same",
    work: Work | None = None,
) -> float:
    """Seconds bare aiokafka + asyncpg take to make the run's moves one after another:
    per topic its records produced (to ``{prefix}-{topic}``) and read as often as the
    stages' groups read them (each poll through ``work`` when given), per table its rows
    inserted (into ``{prefix}_{table}``), all in the run's bytes and in batches of
    ``batch_size``."""
    seconds = 0.0
    for topic, records in moves.records.items():
        if not records:
            continue
        seconds += await produce(bootstrap, f"{prefix}-{topic}", records)
        for done in range(0, moves.consumed[topic], len(records)):
            n = min(len(records), moves.consumed[topic] - done)
            seconds += await consume(
                bootstrap,
                f"{prefix}-{topic}",
                f"{prefix}-{topic}-{done}",
                n,
                settings.batch_size,
                work=work,
                of=topic,
            )
    for table, rows in moves.rows.items():
        if rows:
            keyed = [(str(i), row) for i, row in enumerate(rows)]
            seconds += await insert(conn, f"{prefix}_{table}", keyed, settings.batch_size)
    return seconds


async def same_moves(settings: Settings, bootstrap: str, conn: Any, moves: Moves) -> dict[str, Any]:
    """Bare aiokafka + asyncpg making the run's moves one after another, as the one-hop
    ceiling does: per topic its records produced and read as often as the stages' groups
    read them, per table its rows inserted, all in the run's bytes and in batches of
    ``batch_size``. Sequential, not per topic at once: the loop's moves are a chain (a
    post's lead is produced after the post is read and stored), and the one-hop ceiling
    beside it is sequential too, so the two ceilings differ only in the moves."""
    seconds = await replay(settings, bootstrap, conn, moves)
    return {
        "same_moves": moves.counts(),
        "same_moves_seconds": round(seconds, 2),
        "same_moves_posts_per_s": round(moves.posts / seconds, 1),
        "same_moves_means": (
            "the Kafka + PostgreSQL run's moves (warm-up, burst and paced stream): every "
            "record of every topic produced and consumed as often as the stages read it, "
            "every row of every table inserted, in that run's bytes, done one after another; "
            "its posts divided by the seconds"
        ),
    }


def _cold_caches() -> None:
    """Forget what the stages' modules remembered of texts met before (the embedded run
    warmed them in this process; a worker of the Kafka run started cold)."""
    import case_opener.places
    import leadfinder.cluster
    import leadfinder.evidence
    import verifier.rules

    for module in (leadfinder.cluster, leadfinder.evidence, verifier.rules, case_opener.places):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


class StageWork:
    """The stages' own work on a replayed poll, without the runtime, bus or store: the
    pure calls each stage makes on its records, on records decoded before the replay
    (decoding is the bus's share).

    * ``posts``: the leadfinder's ``Extractor.extract_many`` of the poll (normalising,
      rules, places, the model), with an extractor loaded for the replay, then each
      post's clustering against a window in memory (``leadfinder.window``: a repost to
      its original, a lead or copy to its earliest near-duplicate) and its lead made;
    * ``leads``: the verifier's decision in memory, in order: a lead of a cluster
      confirmed before gets ``follow_up``, any other ``rule_on`` (its context the
      confirmations so far of its district, the first ``NEAR_LIMIT``, other clusters'
      only) and ``verdict_of``;
    * ``verdicts``: a cluster's first confirmation that joins no other case becomes a
      case (``build_case``: duties list, SLA) and is filed to the simulated work-order
      system (a process of its own, as in the run) through the case opener's
      ``WorkOrderClient``, ``filing_concurrency`` at a time, the poll's filings together.

    Not included: the window's refreshes from the store, attaching corroboration to
    cases, the weak-signal stage's share, and whatever a stage reads or writes."""

    def __init__(self, settings: Settings, moves: Moves, workorder_url: str) -> None:
        from case_opener.config import load_routing, load_sla
        from case_opener.filing import WorkOrderClient
        from leadfinder.extract import read_mapping
        from leadfinder.window import ClusterWindow
        from verifier.rules import load_config

        self.configs = configs = settings.configs_dir
        self.concurrency = settings.filing_concurrency
        self.verifier = load_config(configs)
        self.routing = load_routing(configs)
        self.sla = load_sla(configs)
        self.client = WorkOrderClient(workorder_url, timeout_s=settings.workorder_timeout_s)
        models: dict[str, type[Record]] = {
            Post.topic: Post,
            Lead.topic: Lead,
            Verdict.topic: Verdict,
        }
        self.decoded: dict[str, dict[bytes, Any]] = {
            topic: {value: model.from_bytes(value) for _, value in moves.records[topic]}
            for topic, model in models.items()
            if moves.consumed.get(topic)
        }
        self.extractor: Any = None
        self.latest: dict[str, Verdict] = {}
        self.near: dict[str, list[Verdict]] = {}
        self.opened: set[str] = set()
        cluster = read_mapping(configs / "leadfinder.yaml")["cluster"]
        self.span = timedelta(hours=float(cluster["window_hours"]))
        self.max_hamming = int(cluster["max_hamming"])
        self.window = ClusterWindow(limit=int(cluster["lookback_limit"]))
        self.done = {
            "scored": 0,
            "clustered": 0,
            "ruled": 0,
            "followed_up": 0,
            "cases_built": 0,
            "filed": 0,
        }

    async def start(self) -> None:
        from leadfinder.extract import Extractor

        _cold_caches()
        self.extractor = await asyncio.to_thread(Extractor.load, self.configs)

    async def close(self) -> None:
        await self.client.close()

    def counts(self) -> dict[str, int]:
        return dict(self.done)

    async def __call__(self, topic: str, values: list[bytes]) -> None:
        decoded = self.decoded.get(topic)
        if decoded is None:
            return
        records = [decoded[v] for v in values]
        if topic == Post.topic:
            from leadfinder.scored import score_posts

            scored = score_posts(self.extractor, records)
            self.done["scored"] += len(records)
            for post, each in zip(records, scored, strict=True):
                self._cluster(post, each)
        elif topic == Lead.topic:
            for lead in records:
                self._decide(lead)
        elif topic == Verdict.topic:
            await self._open(records)

    def _cluster(self, post: Post, scored: Any) -> None:
        """The leadfinder's clustering of one post against its window in memory
        (``leadfinder.stage._Batch``): a repost joins its original's cluster, a lead or
        a copy of one the earliest near-duplicate's (``window_join``), and the lead made
        joins the window."""
        from leadfinder.stage import Join, make_lead, reach_of, window_join

        found, chars, mine = scored
        if chars is None:  # neither a lead, nor a repost, nor a copy of one
            return
        lead_id = stable_id(post.post_id)
        original = self.window.get(stable_id(post.repost_of)) if post.repost_of else None
        if original is not None:
            join: Join | None = Join(original.cluster_id, 1, original)
        else:
            reach = reach_of(post, lead_id, mine, self.span, self.max_hamming)
            join = window_join(self.window, found, chars, reach, lead_id)
        if join is None:
            return
        self.window.add(make_lead(post, found, lead_id, join, self.extractor.labels), chars, mine)
        self.done["clustered"] += 1

    def _decide(self, lead: Lead) -> None:
        from verifier.context import NEAR_LIMIT, follow_up
        from verifier.rules import Context, rule_on
        from verifier.stage import verdict_of

        previous = self.latest.get(lead.cluster_id)
        if previous is not None and previous.decision == "confirmed":
            follow_up(lead, previous)
            self.done["followed_up"] += 1
            return
        district = lead.geo.district
        near = self.near.get(district, []) if district is not None else []
        context = Context(near=tuple(v for v in near if v.cluster_id != lead.cluster_id))
        verdict = verdict_of(lead, rule_on(lead, self.verifier, context))
        self.done["ruled"] += 1
        self.latest[lead.cluster_id] = verdict
        if verdict.decision == "confirmed" and district is not None:
            kept = self.near.setdefault(district, [])
            if len(kept) < NEAR_LIMIT:
                kept.append(verdict)

    async def _open(self, verdicts: Sequence[Verdict]) -> None:
        from case_opener.stage import build_case

        cases = []
        for verdict in verdicts:
            if (
                verdict.decision != "confirmed"
                or verdict.duplicate_of is not None
                or verdict.cluster_id in self.opened
            ):
                continue
            self.opened.add(verdict.cluster_id)
            cases.append(build_case(verdict.lead, verdict, self.routing, self.sla))
        self.done["cases_built"] += len(cases)
        gate = asyncio.Semaphore(self.concurrency)

        async def file(case: Case) -> None:
            async with gate:
                await self.client.file(case)

        await asyncio.gather(*(file(case) for case in cases))
        self.done["filed"] += len(cases)


async def same_work(
    settings: Settings, bootstrap: str, conn: Any, moves: Moves, workorder_url: str
) -> dict[str, Any]:
    """The same-moves replay with the stages' own work (``StageWork``) on every poll
    consumed, in the same bare loop: what Python doing the loop's moves and the stages'
    domain work takes, without our runtime, bus or store code."""
    work = StageWork(settings, moves, workorder_url)
    await work.start()
    try:
        seconds = await replay(settings, bootstrap, conn, moves, prefix="work", work=work)
    finally:
        await work.close()
    return {
        "same_work": {**moves.counts(), "work": work.counts()},
        "same_work_seconds": round(seconds, 2),
        "same_work_posts_per_s": round(moves.posts / seconds, 1),
        "same_work_means": (
            "the same-moves replay with, in the same bare loop, each consumed poll through "
            "the stages' own pure work: the leadfinder's extract_many of the posts and their "
            "clustering against a window in memory, the "
            "verifier's rules (or follow-up) and verdict of each lead, the case opener's "
            "build_case and Open311 filing to a simulated work-order system of each "
            "cluster's first confirmation; not the window's refreshes, attaching corroboration, "
            "decoding, or any store read or write beyond the replayed inserts; its posts "
            "divided by the seconds"
        ),
    }


async def ceilings(settings: Settings, posts: Sequence[Post], moves: Moves) -> dict[str, Any]:
    """Bare aiokafka and asyncpg doing the loop's basic moves on the same records (one
    hop) and the whole run's moves (same moves)."""
    import asyncpg

    raw = [p.to_bytes() for p in posts]
    out: dict[str, Any] = {"records": len(raw)}
    async with LocalBroker() as broker, fresh_postgres() as url, simulator() as sim:
        seconds = await produce(broker.bootstrap, "ceiling", [(v[:16], v) for v in raw])
        out["aiokafka_produce_per_s"] = round(len(raw) / seconds, 1)
        seconds = await consume(
            broker.bootstrap, "ceiling", "ceiling", len(raw), settings.batch_size
        )
        out["aiokafka_consume_per_s"] = round(len(raw) / seconds, 1)
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            rows = [(p.post_id, v.decode()) for p, v in zip(posts, raw, strict=True)]
            seconds = await insert(conn, "ceiling", rows, 200)
            out["postgres_insert_rows_per_s"] = round(len(rows) / seconds, 1)
            out.update(await same_moves(settings, broker.bootstrap, conn, moves))
            out.update(
                await same_work(settings, broker.bootstrap, conn, moves, f"{sim}/workorders")
            )
        finally:
            await conn.close()
    hop = 1 / (
        1 / out["aiokafka_produce_per_s"]
        + 1 / out["aiokafka_consume_per_s"]
        + 1 / out["postgres_insert_rows_per_s"]
    )
    out["one_hop_posts_per_s"] = round(hop, 1)
    out["one_hop_means"] = "one produce + one consume + one row stored per post, nothing else"
    return out


async def bench_e2e(
    settings: Settings,
    *,
    posts: int,
    workers: int = 2,
    paced_s: float = 10.0,
    kafka: bool = True,
) -> dict[str, Any]:
    every = make_posts(posts * 2)
    burst, paced = every[:posts], every[posts:]
    result: dict[str, Any] = {"posts": posts, "stages": list(STAGES)}
    result["embedded"] = await embedded(settings, burst, paced, paced_s)
    if kafka:
        result["kafka_postgres"], moves = await kafka_postgres(
            settings, burst, paced, paced_s, workers
        )
        result["ceilings"] = ceil = await ceilings(settings, burst, moves)
        for ratio, key in (
            ("overhead_vs_one_hop", "one_hop_posts_per_s"),
            ("overhead_vs_same_moves", "same_moves_posts_per_s"),
            ("overhead_vs_same_work", "same_work_posts_per_s"),
        ):
            result[ratio] = {
                name: round(ceil[key] / result[name]["posts_per_s"], 2)
                for name in ("embedded", "kafka_postgres")
            }
    return result


TARGETS = {"embedded": 2000.0, "kafka_postgres": 1000.0}
"""Posts/s issue 11 asks for; post→lead p95 under 1 s embedded, 2 s on Kafka."""
LATENCY_TARGETS = {"embedded": 1.0, "kafka_postgres": 2.0}
DEPLOYMENTS = {"embedded": "内嵌（内存总线 + SQLite）", "kafka_postgres": "Kafka + PostgreSQL"}


def chart(result: dict[str, Any]) -> bytes:
    """The run as a PNG: posts/s per deployment beside the bare one-hop, same-moves and
    same-work ceilings and the targets, and the latency percentiles against their
    targets."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    from reports.charts import BRAND, MUTED, PREVIOUS, STYLE, cjk_font

    names = [n for n in DEPLOYMENTS if n in result]
    with rc_context({**STYLE, "font.family": cjk_font()}):
        fig = Figure(figsize=(12, 4.2), dpi=120)
        rate, latency = fig.subplots(1, 2, width_ratios=(1.3, 1.6))
        labels = [DEPLOYMENTS[n].replace("（", "\n（") for n in names]
        values = [result[n]["posts_per_s"] for n in names]
        if "ceilings" in result:
            shown = (
                ("裸 aiokafka\n+ asyncpg\n一跳上限", "one_hop_posts_per_s"),
                ("裸 aiokafka\n+ asyncpg\n同等动作上限", "same_moves_posts_per_s"),
                ("同等动作\n+ 各阶段自身计算\n同等工作上限", "same_work_posts_per_s"),
            )
            for label, key in shown:
                if key in result["ceilings"]:
                    labels.append(label)
                    values.append(result["ceilings"][key])
        shades = [BRAND] * len(names) + [PREVIOUS] * (len(values) - len(names))
        bars = rate.bar(range(len(values)), values, color=shades)
        rate.bar_label(bars, fmt="%.0f")
        for i, n in enumerate(names):
            rate.hlines(TARGETS[n], i - 0.4, i + 0.4, colors="#111827", linestyles="dashed")
        rate.set_xticks(range(len(values)), labels, fontsize=8)
        rate.set_title(f"吞吐（帖/秒，{result['posts']} 帖；虚线为目标）", fontsize=10)
        groups = [
            (f"{DEPLOYMENTS[n]}\n{what}", result[n][key], n)
            for n in names
            for what, key in (("帖子→线索", "post_to_lead_s"), ("研判→立案", "verdict_to_case_s"))
        ]
        width = 0.26
        for j, (cut, shade) in enumerate((("p50", PREVIOUS), ("p95", BRAND), ("p99", MUTED))):
            xs = [i + (j - 1) * width for i in range(len(groups))]
            ys = [g[1].get(cut) or 0 for g in groups]
            latency.bar(xs, ys, width, label=cut, color=shade)
        for i, (_, _, n) in enumerate(groups):
            if i % 2 == 0:  # the post→lead target
                latency.hlines(
                    LATENCY_TARGETS[n], i - 0.4, i + 0.4, colors="#111827", linestyles="dashed"
                )
        latency.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
        latency.set_title("延迟（秒，匀速为突发吞吐的一半；虚线为 p95 目标）", fontsize=10)
        latency.legend(fontsize=8)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
