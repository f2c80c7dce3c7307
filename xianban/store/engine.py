"""Turning a database URL into an engine, and database failures into our errors.

This is the store's boundary: a URL that cannot work is a ``ConfigError`` (fix the
settings), a database that does not answer is a ``TransientError`` (retry later). Messages
name the host, never the password.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from xianban.errors import ConfigError, DatabaseUnavailableError, PermanentError
from xianban.records import Record

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
SQLITE_BUSY_TIMEOUT_MS = 10_000  # a writer waits this long for another writer's lock
PG_CONNECT_TIMEOUT_S = 10

# Failures that retrying cannot fix: wrong database name, user or password; a SQLite path
# that cannot be opened, is read-only, or is not a database at all.
_CONFIG_FAILURES = frozenset(
    {
        "InvalidCatalogNameError",
        "InvalidPasswordError",
        "InvalidAuthorizationSpecificationError",
        "SQLITE_CANTOPEN",
        "SQLITE_READONLY",
        "SQLITE_NOTADB",
    }
)

_RETRYABLE_CLASSES = frozenset({"08", "40", "53", "57"})


def parse_url(url: str) -> URL:
    """The URL with its async driver; plain ``sqlite://`` and ``postgresql://`` are accepted."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database URL is not valid: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in ASYNC_DRIVERS:
        raise ConfigError(
            f"database URL {describe(parsed)}: unsupported backend {backend!r} "
            "(use sqlite+aiosqlite:/// or postgresql+asyncpg://)"
        )
    driver = ASYNC_DRIVERS[backend]
    if parsed.drivername not in (backend, driver):
        raise ConfigError(f"database URL {describe(parsed)}: use the driver {driver}")
    return parsed.set(drivername=driver)


def describe(url: URL) -> str:
    """How a URL appears in messages: backend, host and database, no credentials."""
    if url.get_backend_name() == "sqlite":
        return f"sqlite:{url.database or ':memory:'}"
    port = f":{url.port}" if url.port else ""
    return f"{url.get_backend_name()}://{url.host or 'localhost'}{port}/{url.database or ''}"


def create_engine(url: URL) -> AsyncEngine:
    """An engine tuned per backend: SQLite in WAL mode with a busy timeout, its folder made."""
    if url.get_backend_name() == "postgresql":
        return create_async_engine(
            url,
            pool_pre_ping=True,
            connect_args={"timeout": PG_CONNECT_TIMEOUT_S},
            json_serializer=dump_json,
        )
    # Every use is Store._tx's transaction, which ends in commit or rollback, so the
    # pool's rollback when a connection comes back would be one more SQLite call per
    # transaction for nothing; PostgreSQL's adapter skips it when no transaction is open.
    options: dict[str, Any] = {"pool_reset_on_return": None}
    if url.database in (None, "", ":memory:"):
        options["poolclass"] = StaticPool  # one connection, or every session sees a new DB
    else:
        folder = Path(url.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {folder} for the SQLite database: {exc}") from None
    args, kwargs = _connect_args(url)
    connector = partial(sqlite3.connect, *args, **kwargs)
    engine = create_async_engine(
        url,
        async_creator=lambda: InlineSqlite(connector),
        json_serializer=dump_json,
        **options,
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def dump_json(value: Any) -> str:
    """A JSON column's text: a record (the stores pass records themselves, not their
    dumps) by pydantic's serialiser, the same JSON as ``json.dumps(record.model_dump(
    mode="json"))`` made in one step at half the cost; anything else by ``json.dumps``."""
    if isinstance(value, Record):
        return value.json_text()  # made once if the record goes onto the bus next
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value)


def _connect_args(url: URL) -> tuple[list[Any], dict[str, Any]]:
    """``sqlite3.connect``'s arguments as SQLAlchemy's aiosqlite dialect makes them."""
    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)
    return list(args), dict(kwargs)


class _Inline:
    """aiosqlite's queue to its thread, run at once on the caller's thread instead."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as the thread would
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineSqlite(aiosqlite.Connection):
    """An aiosqlite connection that runs each call on the event loop's thread.

    aiosqlite hands every call (cursor, execute, fetch, commit: five for a one-statement
    transaction) to a thread of its own and wakes the loop with the answer; with the
    loop's three stages waiting on each other those hops were most of a store call
    (a 1 ms query took 2-15 ms to come back in ``bench e2e``). A local SQLite file
    answers in microseconds, so the call runs where it is made. A store call never
    yields to the loop inside its transaction (every await in it is a call of this
    connection, answered at once), so no two transactions of one process interleave;
    a write lock held by another process is waited for (``busy_timeout``) on the loop.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _Inline()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineSqlite:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineSqlite]:
        return self._connect().__await__()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # First, so every later statement waits for a busy database instead of failing.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode")
    if cursor.fetchone()[0] != "wal":  # switching needs an exclusive lock: only when needed
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def translate(url: URL, exc: BaseException) -> Exception | None:
    """Our error for a failure talking to the database, or None when it is a bug of ours.

    asyncpg's errors reach us mostly as a bare ``DBAPIError``, so PostgreSQL failures are
    sorted by SQLSTATE class: 22/23 (the values) are permanent, 08/40/53/57 and 55P03
    (connection, rollback, resources, shutdown, lock) are worth retrying.
    """
    cause: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        # The driver adapter wraps the driver's own exception, the one with a useful name.
        cause = exc.orig.__cause__ or exc.orig
    reason = _scrub(f"{type(cause).__name__}: {cause}", url)
    sqlstate = str(getattr(cause, "sqlstate", "") or "")
    names = {type(cause).__name__, str(getattr(cause, "sqlite_errorname", ""))}
    if names & _CONFIG_FAILURES or isinstance(exc, NoSuchModuleError):
        return ConfigError(f"database {describe(url)} refused us: {reason}")
    if isinstance(exc, DataError | IntegrityError) or sqlstate[:2] in ("22", "23"):
        return PermanentError(f"database {describe(url)} refused the values: {reason}")
    if (
        not isinstance(exc, DBAPIError)
        or isinstance(exc, OperationalError | InterfaceError)
        or exc.connection_invalidated
        or sqlstate[:2] in _RETRYABLE_CLASSES
        or sqlstate == "55P03"
    ):
        return DatabaseUnavailableError(f"database {describe(url)} unavailable: {reason}")
    return None


def _scrub(message: str, url: URL) -> str:
    if url.password:
        message = message.replace(str(url.password), "***")
    return message
