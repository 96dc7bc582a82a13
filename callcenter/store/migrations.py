"""Versioned schema migrations.

The database records the steps applied in ``schema_version`` (one row per
step). :func:`migrate` applies the missing steps in order, each in one
transaction together with its ``schema_version`` row, so a crash leaves the
database at a step boundary. Re-opening an up-to-date database applies nothing.
A database whose version is newer than the last step known here is refused
with :class:`SchemaTooNewError` before anything is touched: old code must not write
into a schema it does not understand.

Concurrent openers are serialised: on SQLite by ``BEGIN IMMEDIATE`` (the write
lock), on PostgreSQL by a transaction-scoped advisory lock; each transaction
re-reads the version after taking the lock.

Adding a step: append a :class:`Migration` with the next version number. Steps
are replayed on every new database forever, so a step's DDL must not change
once released; in particular step 1 builds today's ``schema.py`` tables, so a
later step that alters a table must first freeze the version-1 definition of
that table here (``test_schema_matches_declared_tables`` catches the drift).
Steps are idempotent on their own (IF NOT EXISTS), so a step half-applied by
hand is finished rather than failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callcenter.store import schema


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer version of the code."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"database schema is at version {found}, newer than this callcenter "
            f"understands (up to {known}); upgrade callcenter, or open a database "
            f"made by this version"
        )
        self.found = found
        self.known = known


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _create_tables(conn: Connection) -> None:
    tables = [t for t in schema.metadata.sorted_tables if t is not schema.schema_version]
    schema.metadata.create_all(conn, tables=tables, checkfirst=True)


def _create_queue_log_realtime_view(conn: Connection) -> None:
    """A view with Asterisk's realtime ``queue_log`` shape: ``time`` as a UTC date-time.

    Tools written for Asterisk's realtime table (``time`` a DATETIME,
    ``callid``, ``queuename``, ``agent``, ``event``, ``data1``..``data5``) can
    read this view unchanged.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "CREATE VIEW IF NOT EXISTS queue_log_realtime AS SELECT id, "
            "strftime('%Y-%m-%d %H:%M:%f', time, 'unixepoch') AS time, "
            "callid, queuename, agent, event, data1, data2, data3, data4, data5, data "
            "FROM queue_log"
        )
    else:
        conn.exec_driver_sql(
            "CREATE OR REPLACE VIEW queue_log_realtime AS SELECT id, "
            "(to_timestamp(time) AT TIME ZONE 'UTC') AS time, "
            "callid, queuename, agent, event, data1, data2, data3, data4, data5, data "
            "FROM queue_log"
        )


def _create_product_code_tables(conn: Connection) -> None:
    """Authenticity codes and the checks callers made (``authenticity_check``).

    Step 1 creates every table declared in ``schema.py`` on a new database, so there
    this step finds them present; it is what adds them to a database made before.
    """
    schema.metadata.create_all(
        conn, tables=[schema.product_codes, schema.code_checks], checkfirst=True
    )


def _create_accounts_table(conn: Connection) -> None:
    """Accounts for ``account_lookup`` and ``outage_notice`` (see step 3 on step 1)."""
    schema.metadata.create_all(conn, tables=[schema.accounts], checkfirst=True)


def _create_outages_table(conn: Connection) -> None:
    """Declared outages for ``outage_notice`` (see step 3 on step 1)."""
    schema.metadata.create_all(conn, tables=[schema.outages], checkfirst=True)


def _create_desk_tables(conn: Connection) -> None:
    """Complaint tickets with their history, and callbacks agents scheduled (see step 3)."""
    schema.metadata.create_all(
        conn,
        tables=[schema.tickets, schema.ticket_events, schema.scheduled_callbacks],
        checkfirst=True,
    )


def _create_booked_callbacks_table(conn: Connection) -> None:
    """Booked callbacks, kept for a restarted engine (see step 3 on step 1)."""
    schema.metadata.create_all(conn, tables=[schema.booked_callbacks], checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "tables: interactions, legs, queue_log, agents, customers", _create_tables),
    Migration(2, "view queue_log_realtime", _create_queue_log_realtime_view),
    Migration(3, "tables: product_codes, code_checks", _create_product_code_tables),
    Migration(4, "table: accounts", _create_accounts_table),
    Migration(5, "table: outages", _create_outages_table),
    Migration(6, "tables: tickets, ticket_events, scheduled_callbacks", _create_desk_tables),
    Migration(7, "table: booked_callbacks", _create_booked_callbacks_table),
)

LATEST = MIGRATIONS[-1].version

if [m.version for m in MIGRATIONS] != list(range(1, len(MIGRATIONS) + 1)):
    raise RuntimeError("migration versions must be 1, 2, 3, ... in order")

# Any constant works; it only has to be the same for every opener of the database.
_PG_LOCK_KEY = 0x63616C6C  # "call"


async def current_version(conn: AsyncConnection) -> int:
    """The schema version of the database (0: empty)."""

    def read(sync: Connection) -> int:
        if not sync.dialect.has_table(sync, schema.schema_version.name):
            return 0
        found = sync.execute(select(func.max(schema.schema_version.c.version))).scalar()
        return int(found or 0)

    return await conn.run_sync(read)


async def migrate(engine: AsyncEngine, *, clock: Callable[[], float] = time.time) -> int:
    """Bring the database to :data:`LATEST`; return the version it is at."""
    while True:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
            version = await current_version(conn)
            if version > LATEST:
                raise SchemaTooNewError(version, LATEST)
            if version == LATEST:
                return version
            step = MIGRATIONS[version]
            await conn.run_sync(lambda sync: schema.schema_version.create(sync, checkfirst=True))
            await conn.run_sync(step.apply)
            await conn.execute(
                insert(schema.schema_version).values(
                    version=step.version, name=step.name, applied_at=clock()
                )
            )
