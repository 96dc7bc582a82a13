"""The agent console's record-keeping commands, turned into store writes.

The console talks only to the bus; the engine receives ``ticket``,
``schedule_callback`` and the record part of ``wrap_up`` on the agent's command
topic and hands them here with the agent the topic names (never a payload field).
The answer goes back in the :class:`~callcenter.bus.schemas.Reply`'s ``data``.

Param checks happen here, not in the console: the console is not trusted (a
hand-made MQTT client can send anything its ACL allows), so a bad department, a
missing text or a ticket id that is not a number is refused with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from callcenter.bus.schemas import AgentCommand, CommandAction, Reply
from callcenter.store.store import Store
from callcenter.store.tickets import (
    TicketError,
    assign_ticket,
    close_ticket,
    create_ticket,
    follow_up,
    get_ticket,
    schedule_callback,
)

log = logging.getLogger(__name__)

DESK_ACTIONS = frozenset({CommandAction.TICKET, CommandAction.SCHEDULE_CALLBACK})
MAX_CALLBACK_AHEAD = 30 * 86400.0


class DeskRequestError(ValueError):
    pass


def _text(params: Mapping[str, object], key: str, *, required: bool = False) -> str:
    value = params.get(key, "")
    if not isinstance(value, str):
        raise DeskRequestError(f"'{key}' must be text")
    if required and not value.strip():
        raise DeskRequestError(f"'{key}' is required")
    return value


def _ticket_id(params: Mapping[str, object]) -> int:
    value = params.get("ticket")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise DeskRequestError("'ticket' must be a ticket number")
    return int(value)


async def handle_desk_command(
    store: Store,
    agent: str,
    command: AgentCommand,
    *,
    now: float,
    departments: Collection[str],
    call_id: str | None = None,
    customer: str | None = None,
) -> Reply:
    """Carry out a ``ticket`` or ``schedule_callback`` command for ``agent``.

    ``call_id`` and ``customer`` are the agent's current (or last wrapped-up) call as
    the engine knows it: a ticket is tied to that call, whatever the payload says.
    """
    params = command.params
    try:
        if command.action is CommandAction.SCHEDULE_CALLBACK:
            number = _text(params, "number", required=True) or (customer or "")
            due = params.get("at")
            if isinstance(due, bool) or not isinstance(due, int | float):
                raise DeskRequestError("'at' must be a time (epoch seconds)")
            if not now < due <= now + MAX_CALLBACK_AHEAD:
                raise DeskRequestError("'at' must be in the next 30 days")
            callback = await schedule_callback(
                store, number=number, agent=agent, due_at=float(due), at=now,
                notes=_text(params, "notes"), call_id=call_id,
            )  # fmt: skip
            return Reply(request_id=command.request_id, ok=True, data={"callback": callback})
        if command.action is not CommandAction.TICKET:
            raise DeskRequestError(f"not a desk command: {command.action}")
        op = _text(params, "op", required=True)
        if op == "create":
            department = _text(params, "department", required=True)
            if department not in departments:
                raise DeskRequestError(f"unknown department {department!r}")
            ticket_id = await create_ticket(
                store, department=department, summary=_text(params, "text", required=True),
                actor=agent, at=now, call_id=call_id, customer=customer,
            )  # fmt: skip
        else:
            ticket_id = _ticket_id(params)
            text = _text(params, "text")
            if op == "assign":
                department = _text(params, "department", required=True)
                if department not in departments:
                    raise DeskRequestError(f"unknown department {department!r}")
                await assign_ticket(
                    store, ticket_id, department=department, actor=agent, at=now, text=text,
                    assignee=_text(params, "assignee") or None,
                )  # fmt: skip
            elif op == "note":
                await follow_up(store, ticket_id, text=text, actor=agent, at=now)
            elif op == "close":
                await close_ticket(store, ticket_id, text=text, actor=agent, at=now)
            else:
                raise DeskRequestError(f"unknown ticket operation {op!r}")
        ticket = await get_ticket(store, ticket_id)
        if ticket is None:  # deleted between the write and this read
            raise TicketError(f"no ticket {ticket_id}")
        data: dict[str, str | int | float | bool] = {
            "ticket": ticket.id,
            "status": str(ticket.status),
            "department": ticket.department,
            "events": len(ticket.history),
        }
        return Reply(request_id=command.request_id, ok=True, data=data)
    except (DeskRequestError, TicketError) as error:
        log.info("desk: refused %s from agent %s: %s", command.action, agent, error)
        return Reply(request_id=command.request_id, ok=False, error=str(error))
