"""``Store``: the engine's database, opened by URL, read and written with async calls.

The routing path never awaits the store directly; it hands writes to
:class:`callcenter.store.writer.StoreWriter`, which batches them into one
transaction. The direct methods here are for everything else (reports,
consoles, tools, tests) and each runs in a transaction of its own.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Self, Unpack

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from callcenter.core.commands import AgentStateChanged, QueueLog
from callcenter.core.states import AgentState
from callcenter.store import migrations
from callcenter.store import queue_log as qlog
from callcenter.store.engine import READ_ONLY, create_engine
from callcenter.store.records import (
    INTERACTION_COLUMNS,
    AgentSession,
    AgentStateRecord,
    Customer,
    CustomerFields,
    CustomerNote,
    Interaction,
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
from callcenter.store.transaction import StoreTransaction


class Store:
    """The persistent record of calls, queue_log lines, agent states and customers."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        member_name: qlog.MemberName = qlog.asterisk_member_name,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.member_name = member_name
        self.clock = clock

    @classmethod
    async def open(
        cls,
        url: str | Path,
        *,
        migrate: bool = True,
        member_name: qlog.MemberName = qlog.asterisk_member_name,
        clock: Callable[[], float] = time.time,
    ) -> Self:
        """Open ``url`` (``sqlite+aiosqlite:///path``, ``postgresql+asyncpg://...``
        or a bare file path for SQLite) and bring its schema up to date.

        Raises :class:`~callcenter.store.migrations.SchemaTooNewError` for a database
        written by a newer version.
        """
        store = cls(create_engine(url), member_name=member_name, clock=clock)
        if migrate:
            try:
                await store.migrate()
            except BaseException:
                await store.close()
                raise
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def migrate(self) -> int:
        """Apply the missing migration steps; return the schema version."""
        return await migrations.migrate(self.engine, clock=self.clock)

    async def schema_version(self) -> int:
        async with self.reading() as conn:
            return await migrations.current_version(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StoreTransaction]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on exit."""
        async with self.engine.begin() as conn:
            yield StoreTransaction(conn, self.member_name, self.clock)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A read-only connection (a deferred transaction: never takes SQLite's write lock)."""
        async with self.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            yield conn

    # -- writes, one transaction each ----------------------------------------------

    async def upsert_interaction(self, call_id: str, **fields: Unpack[InteractionFields]) -> None:
        async with self.transaction() as tx:
            await tx.upsert_interaction(call_id, **fields)

    async def update_interaction(self, call_id: str, **fields: Unpack[InteractionFields]) -> bool:
        async with self.transaction() as tx:
            return await tx.update_interaction(call_id, **fields)

    async def add_leg(self, leg: Leg) -> int:
        async with self.transaction() as tx:
            return await tx.add_leg(leg)

    async def append_queue_log(self, lines: Sequence[QueueLog]) -> None:
        async with self.transaction() as tx:
            await tx.append_queue_log(lines)

    async def record_agent_state(self, changes: Sequence[AgentStateChanged], at: float) -> None:
        async with self.transaction() as tx:
            await tx.record_agent_state(changes, at)

    async def upsert_customer(self, number: str, **fields: Unpack[CustomerFields]) -> Customer:
        async with self.transaction() as tx:
            await tx.upsert_customer(number, **fields)
        found = await self.get_customer(number)
        if found is None:  # deleted by someone else in between
            raise LookupError(f"customer {number!r} vanished while being saved")
        return found

    async def add_customer_tag(self, number: str, tag: str) -> None:
        async with self.transaction() as tx:
            await tx.add_customer_tag(number, tag)

    async def remove_customer_tag(self, number: str, tag: str) -> None:
        async with self.transaction() as tx:
            await tx.remove_customer_tag(number, tag)

    async def add_customer_note(
        self, number: str, text: str, *, author: str = "", at: float | None = None
    ) -> None:
        async with self.transaction() as tx:
            await tx.add_customer_note(number, text, author=author, at=at)

    # -- reads ---------------------------------------------------------------------

    async def get_interaction(self, call_id: str) -> Interaction | None:
        async with self.reading() as conn:
            row = (
                await conn.execute(select(interactions).where(interactions.c.call_id == call_id))
            ).first()
        return None if row is None else _interaction(row._mapping)

    async def interactions_of_caller(self, number: str, *, limit: int = 20) -> list[Interaction]:
        """The caller's past contacts, newest first (the screen pop's history)."""
        async with self.reading() as conn:
            rows = await conn.execute(
                select(interactions)
                .where(interactions.c.caller_number == number)
                .order_by(interactions.c.arrived_at.desc(), interactions.c.call_id)
                .limit(limit)
            )
        return [_interaction(row._mapping) for row in rows]

    async def legs(self, call_id: str) -> list[Leg]:
        async with self.reading() as conn:
            rows = await conn.execute(
                select(interaction_legs)
                .where(interaction_legs.c.call_id == call_id)
                .order_by(interaction_legs.c.offered_at, interaction_legs.c.id)
            )
        return [
            Leg(
                call_id=row.call_id,
                agent=row.agent,
                offered_at=row.offered_at,
                result=row.result,
                queue=row.queue,
                answered_at=row.answered_at,
                ended_at=row.ended_at,
                id=row.id,
            )
            for row in rows
        ]

    async def queue_log(
        self, *, since: float | None = None, until: float | None = None, call: str | None = None
    ) -> list[QueueLog]:
        """queue_log lines in the order written, optionally within [since, until) or of one call."""
        stmt = select(queue_log).order_by(queue_log.c.id)
        if since is not None:
            stmt = stmt.where(queue_log.c.time >= since)
        if until is not None:
            stmt = stmt.where(queue_log.c.time < until)
        if call is not None:
            stmt = stmt.where(queue_log.c.callid == call)
        async with self.reading() as conn:
            rows = await conn.execute(stmt)
        return [qlog.from_row(row._mapping) for row in rows]

    async def agent_sessions(self, agent: str | None = None) -> list[AgentSession]:
        stmt = select(agent_sessions).order_by(agent_sessions.c.login_at, agent_sessions.c.id)
        if agent is not None:
            stmt = stmt.where(agent_sessions.c.agent == agent)
        async with self.reading() as conn:
            rows = await conn.execute(stmt)
        return [
            AgentSession(
                agent=row.agent,
                login_at=row.login_at,
                logout_at=row.logout_at,
                duration=row.duration,
                id=row.id,
            )
            for row in rows
        ]

    async def logged_in_agents(self) -> dict[str, AgentStateRecord | None]:
        """Agents whose session is still open (logged in when the engine stopped), each
        with its last recorded state change (None if none was written): what a restarted
        engine logs back in, paused where they were paused."""
        open_ = select(agent_sessions.c.agent).where(agent_sessions.c.logout_at.is_(None))
        last = (
            select(func.max(agent_state_changes.c.id))
            .where(agent_state_changes.c.agent.in_(open_))
            .group_by(agent_state_changes.c.agent)
        )
        async with self.reading() as conn:
            agents = (await conn.execute(open_)).scalars().all()
            rows = await conn.execute(
                select(agent_state_changes).where(agent_state_changes.c.id.in_(last))
            )
        found: dict[str, AgentStateRecord | None] = dict.fromkeys(agents)
        for row in rows:
            found[row.agent] = AgentStateRecord(
                agent=row.agent, time=row.time, previous=AgentState(row.previous),
                state=AgentState(row.state), cause=row.cause, reason=row.reason,
                call_id=row.call_id,
            )  # fmt: skip
        return found

    async def agent_state_changes(
        self, agent: str | None = None, *, since: float | None = None, until: float | None = None
    ) -> list[AgentStateRecord]:
        stmt = select(agent_state_changes).order_by(
            agent_state_changes.c.time, agent_state_changes.c.id
        )
        if agent is not None:
            stmt = stmt.where(agent_state_changes.c.agent == agent)
        if since is not None:
            stmt = stmt.where(agent_state_changes.c.time >= since)
        if until is not None:
            stmt = stmt.where(agent_state_changes.c.time < until)
        async with self.reading() as conn:
            rows = await conn.execute(stmt)
        return [
            AgentStateRecord(
                agent=row.agent,
                time=row.time,
                previous=AgentState(row.previous),
                state=AgentState(row.state),
                cause=row.cause,
                reason=row.reason,
                call_id=row.call_id,
            )
            for row in rows
        ]

    async def get_customer(self, number: str) -> Customer | None:
        async with self.reading() as conn:
            row = (
                await conn.execute(select(customers).where(customers.c.number == number))
            ).first()
            if row is None:
                return None
            tags = await conn.execute(
                select(customer_tags.c.tag)
                .where(customer_tags.c.number == number)
                .order_by(customer_tags.c.tag)
            )
            return Customer(
                number=row.number,
                name=row.name,
                notes=row.notes,
                vip=bool(row.vip),
                language=row.language,
                tags=tuple(tags.scalars()),
                created_at=row.created_at,
                updated_at=row.updated_at,
            )

    async def customer_notes(self, number: str) -> list[CustomerNote]:
        """The note history, oldest first."""
        async with self.reading() as conn:
            rows = await conn.execute(
                select(customer_notes)
                .where(customer_notes.c.number == number)
                .order_by(customer_notes.c.at, customer_notes.c.id)
            )
        return [
            CustomerNote(number=row.number, at=row.at, author=row.author, text=row.text)
            for row in rows
        ]


def _interaction(row: RowMapping) -> Interaction:
    return Interaction(**{name: row[name] for name in INTERACTION_COLUMNS})
