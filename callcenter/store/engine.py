"""The database connection: one async SQLAlchemy engine per store, tuned per backend.

SQLite is the one-machine default, PostgreSQL the choice for more. Both run the
same Core statements; what differs is set up here, once:

SQLite
    * ``journal_mode=WAL``: readers (reports, screen pops) never wait for the
      writer, and the writer never waits for readers.
    * ``foreign_keys=ON``: SQLite leaves them off per connection unless asked.
    * ``busy_timeout``: a writer that finds the write lock taken waits for it
      instead of failing at once with "database is locked".
    * Writes begin with ``BEGIN IMMEDIATE``. The sqlite3/aiosqlite driver's own
      transaction handling is switched off (``isolation_level = None``) and
      SQLAlchemy's ``begin`` event emits our BEGIN instead (the recipe in
      SQLAlchemy's SQLite dialect docs, "Enabling Non-Legacy SQLite
      Transactional Modes"). A deferred BEGIN would take the read lock first and
      try to upgrade at the first write; two such transactions deadlock and one
      gets SQLITE_BUSY at once, busy timeout or not. IMMEDIATE takes the write
      lock up front, so concurrent writers queue on the busy timeout instead.
      Read-only connections (see :data:`READ_ONLY`) use a plain deferred BEGIN
      so reports never hold the write lock.

PostgreSQL (asyncpg)
    Nothing special: default READ COMMITTED transactions; migrations serialise
    themselves with an advisory lock (see ``migrations.py``).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: Execution option that marks a connection as read-only (a deferred BEGIN on SQLite).
READ_ONLY = "callcenter_read_only"

#: How long a SQLite writer waits for the write lock before giving up, in seconds.
SQLITE_BUSY_TIMEOUT = 30.0

SUPPORTED = ("sqlite", "postgresql")


class UnsupportedDatabaseError(ValueError):
    pass


def database_url(url_or_path: str | Path) -> URL:
    """Parse a database URL; a bare file path means SQLite via aiosqlite."""
    text = str(url_or_path)
    if "://" not in text:
        return URL.create("sqlite+aiosqlite", database=text)
    url = make_url(text)
    backend = url.get_backend_name()
    if backend not in SUPPORTED:
        raise UnsupportedDatabaseError(
            f"unsupported database {backend!r} in {url.render_as_string(hide_password=True)}: "
            "use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
        )
    if backend == "sqlite" and url.get_driver_name() != "aiosqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql" and url.get_driver_name() != "asyncpg":
        url = url.set(drivername="postgresql+asyncpg")
    return url


def create_engine(
    url_or_path: str | Path, *, busy_timeout: float = SQLITE_BUSY_TIMEOUT
) -> AsyncEngine:
    """An async engine for ``url_or_path`` with the per-backend settings above."""
    url = database_url(url_or_path)
    if url.get_backend_name() == "postgresql":
        return create_async_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:" and not url.query.get("uri"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout})
    _tune_sqlite(engine, busy_timeout)
    return engine


def _set_wal(cursor: Any, busy_timeout: float) -> None:
    """WAL mode (persistent: it only changes a new file). Switching needs an exclusive
    lock, and when several connections race for it on a new file SQLite answers
    "database is locked" at once, without its busy wait (deadlock avoidance): retry."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # in the driver's thread, not the event loop


def tune_sqlite_connection(dbapi_connection: Any, busy_timeout: float) -> None:
    """The store's settings on a new sqlite3 (or aiosqlite-adapted) connection: every
    writer's, the pool's and the writer's own (``sqlite_batch.py``)."""
    # Stop the driver from emitting its own (deferred) BEGIN: ours is BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        _set_wal(cursor, busy_timeout)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # In WAL mode NORMAL is durable against application crashes; only an
        # OS crash or power loss may lose the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _tune_sqlite(engine: AsyncEngine, busy_timeout: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        tune_sqlite_connection(dbapi_connection, busy_timeout)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
