"""Schema migrations: from empty, re-open, refuse newer, and SQLite's connection settings."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Connection, insert, inspect, select
from sqlalchemy.exc import OperationalError

from callcenter.store import (
    SCHEMA_VERSION,
    SchemaTooNewError,
    Store,
    UnsupportedDatabaseError,
    create_engine,
    database_url,
)
from callcenter.store import schema as tables
from callcenter.store.migrations import MIGRATIONS


async def _versions(store: Store) -> list[tuple[int, float]]:
    async with store.reading() as conn:
        rows = await conn.execute(
            select(tables.schema_version.c.version, tables.schema_version.c.applied_at).order_by(
                tables.schema_version.c.version
            )
        )
        return [(row.version, row.applied_at) for row in rows]


async def test_empty_database_is_migrated_to_the_latest_version(store: Store) -> None:
    assert await store.schema_version() == SCHEMA_VERSION
    assert [v for v, _ in await _versions(store)] == list(range(1, SCHEMA_VERSION + 1))


async def test_reopening_applies_nothing(store_url: str) -> None:
    async with await Store.open(store_url) as first:
        before = await _versions(first)
    async with await Store.open(store_url) as second:
        assert await second.migrate() == SCHEMA_VERSION
        assert await _versions(second) == before


async def test_database_newer_than_the_code_is_refused(store_url: str) -> None:
    async with await Store.open(store_url) as store, store.transaction() as tx:
        await tx.conn.execute(
            insert(tables.schema_version).values(
                version=SCHEMA_VERSION + 1, name="from the future", applied_at=0.0
            )
        )
    with pytest.raises(SchemaTooNewError) as refused:
        await Store.open(store_url)
    assert refused.value.found == SCHEMA_VERSION + 1
    assert refused.value.known == SCHEMA_VERSION
    assert f"version {SCHEMA_VERSION + 1}" in str(refused.value)
    assert "upgrade callcenter" in str(refused.value)


async def test_concurrent_openers_migrate_once(store_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(store_url) for _ in range(3)))
    try:
        assert [v for v, _ in await _versions(stores[0])] == list(range(1, SCHEMA_VERSION + 1))
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_every_step_can_run_again(store: Store) -> None:
    for step in MIGRATIONS:
        async with store.transaction() as tx:
            await tx.conn.run_sync(step.apply)
    assert await store.schema_version() == SCHEMA_VERSION


def _shape(sync: Connection) -> dict[str, set[str]]:
    inspector = inspect(sync)
    return {
        name: {column["name"] for column in inspector.get_columns(name)}
        for name in inspector.get_table_names()
    }


async def test_schema_matches_declared_tables(store: Store) -> None:
    async with store.reading() as conn:
        found = await conn.run_sync(_shape)
    declared = {t.name: {c.name for c in t.columns} for t in tables.metadata.sorted_tables}
    assert found == declared


async def test_queue_log_realtime_view_shows_utc_date_times(store: Store) -> None:
    from callcenter.core.commands import QueueLog

    await store.append_queue_log([QueueLog(1795753104.25, "c1", "support", "NONE", "ENTERQUEUE")])
    async with store.reading() as conn:
        row = (await conn.exec_driver_sql("SELECT time, callid FROM queue_log_realtime")).one()
    assert str(row.time).startswith("2026-11-27 04:18:24.25")
    assert row.callid == "c1"


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_busy_timeout(sqlite_url: str) -> None:
    async with await Store.open(sqlite_url) as store, store.reading() as conn:
        pragmas = {
            name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}


async def test_sqlite_writes_take_the_write_lock_at_begin_and_reads_do_not(
    sqlite_url: str,
) -> None:
    async with await Store.open(sqlite_url) as holder:
        impatient = Store(create_engine(sqlite_url, busy_timeout=0.2))
        try:
            async with holder.transaction():
                # BEGIN IMMEDIATE: even a write transaction that has not written yet
                # holds the lock, so another writer waits (here: gives up after 0.2 s).
                with pytest.raises(OperationalError, match="database is locked"):
                    async with impatient.transaction() as tx:
                        await tx.conn.exec_driver_sql("SELECT 1")
                # Readers use a deferred BEGIN and are not held up by the writer.
                assert await impatient.schema_version() == SCHEMA_VERSION
        finally:
            await impatient.close()


def test_a_bare_path_means_sqlite_and_drivers_are_chosen_for_the_backend() -> None:
    assert database_url("/var/lib/callcenter/cc.db").render_as_string() == (
        "sqlite+aiosqlite:////var/lib/callcenter/cc.db"
    )
    assert database_url("sqlite:///cc.db").drivername == "sqlite+aiosqlite"
    assert database_url("postgresql://cc@db/cc").drivername == "postgresql+asyncpg"
    with pytest.raises(UnsupportedDatabaseError, match="unsupported database 'mysql'"):
        database_url("mysql://cc:secret@db/cc")
