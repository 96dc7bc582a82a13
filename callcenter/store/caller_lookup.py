"""The caller lookup behind the agent's screen pop: customer, history and open tickets at once.

:func:`look_up_caller` returns exactly what :meth:`Store.get_customer`,
:meth:`Store.interactions_of_caller` and :func:`~callcenter.store.tickets.open_tickets_of`
return for the same number (``tests/store/test_caller_lookup.py`` compares them), for a
fraction of their CPU. The engine looks every queued caller up (``ari_app/engine/desk.py``),
so at 40 calls/s the three reads were about an eighth of its CPU. What that cost was not
the database: it was SQLAlchemy's execution of each statement (a cache key built from the
statement, a BEGIN, and on aiosqlite four hops to the driver's thread per statement, the
BEGIN's included: cursor, execute, fetch, close), in three connections. Here:

* three statements instead of up to five (tags joined to the customer, each ticket's
  latest event joined to the ticket), SQLAlchemy Core compiled once per dialect and run
  with the driver's own call;
* on an SQLite file, run straight on the store's sqlite3 reader in the event loop
  (``sqlite_reader.py``): no hop to aiosqlite's thread at all, where a statement through
  the pool cost one, and the connection's return to the pool one more (its rollback);
* on PostgreSQL, one pooled connection and one prepared-statement round trip each
  (asyncpg);
* no BEGIN: each read is one statement, atomic on its own (autocommit: SQLite's driver
  transactions are off, see ``engine.py``). The separate reads were three transactions
  anyway; the reads never write, so never take SQLite's write lock.

``python -m bench.desk_lookup`` (100,000 customers, mostly unknown numbers): 3.5 ms of
CPU per lookup before, 0.45 ms after on SQLite; 2.9 ms and 0.75 ms on PostgreSQL.

The caller's number only ever reaches the database as a bound parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.engine import Dialect

from callcenter.store.records import INTERACTION_COLUMNS, Customer, Interaction
from callcenter.store.schema import customer_tags, customers, interactions, ticket_events, tickets
from callcenter.store.sqlite_reader import sqlite_reader
from callcenter.store.store import Store
from callcenter.store.tickets import Ticket, TicketEvent, TicketStatus


@dataclass(frozen=True, slots=True)
class CallerRecord:
    """What the store knows of a caller: the agent sees it when the call is offered."""

    customer: Customer | None = None
    history: list[Interaction] = field(default_factory=list)  # newest first
    open_tickets: list[Ticket] = field(default_factory=list)  # most recently changed first


_CUSTOMER_COLUMNS = ("number", "name", "notes", "vip", "language", "created_at", "updated_at")
_TICKET_COLUMNS = (
    "id", "department", "status", "summary", "created_by", "created_at", "updated_at",
    "call_id", "customer", "assignee", "closed_at",
)  # fmt: skip
_EVENT_COLUMNS = ("id", "at", "actor", "action", "text", "department", "assignee")


def _customer_statement() -> Select[Any]:
    """The customer, once per tag (in tag order), or once with a NULL tag."""
    return (
        select(*[customers.c[name] for name in _CUSTOMER_COLUMNS], customer_tags.c.tag)
        .select_from(
            customers.outerjoin(customer_tags, customer_tags.c.number == customers.c.number)
        )
        .where(customers.c.number == bindparam("number"))
        .order_by(customer_tags.c.tag)
    )


def _history_statement() -> Select[Any]:
    """As ``Store.interactions_of_caller``."""
    return (
        select(*[interactions.c[name] for name in INTERACTION_COLUMNS])
        .where(interactions.c.caller_number == bindparam("number"))
        .order_by(interactions.c.arrived_at.desc(), interactions.c.call_id)
        .limit(bindparam("history_limit", type_=Integer))
    )


def _tickets_statement() -> Select[Any]:
    """As ``open_tickets_of``: each ticket with its latest event (by time, then id)."""
    latest = (
        select(ticket_events.c.id)
        .where(ticket_events.c.ticket_id == tickets.c.id)
        .order_by(ticket_events.c.at.desc(), ticket_events.c.id.desc())
        .limit(1)
        .correlate(tickets)
        .scalar_subquery()
    )
    return (
        select(
            *[tickets.c[name] for name in _TICKET_COLUMNS],
            *[ticket_events.c[name].label(f"event_{name}") for name in _EVENT_COLUMNS],
        )
        .select_from(tickets.outerjoin(ticket_events, ticket_events.c.id == latest))
        .where(
            tickets.c.customer == bindparam("number"),
            tickets.c.status != bindparam("closed", TicketStatus.CLOSED.value),
        )
        .order_by(tickets.c.updated_at.desc(), tickets.c.id.desc())
        .limit(bindparam("tickets_limit", type_=Integer))
    )


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement compiled for one dialect: its SQL and its parameters in order."""

    sql: str
    binds: tuple[tuple[str, Any], ...]  # (name, default) in the order of the placeholders

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None or compiled.literal_execute_params:
            raise TypeError(f"{dialect.name}: the lookup needs plain positional parameters")
        return cls(str(compiled), tuple((n, compiled.params[n]) for n in compiled.positiontup))

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        return [values.get(name, default) for name, default in self.binds]


_COMPILED: dict[tuple[str, str], tuple[_Compiled, _Compiled, _Compiled]] = {}


def _compiled(dialect: Dialect) -> tuple[_Compiled, _Compiled, _Compiled]:
    key = (dialect.name, dialect.driver)
    if key not in _COMPILED:
        _COMPILED[key] = (
            _Compiled.of(_customer_statement(), dialect),
            _Compiled.of(_history_statement(), dialect),
            _Compiled.of(_tickets_statement(), dialect),
        )
    return _COMPILED[key]


async def _fetch(
    dialect: str, driver: Any, statement: _Compiled, values: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    parameters = statement.parameters(values)
    if dialect == "sqlite":  # aiosqlite (an in-memory database): one trip to its thread
        rows: Sequence[Sequence[Any]] = await driver.execute_fetchall(statement.sql, parameters)
    else:  # asyncpg: a prepared statement, cached by the driver per connection
        rows = await driver.fetch(statement.sql, *parameters)
    return rows


def read_caller_now(
    store: Store, number: str, *, history_limit: int = 20, tickets_limit: int = 5
) -> CallerRecord | None:
    """:func:`look_up_caller` without awaiting: on an SQLite file, straight on the store's
    sqlite3 reader in the event loop; None for a store that must be awaited (PostgreSQL,
    an in-memory SQLite database)."""
    reader = sqlite_reader(store)
    if reader is None:
        return None
    values = {"number": number, "history_limit": history_limit, "tickets_limit": tickets_limit}
    found, past, pending = [
        reader.execute(statement.sql, statement.parameters(values)).fetchall()
        for statement in _compiled(store.engine.dialect)
    ]
    return _record(found, past, pending)


async def look_up_caller(
    store: Store, number: str, *, history_limit: int = 20, tickets_limit: int = 5
) -> CallerRecord:
    """``number``'s customer record, its ``history_limit`` latest interactions and its
    ``tickets_limit`` open tickets (as ``get_customer``, ``interactions_of_caller`` and
    ``open_tickets_of`` give them)."""
    now = read_caller_now(store, number, history_limit=history_limit, tickets_limit=tickets_limit)
    if now is not None:
        return now
    dialect = store.engine.dialect
    values = {"number": number, "history_limit": history_limit, "tickets_limit": tickets_limit}
    async with store.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        found, past, pending = [
            await _fetch(dialect.name, driver, statement, values)
            for statement in _compiled(dialect)
        ]
    return _record(found, past, pending)


def _record(
    found: Sequence[Sequence[Any]], past: Sequence[Sequence[Any]], pending: Sequence[Sequence[Any]]
) -> CallerRecord:
    return CallerRecord(_customer(found), [Interaction(*row) for row in past], _tickets(pending))


def _customer(rows: Sequence[Sequence[Any]]) -> Customer | None:
    if not rows:
        return None
    number, name, notes, vip, language, created_at, updated_at, _ = rows[0]
    return Customer(
        number=number, name=name, notes=notes, vip=bool(vip), language=language,
        tags=tuple(row[-1] for row in rows if row[-1] is not None),
        created_at=created_at, updated_at=updated_at,
    )  # fmt: skip


def _tickets(rows: Sequence[Sequence[Any]]) -> list[Ticket]:
    found = []
    for row in rows:
        (ticket_id, department, status, summary, created_by, created_at, updated_at, call_id,
         customer, assignee, closed_at, event_id, at, actor, action, text, event_department,
         event_assignee) = row  # fmt: skip
        history = (
            ()
            if event_id is None
            else (TicketEvent(at, actor, action, text, event_department, event_assignee),)
        )
        found.append(Ticket(
            id=int(ticket_id), department=department, status=TicketStatus(status),
            summary=summary, created_by=created_by, created_at=created_at,
            updated_at=updated_at, call_id=call_id, customer=customer, assignee=assignee,
            closed_at=closed_at, history=history,
        ))  # fmt: skip
    return found
