"""The supervisor's wallboard as data: queues, agents, waiting callers, alerts.

Built for a storm: a floor of 1,000 agents and 100 queues sends thousands of
messages a second. :meth:`Wallboard.apply` only stores the latest message per
queue or agent and marks it dirty; the console redraws the dirty rows a few times
a second (:meth:`Wallboard.take_dirty`), so a queue whose stats changed ten times
between two frames costs one row update, and an unchanged agent costs nothing.

Service-level alerts are raised here too, from the queue's own target in the
configuration (``service_level_target``), once when a queue falls below it and
again only after it has recovered: a wallboard that repeats an alert every frame
gets ignored. The engine's own alerts (``cc/v1/alerts``) are listed as they come.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from callcenter.bus.schemas import (
    AgentStateMessage,
    AlertMessage,
    AnyMessage,
    CallConnectEvent,
    CallStateEvent,
    QueueStatsMessage,
)
from callcenter.core.states import AgentState, CallState

ALERT_LINES = 100
DEFAULT_TARGET = 0.8


@dataclass(slots=True)
class AgentRow:
    agent: str
    state: AgentState
    since: float
    reason: str = ""
    call: str = ""
    calls: int = 0  # calls answered since this wallboard started


@dataclass(slots=True)
class WaitingCall:
    call: str
    queue: str
    since: float


@dataclass(frozen=True, slots=True)
class Alert:
    at: float
    queue: str
    kind: str
    value: float | None
    target: float | None
    text: str = ""  # the engine's words, for engine alerts


@dataclass(slots=True)
class Wallboard:
    targets: Mapping[str, float] = field(default_factory=dict)
    queues: dict[str, QueueStatsMessage] = field(default_factory=dict)
    agents: dict[str, AgentRow] = field(default_factory=dict)
    waiting: dict[str, WaitingCall] = field(default_factory=dict)
    alerts: deque[Alert] = field(default_factory=lambda: deque(maxlen=ALERT_LINES))
    below_target: set[str] = field(default_factory=set)
    dirty_queues: set[str] = field(default_factory=set)
    dirty_agents: set[str] = field(default_factory=set)
    waiting_changed: bool = False
    alerts_changed: bool = False

    def target(self, queue: str) -> float:
        return self.targets.get(queue, DEFAULT_TARGET)

    def apply(self, message: AnyMessage) -> None:
        if isinstance(message, AgentStateMessage):
            self._agent(message)
        elif isinstance(message, QueueStatsMessage):
            self._queue(message)
        elif isinstance(message, CallStateEvent):
            self._call(message)
        elif isinstance(message, CallConnectEvent):
            if self.waiting.pop(message.call, None) is not None:
                self.waiting_changed = True
        elif isinstance(message, AlertMessage):
            alert = Alert(message.at, message.queue, message.kind, message.value,
                          message.target, message.text)  # fmt: skip
            self.alerts.appendleft(alert)
            self.alerts_changed = True

    def _agent(self, message: AgentStateMessage) -> None:
        row = self.agents.get(message.agent)
        if row is None:  # first sight: a call in progress counts as one handled
            row = self.agents[message.agent] = AgentRow(message.agent, AgentState.LOGGED_OUT, 0.0)
        elif row.state is message.state and row.since == message.since:
            return  # the retained copy again
        if message.state is AgentState.ON_CALL and row.state is not AgentState.ON_CALL:
            row.calls += 1
        row.state, row.since = message.state, message.since
        row.reason, row.call = message.reason, message.call
        self.dirty_agents.add(message.agent)

    def _queue(self, message: QueueStatsMessage) -> None:
        self.queues[message.queue] = message
        self.dirty_queues.add(message.queue)
        level, target = message.service_level, self.target(message.queue)
        if level is None:
            return
        if level < target and message.queue not in self.below_target:
            self.below_target.add(message.queue)
            self.alerts.appendleft(Alert(message.at, message.queue, "service_level", level, target))
            self.alerts_changed = True
        elif level >= target and message.queue in self.below_target:
            self.below_target.discard(message.queue)

    def _call(self, message: CallStateEvent) -> None:
        if message.state in (CallState.WAITING, CallState.CALLBACK):
            known = self.waiting.get(message.call)
            since = known.since if known is not None else message.at
            self.waiting[message.call] = WaitingCall(message.call, message.queue, since)
        elif self.waiting.pop(message.call, None) is None:
            return
        self.waiting_changed = True

    def forget_waiting(self) -> None:
        """The link went down: waiting callers may have left unseen (call events are not
        retained), so the list starts again from the next events."""
        if self.waiting:
            self.waiting.clear()
            self.waiting_changed = True

    def take_dirty(self) -> tuple[set[str], set[str]]:
        """The queues and agents changed since the last call (and forget them)."""
        queues, agents = self.dirty_queues, self.dirty_agents
        self.dirty_queues, self.dirty_agents = set(), set()
        return queues, agents
