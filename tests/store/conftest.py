"""Every store test runs twice: on a SQLite file and on a real PostgreSQL server.

The PostgreSQL server is started once per session (``pg_server.py``); tests
marked ``postgres`` are skipped, with the reason, when it cannot be had. Each
PostgreSQL test starts from an empty ``public`` schema.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from callcenter.store import Store
from callcenter.store.schema import metadata
from tests.store.pg_server import ENV_URL, PostgresUnavailableError, start_server


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """``postgresql://...`` of a server the tests may wipe."""
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    try:
        server = start_server()
    except (PostgresUnavailableError, OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"PostgreSQL cannot be had for the store tests: {error}")
    try:
        yield server.dsn
    finally:
        server.stop()


async def _empty_public_schema(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def _empty_tables(dsn: str) -> None:
    names = [t.name for t in reversed(metadata.sorted_tables) if t.name != "schema_version"]
    conn = await asyncpg.connect(dsn)
    try:
        # Table names from our own metadata, not from input.
        await conn.execute("".join(f"DELETE FROM {name};" for name in names))  # noqa: S608
    finally:
        await conn.close()


class _PostgresState:
    """Whether the test database holds the current schema with nothing but tables in it.

    Dropping the schema and migrating again for every test costs a quarter of a
    second on PostgreSQL; emptying the tables costs a few milliseconds.
    """

    migrated = False


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _asyncpg_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture
async def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a PostgreSQL database with an empty schema."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    await _empty_public_schema(dsn)
    _PostgresState.migrated = False
    return _asyncpg_url(dsn)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
async def store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Store]:
    """An open store on a migrated database with empty tables."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    else:
        dsn: str = request.getfixturevalue("postgres_dsn")
        if _PostgresState.migrated:
            await _empty_tables(dsn)
        else:
            await _empty_public_schema(dsn)
        url = _asyncpg_url(dsn)
    opened = await Store.open(url)
    _PostgresState.migrated = backend == "postgres"
    try:
        yield opened
    finally:
        await opened.close()
