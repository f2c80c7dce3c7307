"""The store's boundary: bad URLs, dead or vanished databases, refused values, installs."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.postgres import fresh_postgres_database
from xianban.errors import ConfigError, PermanentError, TransientError
from xianban.records import Post
from xianban.store import Store, upgrade
from xianban.store.migrate import head_revision


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "not valid"),
        ("mysql+aiomysql://root@127.0.0.1/xianban", "unsupported backend 'mysql'"),
        ("postgresql+psycopg2://postgres@127.0.0.1/test", "postgresql+asyncpg"),
        ("sqlite+pysqlite:///x.db", "sqlite+aiosqlite"),
    ],
)
async def test_a_bad_url_is_a_config_error(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        await Store.open(url)


async def test_a_database_that_does_not_answer_is_transient_and_keeps_the_password_secret() -> None:
    with pytest.raises(TransientError) as caught:
        await Store.open("postgresql+asyncpg://postgres:s3cret-pw@127.0.0.1:1/xianban")
    assert "127.0.0.1" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value)
    assert "s3cret-pw" not in repr(caught.value.__cause__)


async def test_a_sqlite_folder_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot create"):
        await Store.open(f"sqlite+aiosqlite:///{blocker}/db/xianban.db")


async def test_a_sqlite_path_that_is_no_database_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unable to open"):
        await Store.open(f"sqlite+aiosqlite:///{tmp_path}")  # a folder
    garbage = tmp_path / "notes.db"
    garbage.write_bytes(b"these are not the pages of a database" * 200)
    with pytest.raises(ConfigError, match="not a database"):
        await Store.open(f"sqlite+aiosqlite:///{garbage}")
    assert garbage.read_bytes().startswith(b"these are not")


async def test_a_missing_postgres_database_is_a_config_error() -> None:
    async with fresh_postgres_database() as url:
        missing = make_url(url).set(database="xianban_no_such_db")
        with pytest.raises(ConfigError, match="xianban_no_such_db"):
            await Store.open(missing.render_as_string(hide_password=False))


async def test_the_store_reconnects_after_postgres_drops_its_connections() -> None:
    async with fresh_postgres_database() as url:
        store = await Store.open(url)
        try:
            await store.upsert_post(Post(platform="weibo", native_id="1", text="台阶坏了"))
            await _terminate_connections(url)
            assert await store.has_post("weibo:1")
        finally:
            await store.close()


async def _terminate_connections(url: str) -> None:
    database = make_url(url).database
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            )
    finally:
        await engine.dispose()


async def test_postgres_refusing_a_value_is_permanent_and_names_why() -> None:
    async with fresh_postgres_database() as url:
        store = await Store.open(url)
        try:
            bad = Post(platform="weibo", native_id="1", source="we\x00ibo", text="x")
            with pytest.raises(PermanentError, match="refused the values"):
                await store.upsert_post(bad)
            assert (await store.counts())["posts"] == 0
        finally:
            await store.close()


async def test_sqlite_runs_in_wal_mode_in_a_folder_it_made(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "xianban.db"
    store = await Store.open(f"sqlite+aiosqlite:///{path}")
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_an_in_memory_sqlite_store_keeps_what_it_is_given() -> None:
    store = await Store.open("sqlite+aiosqlite://")
    try:
        assert await store.upsert_post(Post(platform="weibo", native_id="1", text="台阶坏了"))
        assert await store.has_post("weibo:1")
    finally:
        await store.close()


async def test_migrations_need_no_alembic_ini_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert await upgrade("sqlite+aiosqlite:///relative/xianban.db") == head_revision()
    assert (tmp_path / "relative" / "xianban.db").is_file()


async def test_workers_starting_together_migrate_once(store_url: str) -> None:
    revisions = await asyncio.gather(*(upgrade(store_url) for _ in range(4)))
    assert revisions == [head_revision()] * 4


async def test_a_schema_newer_than_this_code_is_a_config_error(store_url: str) -> None:
    await upgrade(store_url)
    engine = create_async_engine(store_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        await engine.dispose()
    with pytest.raises(ConfigError, match=rf"'9999'.*'{head_revision()}'"):
        await Store.open(store_url)
