"""Alembic, driven from code: the migrations ship inside the package, no alembic.ini needed."""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection

from xianban.errors import ConfigError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every process migrating this database.
PG_MIGRATION_LOCK = 0x58_42_44_42

_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def migration_lock() -> asyncio.Lock:
    """One migration at a time per event loop.

    Alembic keeps the running migration in module globals (``alembic.context``, ``op``);
    two upgrades interleaving on one loop, each in its ``run_sync`` greenlet, would run
    each other's steps. Other processes are kept out by the database locks below.
    """
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def upgrade_to_head(connection: Connection) -> str:
    """Bring the schema to head inside the caller's transaction; returns the revision.

    Processes starting together would race to create the same tables, so they queue:
    on PostgreSQL for an advisory lock, on SQLite for the write lock, taken before Alembic
    reads the current revision and held until the transaction ends.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        command.upgrade(_config(connection), "head")
    except CommandError as exc:  # typically a revision from a newer xianban than this one
        raise ConfigError(
            f"cannot migrate the database (at {current_revision(connection)!r}, this xianban "
            f"knows up to {head_revision()!r}): {exc}"
        ) from None
    return current_revision(connection) or ""


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
