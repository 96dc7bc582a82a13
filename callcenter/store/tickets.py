"""Complaint tickets (投诉工单) and the callbacks agents schedule, kept with the interaction.

A complaint goes: recorded (``open``) -> handed to a department (``assigned``) -> followed
up (notes) -> ``closed`` with what the customer was told; it may be reopened. Every step
is a :class:`TicketEvent` (who, when, what) written in the same transaction as the
ticket's new status, so the history always explains the status.

:func:`open_tickets_of` gives a caller's complaints not closed yet, each with its latest
entry, for the agent's screen pop (``ari_app/engine/desk.py``).

The wrap-up of a call (disposition code and notes) is stored on the interaction itself
(the engine's ``DispositionSet`` through the journal, notes with ``update_interaction``);
tickets and callbacks point back at it by call id.

Text typed by agents or said by callers (summary, notes) is stored verbatim as bound
parameters; nothing here builds SQL from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping

from callcenter.store.schema import scheduled_callbacks, ticket_events, tickets
from callcenter.store.store import Store


class TicketStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class TicketError(ValueError):
    """A ticket change that cannot be made (unknown ticket, closed ticket, ...)."""


@dataclass(frozen=True, slots=True)
class TicketEvent:
    at: float
    actor: str
    action: str
    text: str = ""
    department: str | None = None
    assignee: str | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    department: str
    status: TicketStatus
    summary: str
    created_by: str
    created_at: float
    updated_at: float
    call_id: str | None = None
    customer: str | None = None
    assignee: str | None = None
    closed_at: float | None = None
    history: tuple[TicketEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduledCallback:
    id: int
    number: str
    agent: str
    due_at: float
    status: str
    notes: str
    created_at: float
    call_id: str | None = None
    queue: str | None = None
    done_at: float | None = None


async def create_ticket(
    store: Store,
    *,
    department: str,
    summary: str,
    actor: str,
    at: float,
    call_id: str | None = None,
    customer: str | None = None,
) -> int:
    """A new ticket handed to ``department``; returns its id."""
    async with store.transaction() as tx:
        result = await tx.conn.execute(
            insert(tickets).values(
                call_id=call_id,
                customer=customer,
                department=department,
                status=TicketStatus.OPEN,
                summary=summary,
                created_by=actor,
                created_at=at,
                updated_at=at,
            )
        )
        ticket_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        await tx.conn.execute(
            insert(ticket_events).values(
                ticket_id=ticket_id,
                at=at,
                actor=actor,
                action="create",
                department=department,
                text=summary,
            )
        )
    return ticket_id


async def _change(
    store: Store, ticket_id: int, actor: str, at: float, action: str, text: str,
    values: dict[str, Any], *, closed_ok: bool = False,
) -> None:  # fmt: skip
    async with store.transaction() as tx:
        row = (
            await tx.conn.execute(select(tickets.c.status).where(tickets.c.id == ticket_id))
        ).first()
        if row is None:
            raise TicketError(f"no ticket {ticket_id}")
        if row.status == TicketStatus.CLOSED and not closed_ok:
            raise TicketError(f"ticket {ticket_id} is closed")
        await tx.conn.execute(
            update(tickets).where(tickets.c.id == ticket_id).values(updated_at=at, **values)
        )
        await tx.conn.execute(
            insert(ticket_events).values(
                ticket_id=ticket_id,
                at=at,
                actor=actor,
                action=action,
                text=text,
                department=values.get("department"),
                assignee=values.get("assignee"),
            )
        )


async def assign_ticket(
    store: Store, ticket_id: int, *, department: str, actor: str, at: float,
    assignee: str | None = None, text: str = "",
) -> None:  # fmt: skip
    """Hand the ticket to ``department`` (and someone in it)."""
    values = {"department": department, "assignee": assignee, "status": TicketStatus.ASSIGNED}
    await _change(store, ticket_id, actor, at, "assign", text, values)


async def follow_up(store: Store, ticket_id: int, *, text: str, actor: str, at: float) -> None:
    """Add a follow-up note (what was done, what the customer was told)."""
    if not text.strip():
        raise TicketError("a follow-up needs text")
    await _change(store, ticket_id, actor, at, "note", text, {})


async def close_ticket(store: Store, ticket_id: int, *, text: str, actor: str, at: float) -> None:
    """Close the ticket; ``text`` is the outcome reported back to the customer."""
    values = {"status": TicketStatus.CLOSED, "closed_at": at}
    await _change(store, ticket_id, actor, at, "close", text, values)


async def reopen_ticket(store: Store, ticket_id: int, *, text: str, actor: str, at: float) -> None:
    values = {"status": TicketStatus.OPEN, "closed_at": None}
    await _change(store, ticket_id, actor, at, "reopen", text, values, closed_ok=True)


def _ticket(row: RowMapping, history: tuple[TicketEvent, ...]) -> Ticket:
    return Ticket(
        id=int(row["id"]),
        department=row["department"],
        status=TicketStatus(row["status"]),
        summary=row["summary"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        call_id=row["call_id"],
        customer=row["customer"],
        assignee=row["assignee"],
        closed_at=row["closed_at"],
        history=history,
    )


async def get_ticket(store: Store, ticket_id: int) -> Ticket | None:
    """The ticket with its whole history, oldest first."""
    async with store.reading() as conn:
        row = (await conn.execute(select(tickets).where(tickets.c.id == ticket_id))).mappings()
        found = row.first()
        if found is None:
            return None
        events = await conn.execute(
            select(ticket_events)
            .where(ticket_events.c.ticket_id == ticket_id)
            .order_by(ticket_events.c.at, ticket_events.c.id)
        )
        history = tuple(
            TicketEvent(e["at"], e["actor"], e["action"], e["text"], e["department"], e["assignee"])
            for e in events.mappings()
        )
    return _ticket(found, history)


async def list_tickets(
    store: Store,
    *,
    status: TicketStatus | None = None,
    department: str | None = None,
    customer: str | None = None,
    limit: int = 100,
) -> list[Ticket]:
    """Tickets, newest first (without their history; :func:`get_ticket` has it)."""
    query = select(tickets).order_by(tickets.c.created_at.desc(), tickets.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(tickets.c.status == status)
    if department is not None:
        query = query.where(tickets.c.department == department)
    if customer is not None:
        query = query.where(tickets.c.customer == customer)
    async with store.reading() as conn:
        return [_ticket(row, ()) for row in (await conn.execute(query)).mappings()]


async def schedule_callback(
    store: Store, *, number: str, agent: str, due_at: float, at: float,
    notes: str = "", call_id: str | None = None, queue: str | None = None,
) -> int:  # fmt: skip
    """Record a promised call back; returns its id."""
    async with store.transaction() as tx:
        result = await tx.conn.execute(
            insert(scheduled_callbacks).values(
                number=number,
                agent=agent,
                due_at=due_at,
                notes=notes,
                call_id=call_id,
                queue=queue,
                status="scheduled",
                created_at=at,
            )
        )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def finish_callback(
    store: Store, callback_id: int, *, at: float, status: str = "done"
) -> bool:
    """Mark a callback done (or ``cancelled``); False if it was not scheduled."""
    async with store.transaction() as tx:
        result = await tx.conn.execute(
            update(scheduled_callbacks)
            .where(scheduled_callbacks.c.id == callback_id)
            .where(scheduled_callbacks.c.status == "scheduled")
            .values(status=status, done_at=at)
        )
    return bool(result.rowcount)


async def due_callbacks(
    store: Store, *, until: float, agent: str | None = None
) -> list[ScheduledCallback]:
    """Callbacks still to make that are due by ``until``, earliest first."""
    query = (
        select(scheduled_callbacks)
        .where(scheduled_callbacks.c.status == "scheduled")
        .where(scheduled_callbacks.c.due_at <= until)
        .order_by(scheduled_callbacks.c.due_at, scheduled_callbacks.c.id)
    )
    if agent is not None:
        query = query.where(scheduled_callbacks.c.agent == agent)
    async with store.reading() as conn:
        return [
            ScheduledCallback(
                id=int(r["id"]),
                number=r["number"],
                agent=r["agent"],
                due_at=r["due_at"],
                status=r["status"],
                notes=r["notes"],
                created_at=r["created_at"],
                call_id=r["call_id"],
                queue=r["queue"],
                done_at=r["done_at"],
            )
            for r in (await conn.execute(query)).mappings()
        ]


async def open_tickets_of(store: Store, customer: str, *, limit: int = 5) -> list[Ticket]:
    """``customer``'s tickets not closed, most recently changed first, each with only its
    latest event as ``history`` (what the screen pop shows of a pending complaint)."""
    query = (
        select(tickets)
        .where(tickets.c.customer == customer, tickets.c.status != TicketStatus.CLOSED)
        .order_by(tickets.c.updated_at.desc(), tickets.c.id.desc())
        .limit(limit)
    )
    async with store.reading() as conn:
        rows = list((await conn.execute(query)).mappings())
        if not rows:
            return []
        events = await conn.execute(
            select(ticket_events)
            .where(ticket_events.c.ticket_id.in_([row["id"] for row in rows]))
            .order_by(ticket_events.c.at, ticket_events.c.id)
        )
        latest = {
            int(e["ticket_id"]): TicketEvent(
                e["at"], e["actor"], e["action"], e["text"], e["department"], e["assignee"]
            )
            for e in events.mappings()
        }  # in time order: each ticket's last event wins
    return [
        _ticket(row, (latest[int(row["id"])],) if int(row["id"]) in latest else ()) for row in rows
    ]
