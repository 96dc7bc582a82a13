"""Writes, inside one database transaction: what ``Store`` and ``StoreWriter`` share.

Every value reaches the database as a bound parameter (SQLAlchemy Core
constructs, never SQL built from strings), so caller-supplied text is stored
literally, whatever quotes or SQL it contains.

The writer's hot statements take many rows at once (``executemany``: one round
trip to the driver's thread for a batch, not one per row), and the interaction
upsert for a given set of fields is built once and reused (building its ``ON
CONFLICT`` clause walks every column of the table: it cost more than the write).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Unpack

from sqlalchemy import func, insert, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.core.commands import AgentStateChanged, QueueLog
from callcenter.core.states import AgentState
from callcenter.store import queue_log as qlog
from callcenter.store.records import (
    CUSTOMER_FIELDS,
    FIRST_VALUE_FIELDS,
    INTERACTION_FIELDS,
    CustomerFields,
    InteractionFields,
    Leg,
)
from callcenter.store.schema import (
    agent_sessions,
    agent_state_changes,
    customer_notes,
    customer_tags,
    customers,
    interaction_legs,
    interactions,
    queue_log,
)

log = logging.getLogger(__name__)


def _checked(given: dict[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    unknown = set(given) - allowed
    if unknown:
        raise TypeError(f"unknown {what} field(s): {', '.join(sorted(unknown))}")
    return given


def interaction_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The columns an interaction write sets: checked, ``first_queue`` defaulted."""
    values = _checked(dict(fields), INTERACTION_FIELDS, "interaction")
    if values.get("queue") is not None and values.get("first_queue") is None:
        values["first_queue"] = values["queue"]
    return values


@functools.lru_cache(maxsize=256)
def _upsert_statement(dialect: str, names: tuple[str, ...]) -> Any:
    """Create an interaction or update exactly ``names`` (its parameters: ``call_id`` and
    ``names``); the first value kept for FIRST_VALUE_FIELDS. Bounded: a few sets of
    fields occur (one per kind of write, and their unions within a batch)."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(interactions)
    if not names:
        return stmt.on_conflict_do_nothing(index_elements=["call_id"])
    assignments = {
        name: (
            func.coalesce(interactions.c[name], stmt.excluded[name])
            if name in FIRST_VALUE_FIELDS
            else stmt.excluded[name]
        )
        for name in names
    }
    return stmt.on_conflict_do_update(index_elements=["call_id"], set_=assignments)


Statement = tuple[Any, list[dict[str, Any]]]
"""An executemany: the statement and its rows (each row one set of its parameters)."""

LEG_INSERT = insert(interaction_legs)
QUEUE_LOG_INSERT = insert(queue_log)
STATE_CHANGE_INSERT = insert(agent_state_changes)


def interaction_upserts(dialect: str, rows: Mapping[str, Mapping[str, Any]]) -> list[Statement]:
    """Interactions created or updated: call id -> its `interaction_values`. One statement
    per set of fields (rows sharing one go in one executemany)."""
    by_names: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for call_id, values in rows.items():
        names = tuple(sorted(values))
        by_names.setdefault(names, []).append({**values, "call_id": call_id})
    return [(_upsert_statement(dialect, names), params) for names, params in by_names.items()]


def leg_inserts(dialect: str, legs: Sequence[Leg], existing: Collection[str]) -> list[Statement]:
    """Legs in their order, after the interaction rows they need that are not in
    ``existing`` (written earlier in the same transaction)."""
    if not legs:
        return []
    calls = dict.fromkeys(leg.call_id for leg in legs)
    missing = [{"call_id": call} for call in calls if call not in existing]
    rows = [
        {
            "call_id": leg.call_id, "agent": leg.agent, "queue": leg.queue,
            "offered_at": leg.offered_at, "answered_at": leg.answered_at,
            "ended_at": leg.ended_at, "result": str(leg.result),
        }
        for leg in legs
    ]  # fmt: skip
    return [*([(_upsert_statement(dialect, ()), missing)] if missing else []), (LEG_INSERT, rows)]


def queue_log_inserts(lines: Sequence[QueueLog], member_name: qlog.MemberName) -> list[Statement]:
    if not lines:
        return []
    return [(QUEUE_LOG_INSERT, [qlog.to_row(line, member_name) for line in lines])]


def state_change_inserts(timed: Sequence[tuple[AgentStateChanged, float]]) -> list[Statement]:
    """The agent state changes kept (not the sessions they open or close)."""
    if not timed:
        return []
    rows = [
        {
            "agent": change.agent, "time": at, "previous": str(change.previous),
            "state": str(change.state), "cause": change.cause, "reason": change.reason,
            "call_id": change.call,
        }
        for change, at in timed
    ]  # fmt: skip
    return [(STATE_CHANGE_INSERT, rows)]


def opens_or_closes_a_session(change: AgentStateChanged) -> bool:
    """A login or a logout: ``agent_sessions`` changes too."""
    logged_out = AgentState.LOGGED_OUT
    return (change.previous == logged_out) != (change.state == logged_out)


class StoreTransaction:
    """The write operations, all in the transaction of ``conn``."""

    def __init__(
        self, conn: AsyncConnection, member_name: qlog.MemberName, clock: Callable[[], float]
    ) -> None:
        self.conn = conn
        self.member_name = member_name
        self.clock = clock

    def _insert(self, table: Any) -> Any:
        """INSERT with ``ON CONFLICT`` support (the same API in both dialects)."""
        if self.conn.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- interactions -----------------------------------------------------------

    async def upsert_interaction(self, call_id: str, **fields: Unpack[InteractionFields]) -> None:
        """Create the interaction or update exactly the fields given."""
        await self.upsert_interactions({call_id: interaction_values(fields)})

    async def execute(self, statements: Iterable[Statement]) -> None:
        for statement, rows in statements:
            await self.conn.execute(statement, rows)

    async def upsert_interactions(self, rows: Mapping[str, Mapping[str, Any]]) -> None:
        """`upsert_interaction` for many calls (:func:`interaction_upserts`)."""
        await self.execute(interaction_upserts(self.conn.dialect.name, rows))

    async def update_interaction(self, call_id: str, **fields: Unpack[InteractionFields]) -> bool:
        """Update the fields given of an existing interaction; False when there is none."""
        values = _checked(dict(fields), INTERACTION_FIELDS, "interaction")
        if values.get("queue") is not None and values.get("first_queue") is None:
            values["first_queue"] = values["queue"]
        assignments = {
            name: (
                func.coalesce(interactions.c[name], literal(value, interactions.c[name].type))
                if name in FIRST_VALUE_FIELDS
                else value
            )
            for name, value in values.items()
        }
        stmt = update(interactions).where(interactions.c.call_id == call_id)
        if not assignments:  # nothing to change: just tell whether it exists
            assignments = {"call_id": call_id}
        result = await self.conn.execute(stmt.values(assignments))
        return bool(result.rowcount)

    async def add_leg(self, leg: Leg) -> int:
        """Record one agent leg; the interaction row is created if it is not there yet."""
        await self.conn.execute(
            self._insert(interactions)
            .values(call_id=leg.call_id)
            .on_conflict_do_nothing(index_elements=["call_id"])
        )
        result = await self.conn.execute(
            insert(interaction_legs).values(
                call_id=leg.call_id,
                agent=leg.agent,
                queue=leg.queue,
                offered_at=leg.offered_at,
                answered_at=leg.answered_at,
                ended_at=leg.ended_at,
                result=str(leg.result),
            )
        )
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the database returned no id for the new leg")
        return int(key[0])

    async def add_legs(self, legs: Sequence[Leg], existing: Collection[str] = ()) -> None:
        """`add_leg` for many legs, in their order; ``existing``: calls whose interaction
        row is known to be there already (written earlier in this transaction)."""
        await self.execute(leg_inserts(self.conn.dialect.name, legs, existing))

    # -- queue_log ----------------------------------------------------------------

    async def append_queue_log(self, lines: Sequence[QueueLog]) -> None:
        await self.execute(queue_log_inserts(lines, self.member_name))

    # -- agents -------------------------------------------------------------------

    async def record_agent_state(self, changes: Sequence[AgentStateChanged], at: float) -> None:
        """Keep each change, and open/close ``agent_sessions`` on login/logout.

        A login while a session is still open (the engine died without logging
        the agent out) closes the old session at this login.
        """
        await self.record_agent_states([(changes, at)])

    async def record_agent_states(
        self, batches: Iterable[tuple[Sequence[AgentStateChanged], float]]
    ) -> None:
        """`record_agent_state` for several (changes, at), in their order: every change
        in one executemany, then the sessions opened and closed."""
        timed = [(change, at) for changes, at in batches for change in changes]
        await self.execute(state_change_inserts(timed))
        for change, at in timed:
            logged_out = AgentState.LOGGED_OUT
            if change.previous == logged_out and change.state != logged_out:
                await self._close_session(change.agent, at)
                await self.conn.execute(
                    insert(agent_sessions).values(agent=change.agent, login_at=at)
                )
            elif (
                change.state == logged_out
                and change.previous != logged_out
                and not await self._close_session(change.agent, at)
            ):
                log.warning("agent %s logged out without a session on record", change.agent)

    async def _close_session(self, agent: str, at: float) -> bool:
        result = await self.conn.execute(
            update(agent_sessions)
            .where(agent_sessions.c.agent == agent, agent_sessions.c.logout_at.is_(None))
            .values(logout_at=at, duration=literal(at) - agent_sessions.c.login_at)
        )
        return bool(result.rowcount)

    # -- customers ----------------------------------------------------------------

    async def upsert_customer(self, number: str, **fields: Unpack[CustomerFields]) -> None:
        """Create the customer or update exactly the fields given."""
        values = _checked(dict(fields), CUSTOMER_FIELDS, "customer")
        now = self.clock()
        stmt = self._insert(customers).values(
            number=number, created_at=now, updated_at=now, **values
        )
        assignments = {name: stmt.excluded[name] for name in (*values, "updated_at")}
        await self.conn.execute(
            stmt.on_conflict_do_update(index_elements=["number"], set_=assignments)
        )

    async def _ensure_customer(self, number: str) -> None:
        now = self.clock()
        await self.conn.execute(
            self._insert(customers)
            .values(number=number, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["number"])
        )

    async def add_customer_tag(self, number: str, tag: str) -> None:
        await self._ensure_customer(number)
        await self.conn.execute(
            self._insert(customer_tags)
            .values(number=number, tag=tag)
            .on_conflict_do_nothing(index_elements=["number", "tag"])
        )

    async def remove_customer_tag(self, number: str, tag: str) -> None:
        await self.conn.execute(
            customer_tags.delete().where(
                customer_tags.c.number == number, customer_tags.c.tag == tag
            )
        )

    async def add_customer_note(
        self, number: str, text: str, *, author: str = "", at: float | None = None
    ) -> None:
        """Add to the customer's note history (the customer is created if new)."""
        await self._ensure_customer(number)
        when = self.clock() if at is None else at
        await self.conn.execute(
            insert(customer_notes).values(number=number, at=when, author=author, text=text)
        )
        await self.conn.execute(
            update(customers).where(customers.c.number == number).values(updated_at=self.clock())
        )
