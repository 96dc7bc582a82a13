"""Complaint tickets, scheduled callbacks and wrap-up records, on both backends."""

from __future__ import annotations

import pytest

from callcenter.bus.schemas import AgentCommand, CommandAction
from callcenter.store import Store
from callcenter.store.desk_requests import handle_desk_command
from callcenter.store.tickets import (
    TicketError,
    TicketStatus,
    assign_ticket,
    close_ticket,
    create_ticket,
    due_callbacks,
    finish_callback,
    follow_up,
    get_ticket,
    list_tickets,
    reopen_ticket,
    schedule_callback,
)

NOW = 1_795_753_044.0
HOSTILE = "[bold]x[/] O'Brien \"VIP\" 张'; DROP TABLE tickets; --"
DEPARTMENTS = {"quality", "logistics"}


async def test_ticket_life_with_history(store: Store) -> None:
    ticket_id = await create_ticket(
        store, department="quality", summary=HOSTILE, actor="1001", at=NOW,
        call_id="c1", customer="13800138000",
    )  # fmt: skip
    await assign_ticket(store, ticket_id, department="logistics", assignee="wang", actor="1001",
                        at=NOW + 10, text="courier damaged it")  # fmt: skip
    await follow_up(store, ticket_id, text="customer called again", actor="1002", at=NOW + 20)
    await close_ticket(store, ticket_id, text="replacement sent", actor="1002", at=NOW + 30)
    ticket = await get_ticket(store, ticket_id)
    assert ticket is not None
    assert ticket.summary == HOSTILE  # verbatim, and the table is still there
    assert (ticket.status, ticket.department, ticket.assignee) == (
        TicketStatus.CLOSED, "logistics", "wang",
    )  # fmt: skip
    assert ticket.closed_at == NOW + 30
    assert [(e.action, e.actor, e.at) for e in ticket.history] == [
        ("create", "1001", NOW),
        ("assign", "1001", NOW + 10),
        ("note", "1002", NOW + 20),
        ("close", "1002", NOW + 30),
    ]
    assert ticket.history[1].department == "logistics"
    with pytest.raises(TicketError, match="closed"):
        await follow_up(store, ticket_id, text="late", actor="1001", at=NOW + 40)
    await reopen_ticket(store, ticket_id, text="not received", actor="1001", at=NOW + 50)
    reopened = await get_ticket(store, ticket_id)
    assert reopened is not None
    assert reopened.status is TicketStatus.OPEN
    assert reopened.closed_at is None
    assert len(reopened.history) == 5


async def test_list_tickets_filters_newest_first(store: Store) -> None:
    first = await create_ticket(store, department="quality", summary="a", actor="1001", at=NOW,
                                customer="1")  # fmt: skip
    second = await create_ticket(store, department="logistics", summary="b", actor="1001",
                                 at=NOW + 1, customer="1")  # fmt: skip
    await close_ticket(store, first, text="done", actor="1001", at=NOW + 2)
    assert [t.id for t in await list_tickets(store)] == [second, first]
    assert [t.id for t in await list_tickets(store, status=TicketStatus.OPEN)] == [second]
    assert [t.id for t in await list_tickets(store, department="quality")] == [first]
    assert await list_tickets(store, customer="2") == []
    with pytest.raises(TicketError, match="no ticket"):
        await follow_up(store, 999_999, text="x", actor="1001", at=NOW)


async def test_scheduled_callbacks(store: Store) -> None:
    early = await schedule_callback(store, number="13800138000", agent="1001", due_at=NOW + 60,
                                    at=NOW, notes=HOSTILE, call_id="c1")  # fmt: skip
    late = await schedule_callback(store, number="13900139000", agent="1002", due_at=NOW + 600,
                                   at=NOW)  # fmt: skip
    assert [c.id for c in await due_callbacks(store, until=NOW + 60)] == [early]
    assert [c.id for c in await due_callbacks(store, until=NOW + 600)] == [early, late]
    assert [c.id for c in await due_callbacks(store, until=NOW + 600, agent="1002")] == [late]
    assert (await due_callbacks(store, until=NOW + 60))[0].notes == HOSTILE
    assert await finish_callback(store, early, at=NOW + 70)
    assert not await finish_callback(store, early, at=NOW + 80)
    assert [c.id for c in await due_callbacks(store, until=NOW + 600)] == [late]


def _command(action: CommandAction, **params: str | int | float) -> AgentCommand:
    return AgentCommand(request_id="r1", action=action, params=params)


async def test_desk_commands_from_the_console(store: Store) -> None:
    reply = await handle_desk_command(
        store, "1001", _command(CommandAction.TICKET, op="create", department="quality",
                                text=HOSTILE),
        now=NOW, departments=DEPARTMENTS, call_id="c1", customer="13800138000",
    )  # fmt: skip
    assert reply.ok, reply.error
    ticket_id = reply.data["ticket"]
    assert reply.data["status"] == "open"
    reply = await handle_desk_command(
        store, "1001", _command(CommandAction.TICKET, op="note", ticket=str(ticket_id),
                                text="called back"),
        now=NOW + 5, departments=DEPARTMENTS,
    )  # fmt: skip
    assert reply.ok
    assert reply.data["events"] == 2
    ticket = await get_ticket(store, int(ticket_id))
    assert ticket is not None
    assert ticket.call_id == "c1"
    assert ticket.customer == "13800138000"
    reply = await handle_desk_command(
        store, "1001", _command(CommandAction.SCHEDULE_CALLBACK, number="13800138000",
                                at=NOW + 3600, notes="after 5pm"),
        now=NOW, departments=DEPARTMENTS, call_id="c1",
    )  # fmt: skip
    assert reply.ok
    assert [c.id for c in await due_callbacks(store, until=NOW + 3600)] == [reply.data["callback"]]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"op": "create", "department": "nowhere", "text": "x"}, "unknown department"),
        ({"op": "create", "department": "quality"}, "'text' is required"),
        ({"op": "note", "ticket": "abc", "text": "x"}, "ticket number"),
        ({"op": "explode", "ticket": "1"}, "unknown ticket operation"),
        ({"op": "note", "ticket": "424242", "text": "x"}, "no ticket"),
    ],
)
async def test_bad_desk_commands_are_refused_with_a_reason(
    store: Store, params: dict[str, str], error: str
) -> None:
    reply = await handle_desk_command(
        store, "1001", _command(CommandAction.TICKET, **params), now=NOW, departments=DEPARTMENTS
    )
    assert not reply.ok
    assert reply.error is not None
    assert error in reply.error
    assert await list_tickets(store) == []
