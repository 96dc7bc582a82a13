"""Events: everything that happens to the routing core, as frozen values.

Each event carries ``now`` (seconds on the engine's clock: wall time in the
engine, virtual time in simulations), so the core never reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from callcenter.core.expression import Value
from callcenter.core.spec import RoutingSpec
from callcenter.core.timers import TimerKey


@dataclass(frozen=True, slots=True)
class Event:
    now: float


@dataclass(frozen=True, slots=True)
class ConfigLoaded(Event):
    """A (new) configuration takes effect; waiting callers keep their order."""

    spec: RoutingSpec


@dataclass(frozen=True, slots=True)
class AgentLoggedIn(Event):
    agent: str
    pause_reason: str | None = None  # log in paused


@dataclass(frozen=True, slots=True)
class AgentLoggedOut(Event):
    agent: str


@dataclass(frozen=True, slots=True)
class AgentPaused(Event):
    """Pause now, or after the current call and its wrap-up when on one."""

    agent: str
    reason: str


@dataclass(frozen=True, slots=True)
class AgentUnpaused(Event):
    agent: str


@dataclass(frozen=True, slots=True)
class AgentReachabilityChanged(Event):
    """The agent's phone registered or went away (endpoint / device state)."""

    agent: str
    reachable: bool


@dataclass(frozen=True, slots=True)
class CallEnqueued(Event):
    """A caller asks to join a queue (from the IVR, the dialplan or a transfer).

    ``agent``: the caller asked for this agent (an ``agent:ID`` target): only that agent
    is offered the caller for ``agent_wait`` seconds, while it is busy or paused too; after
    that, or at once when the agent is logged out, unreachable or not a member of
    ``queue``, any agent of the queue takes the caller, which keeps its place in line.

    Restoring after a restart: ``entered`` is the original entry time (the ENTERQUEUE line
    is stamped with it); ``callback_number`` a booked callback, which joins waiting for
    its call back (no confirmation, no INFO line again: both were made when it was booked).
    """

    call: str
    queue: str
    caller_number: str = ""
    attributes: Mapping[str, Value] = field(default_factory=dict)
    priority: int = 0
    position: int | None = None  # 1-based place to insert at (behind higher priorities)
    entered: float | None = None  # original entry time, when restoring after a restart
    callback_number: str = ""  # a booked callback, when restoring after a restart
    agent: str = ""  # for this agent only, for ``agent_wait`` seconds
    agent_wait: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentAnswered(Event):
    call: str
    agent: str


@dataclass(frozen=True, slots=True)
class AgentAccepted(Event):
    """The agent accepts, on the console, a call offered by a queue with ``accept``: now
    their phone rings (``Ring.accepted``). Refused when no such offer waits for them."""

    call: str
    agent: str


@dataclass(frozen=True, slots=True)
class AgentNoAnswer(Event):
    """The agent's phone rang out or was declined."""

    call: str
    agent: str


@dataclass(frozen=True, slots=True)
class RingFailed(Event):
    """The agent could not be rung at all (phone unreachable, busy, originate refused).

    ``caller_unreachable``: the fault is on the caller's side, not the agent's (the
    Asterisk server the caller is on cannot be reached): the caller keeps its place but
    is not offered again before a pause (`UNREACHABLE_RETRY`), so the agents take the
    callers behind it instead of failing on it round after round.
    """

    call: str
    agent: str
    reason: str = ""
    caller_unreachable: bool = False


@dataclass(frozen=True, slots=True)
class CallerHungUp(Event):
    call: str


@dataclass(frozen=True, slots=True)
class AgentHungUp(Event):
    call: str
    agent: str


@dataclass(frozen=True, slots=True)
class CallTransferred(Event):
    """The connected agent handed the caller on and left the call: the agent's part ends
    as a transfer (queue_log BLINDTRANSFER / ATTENDEDTRANSFER, not COMPLETEAGENT) and
    wrap-up follows. What becomes of the caller is the adapter's (a transfer to a queue
    sends ``CallEnqueued`` for the same call next).

    Blind: ``exten`` and ``context`` say where the caller went (app_queue's fields): a
    number and the outbound context, or a queue / agent id and ``"queue"`` / ``"agent"``.
    Attended: ``bridge`` is the bridge the caller now shares with the target.
    """

    call: str
    agent: str
    exten: str = ""
    context: str = ""
    attended: bool = False
    bridge: str = ""


@dataclass(frozen=True, slots=True)
class DtmfPressed(Event):
    """A key pressed by a waiting caller (exit key, callback acceptance)."""

    call: str
    digit: str


@dataclass(frozen=True, slots=True)
class CallbackRequested(Event):
    """The caller asked to be called back at ``number`` and keeps the place in line."""

    call: str
    number: str


@dataclass(frozen=True, slots=True)
class CallerPriorityChanged(Event):
    """A supervisor raises or lowers a waiting caller's priority."""

    call: str
    priority: int


@dataclass(frozen=True, slots=True)
class CallerMoved(Event):
    """A supervisor moves a waiting caller (or a booked callback) to another queue.

    app_queue cannot move a caller; the core keeps the caller's original entry time, so
    the caller takes its place in the new line by priority and *first* entry (nobody is
    sent to the back for a supervisor's decision) and every wait it reports counts from
    that first entry. queue_log: ``INFO|MOVED|<queue>`` and ``EXITWITHKEY`` with no key in
    the old queue (what a dialplan that moves callers with an exit key writes, so every
    ENTERQUEUE keeps its end), then ``ENTERQUEUE`` in the new one.
    """

    call: str
    queue: str


@dataclass(frozen=True, slots=True)
class WrapUpFinished(Event):
    """The agent ends wrap-up early (or on time, from the console)."""

    agent: str


@dataclass(frozen=True, slots=True)
class DispositionSet(Event):
    call: str
    agent: str
    code: str


@dataclass(frozen=True, slots=True)
class TimerFired(Event):
    key: TimerKey
