"""The agent's desk as data: what the agent console shows, computed from bus messages.

No Textual here: :class:`Desk` takes the messages on the agent's subtree and the
replies to its commands, and the console renders the result. Tests drive it with
messages alone.

The desk keeps the screen pop of the call in hand from the offer until the agent
leaves wrap-up (the agent fills in the disposition with the caller's details in
view). Hold and mute are flags the engine confirms: they change only when the
engine's reply to ``hold``/``mute`` says ok, never on the key press alone.

The agent's figures for the day are the engine's answer to ``figures``, read from
the store (``callcenter/store/reports.py`` ``agent_day``): they survive a console or
engine restart, and two consoles of one agent agree. The console only asks again
after a state change and now and then; it counts nothing itself.

An offer's pending complaints (``open_tickets``) join the tickets in hand, so a
follow-up or a close acts on the complaint the caller is calling about.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from callcenter.bus.schemas import (
    AgentFigures,
    AgentStateMessage,
    AnyMessage,
    CommandAction,
    OfferMessage,
    Reply,
)
from callcenter.core.states import AgentState

log = logging.getLogger(__name__)

ACTIVITY_LINES = 50
_END_CONSULT = frozenset(
    {CommandAction.COMPLETE_TRANSFER, CommandAction.CANCEL_TRANSFER, CommandAction.CONFERENCE}
)


@dataclass(slots=True)
class Ticket:
    """A complaint ticket as this console knows it (the store keeps the full record)."""

    id: str
    department: str
    status: str
    history: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Desk:
    agent: str
    state: AgentState | None = None  # None: nothing heard from the engine yet
    since: float = 0.0
    reason: str = ""
    call: str = ""
    offer: OfferMessage | None = None
    on_hold: bool = False
    muted: bool = False
    consulting: str = ""  # the attended transfer's target while the agent consults
    figures: AgentFigures | None = None  # None: not heard from the engine yet
    tickets: dict[str, Ticket] = field(default_factory=dict)
    activity: deque[str] = field(default_factory=lambda: deque(maxlen=ACTIVITY_LINES))

    @property
    def logged_in(self) -> bool:
        return self.state is not None and self.state is not AgentState.LOGGED_OUT

    @property
    def in_call(self) -> bool:
        return self.state in (AgentState.RINGING, AgentState.ON_CALL)

    def time_in_state(self, now: float) -> float:
        return max(0.0, now - self.since) if self.state is not None else 0.0

    def apply(self, message: AnyMessage) -> bool:
        """Take one message from the bus; True if the desk changed."""
        if isinstance(message, AgentStateMessage) and message.agent == self.agent:
            return self._state(message)
        if isinstance(message, OfferMessage) and message.agent == self.agent:
            if self.offer is None or self.offer.call != message.call:
                self.on_hold = self.muted = False
                self.consulting = ""
            # The same call again: the engine sends the history once the store answered.
            self.offer = message
            for pending in reversed(message.open_tickets):  # the latest changed ends last
                entry = f"{pending.last_action}: {pending.last_text}" if pending.last_text else ""
                ticket = self.tickets.setdefault(
                    str(pending.ticket), Ticket(str(pending.ticket), pending.department, "")
                )
                ticket.status = pending.status
                if entry and (not ticket.history or ticket.history[-1] != entry):
                    ticket.history.append(entry)
            return True
        return False

    def _state(self, message: AgentStateMessage) -> bool:
        if message.state is self.state and message.since == self.since:
            return False  # the retained copy again, after a reconnect
        if message.previous is AgentState.RINGING and message.state in (
            AgentState.READY,
            AgentState.PAUSED,
        ):
            self.offer = None  # the offer went elsewhere
        self.state, self.since = message.state, message.since
        self.reason, self.call = message.reason, message.call
        if message.state not in (AgentState.RINGING, AgentState.ON_CALL):
            self.on_hold = self.muted = False
            self.consulting = ""
        if message.state in (AgentState.READY, AgentState.PAUSED, AgentState.LOGGED_OUT):
            self.offer = None
        return True

    def replied(self, action: CommandAction, params: Mapping[str, object], reply: Reply) -> None:
        """Record the engine's answer to a command this console sent."""
        if not reply.ok:
            return
        if action is CommandAction.HOLD:
            self.on_hold = True
        elif action is CommandAction.RESUME:
            self.on_hold = False
        elif action is CommandAction.MUTE:
            self.muted = True
        elif action is CommandAction.UNMUTE:
            self.muted = False
        elif action is CommandAction.TRANSFER and params.get("attended"):
            self.consulting = str(params.get("target", ""))
        elif action in _END_CONSULT:
            self.consulting = ""
        elif action is CommandAction.TICKET:
            self._ticket(params, reply)
        elif action is CommandAction.FIGURES:
            try:
                self.figures = AgentFigures.model_validate(reply.data)
            except ValidationError as error:  # an engine this console does not understand
                log.warning("figures reply not understood: %s", error)

    def _ticket(self, params: Mapping[str, object], reply: Reply) -> None:
        ticket_id = str(reply.data.get("ticket", params.get("ticket", "")))
        if not ticket_id:
            return
        op = str(params.get("op", ""))
        department = str(reply.data.get("department", params.get("department", "")))
        status = str(reply.data.get("status", "open"))
        ticket = self.tickets.setdefault(ticket_id, Ticket(ticket_id, department, status))
        ticket.status = status
        if department:
            ticket.department = department
        text = str(params.get("text", ""))
        ticket.history.append(f"{op}: {text}" if text else op)

    def note(self, line: str) -> None:
        self.activity.appendleft(line)
