"""Alembic environment: runs on the connection the store hands over, never on an .ini file.

The store opens the database itself (so URL checks and error translation happen once) and
passes its connection in ``config.attributes["connection"]``. SQLite gets batch mode,
because it can alter a table only by copying it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from xianban.store.tables import Base


def run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations with `xianban db upgrade`, not the alembic command")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
