"""A queue at run time: its line, its members, the index of available members, its counters.

The available-member index is what keeps routing decisions independent of the
number of agents: each queue keeps its available members in a sorted list whose
key is the queue's strategy (tier first, then idle time, calls taken, talk time
or member order). Choosing an agent walks that list from the front and stops at
the first member who qualifies; an agent that changes availability is moved in
the few queues it belongs to. A key never changes while its member is in the
index: the figures it depends on (idle since, calls, talk time) change only
while the agent is busy, outside the index.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from sortedcontainers import SortedList

from callcenter.core.agent import Agent, MemberCondition, MemberInfo
from callcenter.core.expression import TRUE, Expression, compile_expression
from callcenter.core.line import Caller, Line
from callcenter.core.spec import QueueSpec, Strategy

# Waiting-time thresholds are compared with this slack: a timer set for
# entered + 30 fires at a `now` where now - entered may come out as 29.999999999
# in floating point, and must count as 30 (or it would be set again for the same
# moment, forever).
TIME_TOLERANCE = 1e-6

IndexKey = tuple[int, float, int, str]  # (tier, strategy figure, member order, agent id)

_RECENT_HANDLE_TIMES = 30


@dataclass(slots=True)
class QueueStats:
    """Counters since the engine started (reports use the store; these feed wallboards)."""

    offered: int = 0
    answered: int = 0
    answered_in_service_level: int = 0
    abandoned: int = 0
    abandoned_in_service_level: int = 0  # short abandons, before the threshold
    overflowed: int = 0
    exited: int = 0
    refused: int = 0  # full, join-empty
    callbacks: int = 0
    total_wait_answered: float = 0.0
    completed: int = 0
    total_talk: float = 0.0

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold / (answered + abandoned after the threshold)."""
        counted = self.answered + self.abandoned - self.abandoned_in_service_level
        return self.answered_in_service_level / counted if counted else None

    @property
    def average_speed_of_answer(self) -> float | None:
        return self.total_wait_answered / self.answered if self.answered else None


class Queue:
    def __init__(self, spec: QueueSpec) -> None:
        self.spec = spec
        self.line = Line()
        self.members: dict[str, MemberInfo] = {}
        self.available: SortedList[IndexKey] = SortedList()
        self._index_keys: dict[str, IndexKey] = {}
        self.conditions: Counter[MemberCondition] = Counter()
        self.stats = QueueStats()
        self.handle_times: deque[float] = deque(maxlen=_RECENT_HANDLE_TIMES)
        self.last_rung_order = -1  # round robin memory
        self.retired = False  # removed from the configuration; kept until its calls end
        self.configure(spec)

    def configure(self, spec: QueueSpec) -> None:
        self.spec = spec
        self.retired = False
        self.steps: tuple[tuple[float, Expression], ...] = tuple(
            (step.after, compile_expression(step.requirement)) for step in spec.skill_steps
        ) or ((0.0, TRUE),)
        self.priority_rules = tuple(
            (compile_expression(rule.when), rule.priority) for rule in spec.priority_rules
        )

    def set_members(self, members: dict[str, MemberInfo]) -> None:
        self.members = members
        self.heaviest_weight = max((m.weight for m in members.values()), default=1.0)
        delays = {m.delay for m in members.values() if m.delay > 0}
        tiers = {m.penalty * self.spec.tier_wait for m in members.values()}
        steps = {after for after, _ in self.steps}
        # Waiting times at which a caller becomes eligible for more members.
        self.relax_points = sorted(p for p in delays | tiers | steps if p > 0)

    def requirement(self, waited: float) -> Expression:
        current = self.steps[0][1]
        for after, expression in self.steps:
            if after > waited:
                break
            current = expression
        return current

    def next_relax(self, waited: float) -> float | None:
        """The waiting time at which the caller's eligible members next widen."""
        for point in self.relax_points:
            if point > waited + TIME_TOLERANCE:
                return point
        return None

    def caller_priority(self, caller: Caller) -> int:
        priority = caller.priority
        for rule, rule_priority in self.priority_rules:
            if rule_priority > priority and rule({}, caller.attributes):
                priority = rule_priority
        return priority

    # -- the available-member index ----------------------------------------------------

    def index_key(self, agent: Agent, member: MemberInfo) -> IndexKey:
        strategy = self.spec.strategy
        tier = 0 if strategy is Strategy.LINEAR else member.penalty
        figure: float
        if strategy is Strategy.LEAST_RECENT:
            figure = agent.idle_since
        elif strategy is Strategy.FEWEST_CALLS:
            figure = agent.calls
        elif strategy is Strategy.LEAST_TALK_TIME:
            figure = agent.talk_time
        else:
            figure = 0.0
        return (tier, figure, self.place(member), agent.id)

    def place(self, member: MemberInfo) -> int:
        """The member's place in the order round robin walks (and linear, top-down use)."""
        return member.id_order if self.spec.strategy is Strategy.RR_MEMORY else member.order

    def add_available(self, agent: Agent) -> None:
        key = self.index_key(agent, self.members[agent.id])
        self._index_keys[agent.id] = key
        self.available.add(key)

    def remove_available(self, agent_id: str) -> None:
        key = self._index_keys.pop(agent_id, None)
        if key is not None:
            self.available.remove(key)

    def remove_all_available(self) -> None:
        self.available.clear()
        self._index_keys.clear()

    def available_in_order(self) -> Iterator[IndexKey]:
        """Available members in strategy order; round robin starts after the last one rung."""
        if self.spec.strategy in (Strategy.RR_MEMORY, Strategy.RR_ORDERED):
            # Within each tier, members after the last one rung come first, then wrap around.
            for tier in self._tiers():
                start = (tier, 0.0, self.last_rung_order + 1, "")
                end = (tier + 1, 0.0, -1, "")
                yield from self.available.irange(start, end, inclusive=(True, False))
                yield from self.available.irange(
                    (tier, 0.0, -1, ""), start, inclusive=(True, False)
                )
        else:
            yield from self.available

    def _tiers(self) -> Iterator[int]:
        tier: int | None = None
        available = self.available
        while True:
            lower = (tier + 1, float("-inf"), -1, "") if tier is not None else None
            found = next(available.irange(lower), None) if lower else next(iter(available), None)
            if found is None:
                return
            tier = found[0]
            yield tier

    def is_empty(self, conditions: Collection[str]) -> bool:
        """No member in a condition outside ``conditions`` (app_queue's empty queue)."""
        return all(
            count == 0 or condition in conditions for condition, count in self.conditions.items()
        )
