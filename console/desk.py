"""The agent's desk as data: what the agent console shows, computed from bus messages.

No Textual here: :class:`Desk` takes the messages on the agent's subtree and the
replies to its commands, and the console renders the result. Tests drive it with
messages alone.

The desk keeps the screen pop of the call in hand from the offer until the agent
leaves wrap-up (the agent fills in the disposition with the caller's details in
view). Hold and mute are flags the engine confirms: they change only when the
engine's reply to ``hold``/``mute`` says ok, never on the key press alone.

The agent's figures for the day are counted from the state changes this console
has seen (``since`` stamps from the engine, not the console's clock); a console
started mid-shift counts from then on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from callcenter.bus.schemas import AgentStateMessage, AnyMessage, CommandAction, OfferMessage, Reply
from callcenter.core.states import AgentState

ACTIVITY_LINES = 50
_END_CONSULT = frozenset(
    {CommandAction.COMPLETE_TRANSFER, CommandAction.CANCEL_TRANSFER, CommandAction.CONFERENCE}
)


@dataclass(slots=True)
class DayFigures:
    calls: int = 0
    talk_time: float = 0.0
    pause_time: float = 0.0
    missed: int = 0

    @property
    def average_talk(self) -> float:
        return self.talk_time / self.calls if self.calls else 0.0


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
    figures: DayFigures = field(default_factory=DayFigures)
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
            return True
        return False

    def _state(self, message: AgentStateMessage) -> bool:
        if message.state is self.state and message.since == self.since:
            return False  # the retained copy again, after a reconnect
        previous, entered = self.state, self.since
        if previous is AgentState.ON_CALL and message.state is not AgentState.ON_CALL:
            self.figures.talk_time += max(0.0, message.since - entered)
        if previous is AgentState.PAUSED and message.state is not AgentState.PAUSED:
            self.figures.pause_time += max(0.0, message.since - entered)
        if message.state is AgentState.ON_CALL and previous is not AgentState.ON_CALL:
            self.figures.calls += 1
        if message.previous is AgentState.RINGING and message.state in (
            AgentState.READY,
            AgentState.PAUSED,
        ):
            if message.cause in ("no_answer", "auto_pause"):
                self.figures.missed += 1
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
