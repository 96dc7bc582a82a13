"""Bus message schemas (pydantic v2), one per topic kind, built from the core's commands.

Rules every message follows:

- ``v`` is the schema version (:data:`SCHEMA_VERSION`); a message with another
  version is rejected, not guessed at.
- Unknown fields are rejected (``extra="forbid"``), so a typo is an error.
- Payloads are UTF-8 JSON, at most :data:`MAX_PAYLOAD_BYTES`; the size is checked
  before parsing, so an oversized payload costs nothing to refuse.
- Text that comes from a caller (caller ID name, notes, tags) is a plain ``str``:
  stored and sent verbatim, length-limited, never interpreted. A console must
  show it literally (no markup); see issue 6.
- Commands carry a ``request_id``; the engine answers each on
  ``cc/v1/agents/{agent}/reply/{request_id}`` with a :class:`Reply` (``ok`` and,
  when not ok, an ``error``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_serializer,
    model_validator,
)

from callcenter.bus.topics import Topic, TopicKind
from callcenter.core.commands import AgentStateChanged, CallStateChanged, Connect, QueueLog, Ring
from callcenter.core.queue import QueueStats
from callcenter.core.states import AgentState, CallState, CallTrigger

SCHEMA_VERSION: Literal[1] = 1
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_TEXT = 2000  # notes, caller name, error messages
MAX_LIST = 100

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$")]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Short = Annotated[str, StringConstraints(max_length=128)]
Scalar = Annotated[str, StringConstraints(max_length=MAX_TEXT)] | int | float | bool


class MessageError(ValueError):
    """A payload that is not a valid message (too big, not JSON, wrong shape)."""


class BusMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = SCHEMA_VERSION


class AgentStateMessage(BusMessage):
    """Retained on ``agents/{agent}/state``: the agent's state and since when."""

    agent: Id
    state: AgentState
    previous: AgentState
    cause: Short = ""
    reason: Short = ""  # pause reason
    call: Id | Literal[""] = ""
    since: float  # epoch seconds the agent entered ``state``


class PastContact(BaseModel):
    """One earlier interaction of the same caller, for the screen pop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    call: Id
    at: float
    queue: Short = ""
    agent: Short = ""
    disposition: Short = ""
    notes: Text = ""  # an agent's words about a caller: show literally


class OpenTicket(BaseModel):
    """One of the caller's complaint tickets not closed yet, for the screen pop: the agent
    sees a pending complaint before answering (``callcenter/store/tickets.py``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ticket: Annotated[int, Field(ge=1)]
    department: Short
    status: Short  # open | assigned
    updated_at: float
    last_action: Short = ""  # create | assign | note | reopen
    last_text: Text = ""  # the latest entry's words (an agent's or caller's): show literally


class OfferMessage(BusMessage):
    """On ``agents/{agent}/offer``: a call offered to the agent, with the screen pop."""

    call: Id
    agent: Id
    queue: Id
    timeout: float
    offered_at: float
    callback_number: Short = ""
    caller_number: Short = ""
    caller_name: Text = ""  # caller-supplied: show literally
    vip: bool = False
    tags: Annotated[list[Short], Field(max_length=MAX_LIST)] = []
    ivr_path: Annotated[list[Short], Field(max_length=MAX_LIST)] = []
    waited: float = 0.0
    customer_notes: Text = ""  # the customer record's notes: show literally
    history: Annotated[list[PastContact], Field(max_length=20)] = []  # newest first
    history_pending: bool = False  # the store was slow: this call's offer follows with it
    accept: bool = False  # the queue asks the agent to accept (answer) here: the phone rings then
    # Added within v1: sent only when there are some, so a console that predates the field
    # (extra="forbid") still reads every offer of a caller without a pending complaint.
    open_tickets: Annotated[list[OpenTicket], Field(max_length=10)] = []  # newest change first

    @model_serializer(mode="wrap")
    def _without_empty_additions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not data.get("open_tickets"):
            data.pop("open_tickets", None)
        return data


class CommandAction(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    ANSWER = "answer"
    HANGUP = "hangup"
    HOLD = "hold"
    RESUME = "resume"
    MUTE = "mute"
    UNMUTE = "unmute"
    TRANSFER = "transfer"
    CONFERENCE = "conference"
    DTMF = "dtmf"
    WRAP_UP = "wrap_up"  # params: disposition, notes
    RESYNC = "resync"
    COMPLETE_TRANSFER = "complete_transfer"
    CANCEL_TRANSFER = "cancel_transfer"
    TICKET = "ticket"  # params: op (create|assign|note|close), ticket, department, text
    SCHEDULE_CALLBACK = "schedule_callback"  # params: number, at (epoch s), notes
    FIGURES = "figures"  # the agent's own day from the store: reply data is AgentFigures


class AgentCommand(BusMessage):
    """On ``agents/{agent}/cmd``: a console asks the engine to act for that agent.

    The acting agent is the one in the topic, never a field of the payload.
    """

    request_id: Id
    action: CommandAction
    params: Annotated[dict[Short, Scalar], Field(max_length=32)] = {}


class Reply(BusMessage):
    """On ``agents/{agent}/reply/{request_id}``: the engine's answer to one command."""

    request_id: Id
    ok: bool
    error: Text | None = None
    data: Annotated[dict[Short, Scalar], Field(max_length=32)] = {}

    @model_validator(mode="after")
    def _error_iff_not_ok(self) -> Reply:
        if self.ok and self.error is not None:
            raise ValueError("a successful reply carries no error")
        if not self.ok and not self.error:
            raise ValueError("a failed reply says why in 'error'")
        return self


class AgentFigures(BaseModel):
    """The agent's own figures for the day (``callcenter/store/reports.py`` ``agent_day``),
    carried as the ``data`` of the reply to ``figures``. Read from the store, so they
    survive a console or engine restart. Durations in seconds."""

    # A newer engine may add figures: an older console shows the ones it knows.
    model_config = ConfigDict(frozen=True, extra="ignore")

    start: float  # the day's start (the engine's local midnight), epoch seconds
    end: float  # when counted
    calls: Annotated[int, Field(ge=0)] = 0  # answered
    offers: Annotated[int, Field(ge=0)] = 0
    missed: Annotated[int, Field(ge=0)] = 0  # offers that rang out unanswered
    talk_time: Annotated[float, Field(ge=0)] = 0.0
    wrap_up_time: Annotated[float, Field(ge=0)] = 0.0
    pause_time: Annotated[float, Field(ge=0)] = 0.0
    logged_in_time: Annotated[float, Field(ge=0)] = 0.0

    @property
    def average_handle(self) -> float:
        """(talk + wrap-up) per answered call; 0 before the first."""
        return (self.talk_time + self.wrap_up_time) / self.calls if self.calls else 0.0

    def as_data(self) -> dict[str, Scalar]:
        return dict(self.model_dump())


class SupervisorAction(StrEnum):
    MONITOR = "monitor"  # params: agent, mode (listen|whisper|barge), endpoint
    STOP_MONITOR = "stop_monitor"
    FORCE_PAUSE = "force_pause"  # params: agent, reason
    FORCE_LOGOUT = "force_logout"  # params: agent
    MOVE_CALL = "move_call"  # params: call, queue
    SET_PRIORITY = "set_priority"  # params: call, priority


class SupervisorCommand(BusMessage):
    """On ``supervisors/{sup}/cmd``: a supervisor console asks the engine to act.

    The acting supervisor is the one in the topic; the broker lets only that user
    publish there. The engine answers with a :class:`Reply` on ``supervisors/{sup}/reply/{id}``.
    """

    request_id: Id
    action: SupervisorAction
    params: Annotated[dict[Short, Scalar], Field(max_length=32)] = {}


class AgentCounts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ready: int = 0
    busy: int = 0  # ringing or on a call
    paused: int = 0
    wrap_up: int = 0


class QueueStatsMessage(BusMessage):
    """Retained on ``queues/{queue}/stats``: what a wallboard shows for one queue."""

    queue: Id
    at: float
    waiting: int
    longest_wait: float
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    average_speed_of_answer: float | None
    agents: AgentCounts = AgentCounts()


class CallStateEvent(BusMessage):
    kind: Literal["state"] = "state"
    call: Id
    queue: Id
    previous: CallState
    state: CallState
    trigger: CallTrigger
    at: float


class CallRingEvent(BusMessage):
    kind: Literal["ring"] = "ring"
    call: Id
    queue: Id
    agent: Id
    at: float


class CallConnectEvent(BusMessage):
    kind: Literal["connect"] = "connect"
    call: Id
    queue: Id
    agent: Id
    record: bool
    at: float


CallEvent: TypeAlias = Annotated[
    CallStateEvent | CallRingEvent | CallConnectEvent, Field(discriminator="kind")
]
"""On ``calls/{call}/events``: the call's life, for supervisors."""


class AlertMessage(BusMessage):
    """On ``alerts``: something a supervisor should look at now."""

    kind: Literal["service_level", "surge"]
    queue: Id
    text: Text
    value: float | None = None
    target: float | None = None
    at: float


# --- from the core's commands ---------------------------------------------------


def agent_state_message(change: AgentStateChanged, now: float) -> AgentStateMessage:
    return AgentStateMessage(
        agent=change.agent,
        state=change.state,
        previous=change.previous,
        cause=change.cause,
        reason=change.reason,
        call=change.call,
        since=now,
    )


def offer_message(ring: Ring, now: float, **screen_pop: Any) -> OfferMessage:
    """The offer for ``ring``; ``screen_pop`` adds caller details (validated too)."""
    return OfferMessage(
        call=ring.call,
        agent=ring.agent,
        queue=ring.queue,
        timeout=ring.timeout,
        offered_at=now,
        callback_number=ring.callback_number,
        accept=ring.accept,
        **screen_pop,
    )


def call_state_event(change: CallStateChanged, now: float) -> CallStateEvent:
    return CallStateEvent(
        call=change.call,
        queue=change.queue,
        previous=change.previous,
        state=change.state,
        trigger=change.trigger,
        at=now,
    )


def call_join_event(enter: QueueLog) -> CallStateEvent:
    """A caller entered a queue (its ENTERQUEUE line), at its entry time: a restored
    caller's original one. Not a transition in the core (a caller enters waiting), so
    ``waiting -[join]-> waiting``: the supervisors' waiting list starts from it."""
    return CallStateEvent(
        call=enter.call,
        queue=enter.queue,
        previous=CallState.WAITING,
        state=CallState.WAITING,
        trigger=CallTrigger.JOIN,
        at=enter.time,
    )


def call_ring_event(ring: Ring, now: float) -> CallRingEvent:
    return CallRingEvent(call=ring.call, queue=ring.queue, agent=ring.agent, at=now)


def call_connect_event(connect: Connect, now: float) -> CallConnectEvent:
    return CallConnectEvent(
        call=connect.call, queue=connect.queue, agent=connect.agent, record=connect.record, at=now
    )


def queue_stats_message(
    queue: str,
    stats: QueueStats,
    now: float,
    *,
    waiting: int = 0,
    longest_wait: float = 0.0,
    agents: AgentCounts | None = None,
) -> QueueStatsMessage:
    return QueueStatsMessage(
        queue=queue,
        at=now,
        waiting=waiting,
        longest_wait=longest_wait,
        offered=stats.offered,
        answered=stats.answered,
        abandoned=stats.abandoned,
        service_level=stats.service_level,
        average_speed_of_answer=stats.average_speed_of_answer,
        agents=agents or AgentCounts(),
    )


# --- wire format ------------------------------------------------------------------

AnyMessage: TypeAlias = (
    AgentStateMessage
    | OfferMessage
    | AgentCommand
    | SupervisorCommand
    | Reply
    | QueueStatsMessage
    | CallStateEvent
    | CallRingEvent
    | CallConnectEvent
    | AlertMessage
)

_ADAPTERS: dict[TopicKind, TypeAdapter[Any]] = {
    TopicKind.AGENT_STATE: TypeAdapter(AgentStateMessage),
    TopicKind.AGENT_OFFER: TypeAdapter(OfferMessage),
    TopicKind.AGENT_CMD: TypeAdapter(AgentCommand),
    TopicKind.AGENT_REPLY: TypeAdapter(Reply),
    TopicKind.QUEUE_STATS: TypeAdapter(QueueStatsMessage),
    TopicKind.CALL_EVENTS: TypeAdapter(CallEvent),
    TopicKind.ALERTS: TypeAdapter(AlertMessage),
    TopicKind.SUPERVISOR_CMD: TypeAdapter(SupervisorCommand),
    TopicKind.SUPERVISOR_REPLY: TypeAdapter(Reply),
}


def encode(message: BusMessage) -> bytes:
    payload = message.model_dump_json().encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageError(f"message of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    return payload


def decode(topic: Topic, payload: bytes) -> AnyMessage:
    """The message on ``topic``; raises :class:`MessageError` if ``payload`` is not one."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        message: AnyMessage = _ADAPTERS[topic.kind].validate_json(payload)
    except ValidationError as error:
        raise MessageError(
            f"invalid {topic.kind} payload: {error.error_count()} error(s): "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3])
        ) from None
    if topic.agent and getattr(message, "agent", topic.agent) != topic.agent:
        raise MessageError(f"payload for agent {message.agent!r} on {topic.agent!r}'s topic")  # type: ignore[union-attr]
    if topic.request_id and isinstance(message, Reply) and message.request_id != topic.request_id:
        raise MessageError("reply's request_id differs from its topic's")
    return message
