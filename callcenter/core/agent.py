"""An agent as the core tracks it: state, what is pending, and today's counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from callcenter.core.spec import AgentSpec, QueueSpec
from callcenter.core.states import AgentState


class MemberCondition(StrEnum):
    """How a member looks to a queue: available, or one of the empty-queue conditions."""

    AVAILABLE = "available"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"
    INUSE = "inuse"
    WRAPUP = "wrapup"


_CONDITION = {
    AgentState.LOGGED_OUT: MemberCondition.UNAVAILABLE,
    AgentState.READY: MemberCondition.AVAILABLE,
    AgentState.PAUSED: MemberCondition.PAUSED,
    AgentState.RINGING: MemberCondition.INUSE,
    AgentState.ON_CALL: MemberCondition.INUSE,
    AgentState.WRAP_UP: MemberCondition.WRAPUP,
}


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """One agent's membership of one queue, merged from both sides of the config."""

    queue: str
    agent: str
    penalty: int
    weight: float
    priority: int  # the agent's ranking of this queue, 1 first
    delay: float
    order: int  # place in the queue's member order
    id_order: int  # place in the queue's members sorted by agent id


@dataclass(eq=False, slots=True)
class Agent:
    spec: AgentSpec
    state: AgentState = AgentState.LOGGED_OUT
    reachable: bool = True
    pause_reason: str = ""
    pending_pause: str = ""  # asked for during a call: applied when it ends
    pending_logout: bool = False
    call: str = ""  # the call offered to or connected with the agent
    queue: str = ""  # ... and its queue
    call_started: float = 0.0
    idle_since: float = 0.0
    state_since: float = 0.0
    calls: int = 0
    talk_time: float = 0.0
    no_answer_streak: int = 0
    memberships: dict[str, MemberInfo] = field(default_factory=dict)
    by_priority: tuple[MemberInfo, ...] = ()  # memberships, the agent's first choice first

    id: str = field(init=False)  # the spec's, kept at hand: read on every decision

    def __post_init__(self) -> None:
        self.id = self.spec.id

    @property
    def available(self) -> bool:
        return self.state is AgentState.READY and self.reachable

    def wrapup_time(self, queue: QueueSpec) -> float:
        """Wrap-up after a call from ``queue``: the agent's own time, else the queue's."""
        return self.spec.wrapup if self.spec.wrapup is not None else queue.wrapup

    @property
    def condition(self) -> MemberCondition:
        if not self.reachable and self.state is not AgentState.ON_CALL:
            return MemberCondition.UNAVAILABLE
        return _CONDITION[self.state]
