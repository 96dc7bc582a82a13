"""Commands: what the routing core asks the adapters to do, as frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callcenter.core.spec import Target
from callcenter.core.states import AgentState, CallState, CallTrigger
from callcenter.core.timers import TimerKey


@dataclass(frozen=True, slots=True)
class Command:
    pass


@dataclass(frozen=True, slots=True)
class StartTimer(Command):
    key: TimerKey
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer(Command):
    key: TimerKey


@dataclass(frozen=True, slots=True)
class Ring(Command):
    """Ring the agent's endpoint for this call; answer comes back as AgentAnswered."""

    call: str
    agent: str
    endpoint: str
    timeout: float
    queue: str
    callback_number: str = ""  # set for a callback: once the agent answers, dial the customer
    accept: bool = False  # offer on the agent's console only: nothing rings until accepted
    accepted: bool = False  # the agent accepted this offer on the console: ring the phone now


@dataclass(frozen=True, slots=True)
class CancelRing(Command):
    """Stop ringing this agent (the caller left, or another agent answered a ringall)."""

    call: str
    agent: str


@dataclass(frozen=True, slots=True)
class Connect(Command):
    """Bridge the caller with the agent who answered (and dial the customer for a callback)."""

    call: str
    agent: str
    queue: str
    record: bool
    callback_number: str = ""


@dataclass(frozen=True, slots=True)
class Announce(Command):
    """Tell a waiting caller the place in line and/or the expected wait."""

    call: str
    position: int | None
    expected_wait: float | None


@dataclass(frozen=True, slots=True)
class PlayPrompt(Command):
    call: str
    prompt: str


@dataclass(frozen=True, slots=True)
class OfferCallback(Command):
    """Tell the caller which key asks for a callback.

    ``ask_number``: the caller has no number; after the key, collect one and send
    ``CallbackRequested`` with it (the core ignores the key alone for this caller).
    """

    call: str
    key: str
    ask_number: bool = False


@dataclass(frozen=True, slots=True)
class ConfirmCallback(Command):
    """The callback is booked: confirm to the caller and hang up; the place is kept."""

    call: str
    number: str


@dataclass(frozen=True, slots=True)
class QueueChanged(Command):
    """The waiting caller now waits in ``queue`` (moved by a supervisor): the adapter
    marks the call for a restart, keeping ``entered``, its first entry time."""

    call: str
    queue: str
    entered: float


class LeaveReason(StrEnum):
    OVERFLOW = "overflow"  # max wait reached
    EXIT_KEY = "exit_key"
    FULL = "full"  # max length reached when joining
    JOIN_EMPTY = "join_empty"
    LEAVE_EMPTY = "leave_empty"
    UNKNOWN_QUEUE = "unknown_queue"


@dataclass(frozen=True, slots=True)
class LeaveQueue(Command):
    """The caller leaves the queue without an agent; send it to ``target`` (None: hang up)."""

    call: str
    queue: str
    reason: LeaveReason
    target: Target | None


@dataclass(frozen=True, slots=True)
class AgentStateChanged(Command):
    """For the bus, the store and the log: ``previous -[cause]-> state``."""

    agent: str
    previous: AgentState
    state: AgentState
    cause: str
    reason: str = ""  # pause reason
    call: str = ""


@dataclass(frozen=True, slots=True)
class CallStateChanged(Command):
    """For the bus (supervisors' view of calls) and the log: ``previous -[trigger]-> state``."""

    call: str
    queue: str
    previous: CallState
    state: CallState
    trigger: CallTrigger


@dataclass(frozen=True, slots=True)
class QueueLog(Command):
    """One line of Asterisk's queue_log: ``time|callid|queue|agent|verb|data1|data2|...``.

    ``call``, ``queue`` and ``agent`` are "NONE" where they do not apply, as in Asterisk.
    ``agent`` is our agent id; the store decides how it is written in the file.
    """

    time: float
    call: str
    queue: str
    agent: str
    verb: str
    data: tuple[str, ...] = ()
