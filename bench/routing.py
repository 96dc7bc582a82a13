"""Routing-decision latency of the pure core, at 100, 1,000 and 10,000 agents.

The floor: 100 queues over all strategies, each agent a member of three queues
with skills (proficiency 1-5 in 3 of 12 skills), every queue asking for a skill
level relaxed after 30 s, a VIP priority rule, caller attributes.

Two scenarios per size, each a steady state replayed event by event:

* ``busy``: every agent is on a call and 1,000 callers wait over the 100 queues.
  A call ends (the agent picks the best caller across its queues: the
  agent-driven decision), the agent answers, a new caller joins (finds nobody
  free). The decision measured is the hang-up event that makes the offer.
* ``idle``: every agent is ready and nobody waits. A caller joins and the queue
  picks an agent among the available members (the caller-driven decision), the
  agent answers, later hangs up.

Two timings per row, both with perf_counter_ns, after a warm-up, with setup
objects frozen out of the garbage collector as a long-running engine's would be:

* the decision: the choice itself (``selection.caller_for`` / ``agents_for``,
  timed where the router calls them) — what the targets apply to;
* the event: the whole ``handle()`` of the event that made the offer, with its
  state changes, timers, queue_log lines and notifications.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core import router as router_module
from callcenter.core.expression import Value
from callcenter.core.router import Router
from callcenter.core.spec import (
    AgentSpec,
    Membership,
    PriorityRule,
    QueueSpec,
    RoutingSpec,
    SkillStep,
    Strategy,
)

T = TypeVar("T")
_DECISIONS = ("agents_for", "caller_for")
QUEUES = 100
WAITING = 1_000
SKILLS = [f"skill{i}" for i in range(12)]
# Ringall would ring many agents per decision; the figures compare one-agent strategies.
STRATEGIES = [s for s in Strategy if s is not Strategy.RINGALL]


@dataclass(frozen=True)
class Figures:
    scenario: str
    agents: int
    decisions: int
    p50_us: float  # the decision
    p99_us: float
    max_us: float
    event_p50_us: float  # the whole event that made the offer
    event_p99_us: float
    events_per_second: float  # all events of the scenario


class DecisionClock:
    """Times the router's calls of the selection functions (the routing decisions)."""

    def __init__(self) -> None:
        self.timings: list[int] = []
        self.measuring = False
        # The router calls the selection functions by the names it imported: patch those.
        self._originals = {name: getattr(router_module, name) for name in _DECISIONS}

    def __enter__(self) -> DecisionClock:
        for name, function in self._originals.items():
            setattr(router_module, name, self._timed(function))
        return self

    def __exit__(self, *_: object) -> None:
        for name, function in self._originals.items():
            setattr(router_module, name, function)

    def _timed(self, function: Callable[..., T]) -> Callable[..., T]:
        def timed(*args: object) -> T:
            started = time.perf_counter_ns()
            result = function(*args)
            if self.measuring and result:
                self.timings.append(time.perf_counter_ns() - started)
            return result

        return timed


def build_floor(agents: int, seed: int = 7) -> RoutingSpec:
    rng = random.Random(seed)
    queues = {}
    for index in range(QUEUES):
        name = f"q{index:03d}"
        skill = SKILLS[index % len(SKILLS)]
        queues[name] = QueueSpec(
            name,
            strategy=STRATEGIES[index % len(STRATEGIES)],
            skill_steps=(
                SkillStep(0, f'{skill} >= 2 or caller.lang == "en"'),
                SkillStep(30, f"{skill} >= 1"),
            ),
            priority_rules=(PriorityRule("caller.vip", 5),),
            ring_timeout=15,
            retry=2,
        )
    names = list(queues)
    specs = {}
    for number in range(agents):
        agent_id = str(10_000 + number)
        # Spread evenly, so that every queue has members at every size.
        own = [names[(number + step) % QUEUES] for step in (0, 37, 71)]
        # Each agent has the skill of every queue it serves, and others besides.
        skills = {SKILLS[names.index(q) % len(SKILLS)]: rng.randint(2, 5) for q in own}
        skills = {s: rng.randint(1, 5) for s in rng.sample(SKILLS, 2)} | skills
        specs[agent_id] = AgentSpec(
            agent_id,
            endpoint=f"PJSIP/{agent_id}",
            skills=skills,
            queues=tuple(Membership(q, priority=rank + 1) for rank, q in enumerate(own)),
        )
    return RoutingSpec(queues, specs)


class Floor:
    """Feeds a router like the engine would, answering every ring at once."""

    def __init__(self, agents: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.spec = build_floor(agents, seed)
        self.queues = list(self.spec.queues)
        self.router = Router(self.spec, seed=seed)
        self.now = 0.0
        self.calls = 0
        self.connected: deque[tuple[str, str]] = deque()  # (call, agent), longest first
        self.timings: list[int] = []
        self.events = 0
        self.elapsed_ns = 0

    def feed(self, event: ev.Event, measure: bool = False) -> list[cmd.Command]:
        started = time.perf_counter_ns()
        out = self.router.handle(event)
        took = time.perf_counter_ns() - started
        self.events += 1
        self.elapsed_ns += took
        if measure:
            self.timings.append(took)
        return out

    def answer(self, out: list[cmd.Command]) -> None:
        for command in out:
            if isinstance(command, cmd.Ring):
                self.feed(ev.AgentAnswered(self.now, command.call, command.agent))
                self.connected.append((command.call, command.agent))

    def new_caller(self, measure: bool = False) -> list[cmd.Command]:
        self.calls += 1
        self.now += 0.01
        attributes: dict[str, Value] = {
            "lang": self.rng.choice(["zh", "zh", "zh", "en"]),
            "vip": self.rng.random() < 0.1,
        }
        queue = self.rng.choice(self.queues)
        event = ev.CallEnqueued(self.now, f"c{self.calls}", queue, "400", attributes)
        out = self.feed(event, measure)
        self.answer(out)
        return out

    def hang_up_one(self, measure: bool = False) -> list[cmd.Command]:
        if not self.connected:
            return []
        call, agent = self.connected.popleft()  # the longest call ends first
        self.now += 0.01
        out = self.feed(ev.AgentHungUp(self.now, call, agent), measure)
        self.answer(out)
        return out

    def reset_figures(self) -> None:
        self.timings.clear()
        self.events = 0
        self.elapsed_ns = 0


def busy(agents: int, decisions: int) -> Figures:
    floor = Floor(agents)
    for agent in floor.spec.agents:
        floor.feed(ev.AgentLoggedIn(0.0, agent))
    while len(floor.connected) < agents:
        floor.new_caller()
    while sum(map(len, _lines(floor))) < WAITING:
        floor.new_caller()
    return _run(floor, "busy", decisions, lambda: _busy_cycle(floor))


def _busy_cycle(floor: Floor) -> None:
    floor.hang_up_one(measure=True)
    floor.new_caller()


def idle(agents: int, decisions: int) -> Figures:
    floor = Floor(agents)
    for agent in floor.spec.agents:
        floor.feed(ev.AgentLoggedIn(0.0, agent))
    for _ in range(min(agents // 10, 500)):
        floor.new_caller()
    return _run(floor, "idle", decisions, lambda: _idle_cycle(floor))


def _idle_cycle(floor: Floor) -> None:
    floor.new_caller(measure=True)
    floor.hang_up_one()


def _lines(floor: Floor) -> list[list[str]]:
    return [floor.router.line(q) for q in floor.queues]


def _run(floor: Floor, scenario: str, decisions: int, cycle: Callable[[], None]) -> Figures:
    with DecisionClock() as clock:
        for _ in range(min(decisions // 10, 2_000)):
            cycle()  # warm-up
        gc.collect()
        gc.freeze()
        floor.reset_figures()
        clock.measuring = True
        for _ in range(decisions):
            cycle()
        clock.measuring = False
        gc.unfreeze()
    decided, events = _percentiles(clock.timings), _percentiles(floor.timings)
    return Figures(
        scenario=scenario,
        agents=len(floor.spec.agents),
        decisions=len(clock.timings),
        p50_us=decided[0],
        p99_us=decided[1],
        max_us=decided[2],
        event_p50_us=events[0],
        event_p99_us=events[1],
        events_per_second=floor.events / (floor.elapsed_ns / 1e9),
    )


def _percentiles(timings: list[int]) -> tuple[float, float, float]:
    """p50, p99 and max in microseconds."""
    ordered = sorted(timings)
    quantiles = statistics.quantiles(ordered, n=100, method="inclusive")
    return quantiles[49] / 1000, quantiles[98] / 1000, ordered[-1] / 1000


def run(sizes: tuple[int, ...] = (100, 1_000, 10_000), decisions: int = 20_000) -> list[Figures]:
    return [scenario(size, decisions) for scenario in (busy, idle) for size in sizes]
