"""The writer's batches on an SQLite file, each in one trip to a thread of their own.

Through SQLAlchemy's async engine and aiosqlite, a batch of the writer's rows cost
about 3 ms of CPU whatever its size: each statement is several hops to aiosqlite's
thread (cursor, execute, close; the BEGIN too, and the rollback when the connection goes
back to its pool), each waking that thread and the event loop, plus SQLAlchemy's own
work per statement. Here the same statements (built by ``transaction.py``, SQLAlchemy
Core, compiled once for SQLite) run on a sqlite3 connection of the writer's own, in one
function on its own thread: BEGIN IMMEDIATE, an executemany per statement, COMMIT.
``python -m bench.store_writer``: with 8 calls per batch (40 calls/s, a batch every
0.2 s) about 0.36 ms of CPU per call before, 0.16 ms after; with 1 (``--calls-per-batch
1``, the fixed cost of a batch) 3.2 ms before, 0.43 ms after.

Only the writer's own rows take this path (``BatchRows.statements``); other operations,
logins and logouts, and PostgreSQL go through SQLAlchemy as before. Every value is a
bound parameter, as there.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import sqlite

from callcenter.store.engine import SQLITE_BUSY_TIMEOUT, tune_sqlite_connection
from callcenter.store.sqlite_reader import sqlite_file
from callcenter.store.store import Store
from callcenter.store.transaction import Statement

_DIALECT = sqlite.dialect()
Converter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement compiled for SQLite, for rows with a given set of keys."""

    sql: str
    names: tuple[str, ...]  # the rows' keys in placeholder order
    converters: tuple[Converter | None, ...]  # each placeholder's type's, as SQLAlchemy's

    def parameters(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        values = [row[name] for name in self.names]
        return tuple(
            value if convert is None or value is None else convert(value)
            for value, convert in zip(values, self.converters, strict=True)
        )


_COMPILED: dict[tuple[Any, tuple[str, ...]], Compiled] = {}


def compiled(statement: Any, keys: tuple[str, ...]) -> Compiled:
    """``statement`` compiled for rows with ``keys``. TypeError for a statement that needs
    more than the rows' values (a parameter of its own, a Python-side default)."""
    key = (statement, keys)
    found = _COMPILED.get(key)
    if found is None:
        result = statement.compile(dialect=_DIALECT, column_keys=list(keys))
        names = tuple(result.positiontup or ())
        if sorted(names) != sorted(keys):
            raise TypeError(f"parameters {names} for rows with {keys}: {result}")
        # SQLAlchemy converts some values on their way in (a Double's int to a float).
        converters = tuple(
            result.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            for name in names
        )
        found = _COMPILED[key] = Compiled(str(result), names, converters)
    return found


def as_executemanys(statements: Sequence[Statement]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Each statement's SQL and its rows as tuples in placeholder order."""
    runs = []
    for statement, rows in statements:
        found = compiled(statement, tuple(sorted(rows[0])))  # one entry per set of keys
        runs.append((found.sql, [found.parameters(row) for row in rows]))
    return runs


class SqliteBatches:
    """Writes batches in one transaction each, on a connection used only by its thread."""

    def __init__(self, path: str, busy_timeout: float = SQLITE_BUSY_TIMEOUT) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-batches")
        self._db: sqlite3.Connection | None = None  # opened, used and closed in the thread

    @classmethod
    def of(cls, store: Store) -> SqliteBatches | None:
        """For ``store`` when it is an SQLite file; None otherwise."""
        path = sqlite_file(store)
        return None if path is None else cls(path)

    async def write(self, statements: Sequence[Statement]) -> None:
        """All of ``statements`` committed, or none (the exception is sqlite3's)."""
        runs = as_executemanys([(statement, rows) for statement, rows in statements if rows])
        if runs:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._commit, runs)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=False)

    def _commit(self, runs: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")  # the write lock now, as the engine's writes take it
        try:
            for sql, rows in runs:
                db.executemany(sql, rows)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout)
            tune_sqlite_connection(db, self.busy_timeout)  # as the store's pool (engine.py)
            self._db = db
        return self._db

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
