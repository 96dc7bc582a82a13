"""What the store keeps, as plain values: the rows read back, and the fields written."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import TypedDict

from callcenter.core.states import AgentState


class Outcome(StrEnum):
    """How an interaction ended, as far as the caller is concerned (``interactions.outcome``).

    The column is free text, so a newer engine may store other outcomes; the
    reports only single out ``abandoned`` (and use ``answered_at`` for answered).
    """

    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up before an agent answered
    OVERFLOWED = "overflowed"  # max wait reached, sent elsewhere
    EXITED = "exited"  # left the queue with the exit key
    REFUSED = "refused"  # queue full, empty, closed, unknown
    CALLBACK = "callback"  # hung up keeping the place in line
    SELF_SERVICE = "self_service"  # finished in the IVR without queueing
    FAILED = "failed"


class LegResult(StrEnum):
    """How one agent leg (an attempt to reach one agent) ended."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    FAILED = "failed"  # busy, unreachable, rejected
    CANCELLED = "cancelled"  # the caller left, or another agent of a ringall answered


class InteractionFields(TypedDict, total=False):
    """The columns of ``interactions`` besides ``call_id``; every one optional on write.

    ``arrived_at``, ``offered_at`` and ``first_queue`` keep their first value:
    a later write does not move them. ``first_queue`` defaults to the first
    ``queue`` written.
    """

    direction: str
    caller_number: str | None
    caller_name: str | None
    dnis: str | None
    campaign: str | None
    entry_point: str | None
    ivr_path: str | None
    queue: str | None
    first_queue: str | None
    agent: str | None
    arrived_at: float | None
    enqueued_at: float | None
    offered_at: float | None
    answered_at: float | None
    ended_at: float | None
    wrapup_ended_at: float | None
    hold_time: float
    talk_time: float | None
    outcome: str | None
    disposition: str | None
    notes: str | None
    survey_score: int | None
    recording_path: str | None
    transfer_kind: str | None
    transfer_target: str | None
    transferred_at: float | None


INTERACTION_FIELDS = frozenset(InteractionFields.__annotations__)
FIRST_VALUE_FIELDS = frozenset({"arrived_at", "offered_at", "first_queue"})


class CustomerFields(TypedDict, total=False):
    name: str | None
    notes: str | None
    vip: bool
    language: str | None


CUSTOMER_FIELDS = frozenset(CustomerFields.__annotations__)


@dataclass(frozen=True, slots=True)
class Interaction:
    call_id: str
    direction: str = "inbound"
    caller_number: str | None = None
    caller_name: str | None = None
    dnis: str | None = None
    campaign: str | None = None
    entry_point: str | None = None
    ivr_path: str | None = None
    queue: str | None = None
    first_queue: str | None = None
    agent: str | None = None
    arrived_at: float | None = None
    enqueued_at: float | None = None
    offered_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    wrapup_ended_at: float | None = None
    hold_time: float = 0.0
    talk_time: float | None = None
    outcome: str | None = None
    disposition: str | None = None
    notes: str | None = None
    survey_score: int | None = None
    recording_path: str | None = None
    transfer_kind: str | None = None
    transfer_target: str | None = None
    transferred_at: float | None = None


INTERACTION_COLUMNS = tuple(f.name for f in fields(Interaction))


@dataclass(frozen=True, slots=True)
class Leg:
    """One attempt to reach one agent for a call."""

    call_id: str
    agent: str
    offered_at: float
    result: str
    queue: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AgentSession:
    """From login to logout; ``logout_at`` and ``duration`` are None while logged in."""

    agent: str
    login_at: float
    logout_at: float | None
    duration: float | None
    id: int


@dataclass(frozen=True, slots=True)
class AgentStateRecord:
    agent: str
    time: float
    previous: AgentState
    state: AgentState
    cause: str = ""
    reason: str = ""
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class Customer:
    number: str
    name: str | None
    notes: str | None
    vip: bool
    language: str | None
    tags: tuple[str, ...]
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class CustomerNote:
    number: str
    at: float
    author: str
    text: str
