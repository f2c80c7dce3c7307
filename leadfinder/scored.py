"""What the leadfinder knows of each post before it clusters it, made here or in a child.

``score_posts`` is the stage's work on a batch that needs nothing from other posts: the
extraction (``Extractor.extract_many``: normalising, rules, places, the model) and, for a
post clustering will look at (a lead, a repost, or a text long enough to be a copy),
its bare text and SimHash (``leadfinder.cluster``).

``ExtractorProcess`` does it in a child process (a pool of one worker that loads its own
extractor), for a deployment whose stages share one process and so one core (embedded:
memory bus + SQLite on one event loop): the stage submits a batch as soon as the runtime
has read it (``LeadfinderStage.prepare``), one batch ahead of the one it clusters and
stores, so scoring runs on the other core while the loop does the rest of the
leadfinder's, the verifier's and the case opener's work. What crosses the pipe is plain:
the posts' JSON one way (the text the store writes anyway, ``Record.json_text``), and
back each extraction's fields as builtin values (``Row``); pickling the pydantic objects
cost 61-90 µs a post, as much as the work moved.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from leadfinder.cluster import bare, may_be_copy, simhash_of_bare
from leadfinder.extract import Extraction, Extractor
from xianban.errors import TransientError
from xianban.records import Geo, Post
from xianban.runtime import settle_collector


def is_lead(found: Extraction) -> bool:
    return found.is_lead and found.category is not None


class Scored(NamedTuple):
    """A post's extraction, and what clustering reads of its text."""

    found: Extraction
    chars: str | None
    """``bare(post.text)``; ``None`` for a post clustering leaves alone (neither a lead,
    nor a repost, nor a text that may be a copy of one)."""
    simhash: int
    """``simhash_of_bare(chars)`` (0 without ``chars``)."""


def score_posts(extractor: Extractor, posts: Sequence[Post]) -> list[Scored]:
    """The batch's extractions and clustering texts, in input order."""
    out: list[Scored] = []
    for post, found in zip(posts, extractor.extract_many(posts), strict=True):
        chars = bare(post.text)
        if is_lead(found) or post.repost_of or may_be_copy(chars):
            out.append(Scored(found, chars, simhash_of_bare(chars)))
        else:
            out.append(Scored(found, None, 0))
    return out


FIELDS = tuple(Extraction.model_fields)
GEO_FIELDS = tuple(Geo.model_fields)
Row = tuple[list[Any], str | None, int]
"""A ``Scored`` in builtin values: the extraction's fields in order (its ``Geo`` as a
tuple of its fields), the bare text, the SimHash."""


def to_rows(scored: Sequence[Scored]) -> list[Row]:
    """The batch as the pipe carries it back (pickled by the pool: ~4 µs a post each
    way, where the pydantic objects themselves took 61-90 µs)."""
    rows: list[Row] = []
    for found, chars, hashed in scored:
        values = dict(vars(found))
        geo: Geo = values["geo"]
        values["geo"] = tuple(getattr(geo, name) for name in GEO_FIELDS)
        rows.append(([values[name] for name in FIELDS], chars, hashed))
    return rows


@lru_cache(maxsize=4096)
def _geo(values: tuple[str | None, ...]) -> Geo:
    """One frozen ``Geo`` per place (a stream names the same few hundred again and again)."""
    return Geo(**dict(zip(GEO_FIELDS, values, strict=True)))


def from_rows(rows: Sequence[Row]) -> list[Scored]:
    """``to_rows``'s batch as the stage uses it: equal, field for field, to what
    ``score_posts`` made in the child."""
    out: list[Scored] = []
    for fields, chars, hashed in rows:
        values = dict(zip(FIELDS, fields, strict=True))
        values["geo"] = _geo(tuple(values["geo"]))
        out.append(Scored(Extraction.model_construct(**values), chars, hashed))
    return out


# -- the child's side ------------------------------------------------------------------

_extractor: Extractor | None = None
"""The child's extractor, loaded by its first call (a load that fails is that call's
error, pickled back to the parent with its message)."""


def _loaded(configs_dir: str) -> Extractor:
    global _extractor
    if _extractor is None:
        _extractor = Extractor.load(Path(configs_dir))
        # What the load made lives as long as the child: frozen, as a worker's stages
        # are (the default thresholds had full collections walk it every few batches).
        settle_collector()
    return _extractor


def _detached() -> None:
    """The parent owns the child's life (it shuts the pool down; a pipe that closes,
    the parent gone, ends it): Ctrl-C in a terminal or a service manager's SIGTERM to
    the whole group is the parent's to handle, which finishes its batch with the child
    still there."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _labels(configs_dir: str) -> dict[str, str]:
    return dict(_loaded(configs_dir).labels)


def _score(configs_dir: str, posts_json: list[str]) -> list[Row]:
    posts = [Post.model_validate_json(text) for text in posts_json]
    return to_rows(score_posts(_loaded(configs_dir), posts))


# -- the parent's side -----------------------------------------------------------------


class ExtractorProcess:
    """``score_posts`` in a child process of its own (spawned, so it shares nothing of
    the parent's loop, threads or open store), one batch at a time in submission order.
    A child that dies is replaced on the next submission; the batch it had is a
    ``TransientError`` (the worker retries it)."""

    def __init__(self, configs_dir: Path) -> None:
        self.configs_dir = configs_dir
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_detached,
            )
        return self._pool

    async def start(self) -> dict[str, str]:
        """Start the child and wait until its extractor is loaded; the taxonomy's
        labels (category code -> Chinese label), which leads need in their reasons."""
        labels: dict[str, str] = await asyncio.wrap_future(
            self._executor().submit(_labels, str(self.configs_dir))
        )
        return labels

    def submit(self, posts: Sequence[Post]) -> asyncio.Future[Any]:
        """Start scoring the posts now; the future's result is for ``result``."""
        payload = [post.json_text() for post in posts]
        try:
            done = self._executor().submit(_score, str(self.configs_dir), payload)
        except BrokenProcessPool:  # the child died since the last batch: a new one
            self._pool = None
            done = self._executor().submit(_score, str(self.configs_dir), payload)
        return asyncio.wrap_future(done)

    @staticmethod
    async def result(pending: asyncio.Future[Any]) -> list[Scored]:
        """What ``submit``'s future brings, unpacked in this process."""
        try:
            rows: list[Row] = await pending
        except BrokenProcessPool as exc:
            raise TransientError(f"the leadfinder's scoring process died: {exc}") from exc
        return from_rows(rows)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
