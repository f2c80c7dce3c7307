"""Turning a database URL into an engine, and database failures into our errors.

This is the store's boundary: a URL that cannot work is a ``ConfigError`` (fix the
settings), a database that does not answer is a ``TransientError`` (retry later). Messages
name the host, never the password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
            url, pool_pre_ping=True, connect_args={"timeout": PG_CONNECT_TIMEOUT_S}
        )
    # Every use is Store._tx's engine.begin(), which ends in commit or rollback, so the
    # pool's rollback when a connection comes back only cost aiosqlite one more thread
    # round trip per transaction (6 -> 5 for a one-statement read); PostgreSQL's adapter
    # skips it when no transaction is open.
    options: dict[str, Any] = {"pool_reset_on_return": None}
    if url.database in (None, "", ":memory:"):
        options["poolclass"] = StaticPool  # one connection, or every session sees a new DB
    else:
        folder = Path(url.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {folder} for the SQLite database: {exc}") from None
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


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
