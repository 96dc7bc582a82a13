"""Builders that let the replay tests read like scenarios.

* ``queue``, ``agent``, ``routing``: configuration factories. Each scenario
  states only the settings it is about; agents named as members are created
  with an endpoint ``PJSIP/<id>``.
* ``Replay``: plays the adapters' part around a ``Router``. Each method feeds
  one event at the current time and returns what the core asked for as an
  ``Outcome``. ``wait`` lets time pass and fires the timers the core started,
  earliest first, each at its own time, as the clock adapter does.
* ``Outcome``: one step's commands, with the views a person would notice: who
  rings, who is connected, the queue_log lines, the timers.
* ``snapshot``: everything the router holds, to prove a refused event changed
  nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, fields
from typing import Any, TypeVar

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.expression import Value
from callcenter.core.queue import QueueStats
from callcenter.core.router import Router
from callcenter.core.spec import AgentSpec, Member, QueueSpec, RoutingSpec
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey, TimerKind

C = TypeVar("C", bound=cmd.Command)

MEMBERS = ("1001", "1002", "1003")


# -- configuration ---------------------------------------------------------------------------


def queue(
    name: str = "support", *, members: Iterable[str | Member] = MEMBERS, **settings: Any
) -> QueueSpec:
    """A queue listing ``members`` (ids or ``Member`` entries) in that order."""
    entries = tuple(m if isinstance(m, Member) else Member(m) for m in members)
    return QueueSpec(name, members=entries, **settings)


def agent(agent_id: str, **settings: Any) -> AgentSpec:
    settings.setdefault("endpoint", f"PJSIP/{agent_id}")
    return AgentSpec(agent_id, **settings)


def routing(*queues: QueueSpec, agents: Iterable[AgentSpec] = (), **settings: Any) -> RoutingSpec:
    """A configuration of ``queues``; every member without an ``AgentSpec`` gets a plain one."""
    specs = {a.id: a for a in agents}
    for q in queues:
        for member in q.members:
            specs.setdefault(member.agent, agent(member.agent))
    return RoutingSpec({q.name: q for q in queues}, dict(sorted(specs.items())), **settings)


# -- what the core asked for -----------------------------------------------------------------


class Outcome(list[cmd.Command]):
    """The commands of one step (or of a stretch of waiting), in the order they came."""

    def of(self, kind: type[C]) -> list[C]:
        return [c for c in self if isinstance(c, kind)]

    @property
    def rung(self) -> list[str]:
        """Agents whose phone was told to ring, in order."""
        return [r.agent for r in self.of(cmd.Ring)]

    @property
    def rings(self) -> list[tuple[str, str]]:
        """(call, agent) of every ``Ring``."""
        return [(r.call, r.agent) for r in self.of(cmd.Ring)]

    @property
    def ring_cancelled(self) -> list[str]:
        return [r.agent for r in self.of(cmd.CancelRing)]

    @property
    def connected(self) -> list[tuple[str, str]]:
        return [(c.call, c.agent) for c in self.of(cmd.Connect)]

    @property
    def log(self) -> list[str]:
        """queue_log lines as Asterisk writes them, without the time: call|queue|agent|VERB|data."""
        return [
            "|".join((q.call, q.queue, q.agent, q.verb, *q.data)) for q in self.of(cmd.QueueLog)
        ]

    @property
    def verbs(self) -> list[str]:
        return [q.verb for q in self.of(cmd.QueueLog)]

    def lines(self, verb: str) -> list[str]:
        return [
            line for line, q in zip(self.log, self.of(cmd.QueueLog), strict=True) if q.verb == verb
        ]

    @property
    def started(self) -> dict[TimerKey, float]:
        return {s.key: s.at for s in self.of(cmd.StartTimer)}

    @property
    def cancelled(self) -> list[TimerKey]:
        return [c.key for c in self.of(cmd.CancelTimer)]

    @property
    def left(self) -> list[cmd.LeaveQueue]:
        return self.of(cmd.LeaveQueue)

    @property
    def state_changes(self) -> list[tuple[str, AgentState, AgentState]]:
        return [(s.agent, s.previous, s.state) for s in self.of(cmd.AgentStateChanged)]


# -- the adapters' part ----------------------------------------------------------------------


class Replay:
    """Feeds events to a router at the current time and keeps the timers it asked for."""

    def __init__(self, spec: RoutingSpec, *, seed: int = 0, now: float = 0.0) -> None:
        self.router = Router(seed=seed, now=now)
        self.now = now
        self.timers: dict[TimerKey, float] = {}  # the clock adapter's running timers
        self.history = Outcome()
        self.feed(ev.ConfigLoaded(now, spec))

    # -- raw ---------------------------------------------------------------------------------

    def feed(self, event: ev.Event) -> Outcome:
        assert event.now >= self.now, "time goes forward"
        self.now = event.now
        out = Outcome(self.router.handle(event))
        for command in out:
            if isinstance(command, cmd.StartTimer):
                self.timers[command.key] = command.at
            elif isinstance(command, cmd.CancelTimer):
                self.timers.pop(command.key, None)
        self.history.extend(out)
        return out

    # -- time --------------------------------------------------------------------------------

    def wait(self, seconds: float) -> Outcome:
        """Let ``seconds`` pass, firing every timer that falls due, in time order."""
        return self.wait_until(self.now + seconds)

    def wait_until(self, until: float) -> Outcome:
        out = Outcome()
        while self.timers:
            key, at = min(self.timers.items(), key=lambda item: item[1])
            if at > until:
                break
            del self.timers[key]
            out += self.feed(ev.TimerFired(max(at, self.now), key))
        self.now = max(self.now, until)
        return out

    def wait_for(self, kind: TimerKind, call: str = "", agent: str = "") -> Outcome:
        """Let time pass until the given running timer fires (and every one due before it)."""
        key = TimerKey(kind, call, agent)
        assert key in self.timers, (
            f"timer {key} is not running; running: {sorted(map(str, self.timers))}"
        )
        return self.wait_until(self.timers[key])

    def fire(self, kind: TimerKind, call: str = "", agent: str = "") -> Outcome:
        """A timer event arriving now, whether the timer still runs or not (stale timers)."""
        key = TimerKey(kind, call, agent)
        self.timers.pop(key, None)
        return self.feed(ev.TimerFired(self.now, key))

    # -- agents ------------------------------------------------------------------------------

    def login(self, *agents: str, paused: str | None = None) -> Outcome:
        out = Outcome()
        for agent_id in agents:
            out += self.feed(ev.AgentLoggedIn(self.now, agent_id, paused))
        return out

    def logout(self, agent_id: str) -> Outcome:
        return self.feed(ev.AgentLoggedOut(self.now, agent_id))

    def pause(self, agent_id: str, reason: str = "lunch") -> Outcome:
        return self.feed(ev.AgentPaused(self.now, agent_id, reason))

    def unpause(self, agent_id: str) -> Outcome:
        return self.feed(ev.AgentUnpaused(self.now, agent_id))

    def phone(self, agent_id: str, *, reachable: bool) -> Outcome:
        return self.feed(ev.AgentReachabilityChanged(self.now, agent_id, reachable))

    def end_wrapup(self, agent_id: str) -> Outcome:
        return self.feed(ev.WrapUpFinished(self.now, agent_id))

    def dispose(self, call: str, agent_id: str, code: str) -> Outcome:
        return self.feed(ev.DispositionSet(self.now, call, agent_id, code))

    # -- callers -----------------------------------------------------------------------------

    def call(
        self,
        call: str,
        queue: str = "support",
        number: str | None = None,
        *,
        priority: int = 0,
        position: int | None = None,
        entered: float | None = None,
        **attributes: Value,
    ) -> Outcome:
        number = f"555{call}" if number is None else number
        return self.feed(
            ev.CallEnqueued(self.now, call, queue, number, attributes, priority, position, entered)
        )

    def calls(self, *calls: str, queue: str = "support", gap: float = 1.0) -> Outcome:
        """Callers joining one after the other, ``gap`` seconds apart (the first one now)."""
        out = Outcome()
        for i, call in enumerate(calls):
            if i:
                out += self.wait(gap)
            out += self.call(call, queue)
        return out

    def answer(self, call: str, agent_id: str) -> Outcome:
        return self.feed(ev.AgentAnswered(self.now, call, agent_id))

    def accept(self, call: str, agent_id: str) -> Outcome:
        """The agent accepts the offer on the console (queues with ``accept``)."""
        return self.feed(ev.AgentAccepted(self.now, call, agent_id))

    def no_answer(self, call: str, agent_id: str) -> Outcome:
        return self.feed(ev.AgentNoAnswer(self.now, call, agent_id))

    def ring_failed(
        self, call: str, agent_id: str, reason: str = "busy", *, caller_unreachable: bool = False
    ) -> Outcome:
        return self.feed(ev.RingFailed(self.now, call, agent_id, reason, caller_unreachable))

    def caller_hangs_up(self, call: str) -> Outcome:
        return self.feed(ev.CallerHungUp(self.now, call))

    def agent_hangs_up(self, call: str, agent_id: str) -> Outcome:
        return self.feed(ev.AgentHungUp(self.now, call, agent_id))

    def transfer(self, call: str, agent_id: str, exten: str, context: str = "queue") -> Outcome:
        """The connected agent transfers the caller blind to ``exten`` in ``context``."""
        return self.feed(ev.CallTransferred(self.now, call, agent_id, exten, context))

    def attended_transfer(self, call: str, agent_id: str, bridge: str) -> Outcome:
        return self.feed(ev.CallTransferred(self.now, call, agent_id, attended=True, bridge=bridge))

    def move(self, call: str, queue: str) -> Outcome:
        """A supervisor moves the waiting caller to ``queue``."""
        return self.feed(ev.CallerMoved(self.now, call, queue))

    def press(self, call: str, digit: str) -> Outcome:
        return self.feed(ev.DtmfPressed(self.now, call, digit))

    def ask_callback(self, call: str, number: str) -> Outcome:
        return self.feed(ev.CallbackRequested(self.now, call, number))

    def set_priority(self, call: str, priority: int) -> Outcome:
        return self.feed(ev.CallerPriorityChanged(self.now, call, priority))

    def reload(self, spec: RoutingSpec) -> Outcome:
        return self.feed(ev.ConfigLoaded(self.now, spec))

    # -- scenario shortcuts ------------------------------------------------------------------

    def talk(self, call: str, agent_id: str, seconds: float) -> Outcome:
        """The agent answers, they talk ``seconds``, the caller hangs up."""
        out = self.answer(call, agent_id)
        out += self.wait(seconds)
        out += self.caller_hangs_up(call)
        return out

    # -- what a person sees ------------------------------------------------------------------

    def state(self, agent_id: str) -> AgentState:
        return self.router.agent_state(agent_id)

    def states(self, *agents: str) -> list[AgentState]:
        return [self.router.agent_state(a) for a in agents]

    def call_state(self, call: str) -> CallState:
        return self.router.call_state(call)

    def line(self, queue: str = "support") -> list[str]:
        return self.router.line(queue)

    def stats(self, queue: str = "support") -> QueueStats:
        return self.router.stats(queue)

    def ringing(self) -> dict[str, str]:
        """agent -> call, for every agent ringing now."""
        return {a.id: a.call for a in self.router.agents.values() if a.state is AgentState.RINGING}


def snapshot(router: Router) -> object:
    """Everything the router holds, as plain comparable values."""

    def plain(obj: Any) -> dict[str, object]:
        values: dict[str, object] = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            values[f.name] = value.copy() if isinstance(value, dict | set | list) else value
        return values

    return (
        {a: plain(agent) for a, agent in router.agents.items()},
        {c: plain(caller) for c, caller in router.calls.items()},
        {
            name: (
                [c.call for c in q.line],
                list(q.available),
                dict(q.conditions),
                asdict(q.stats),
                list(q.handle_times),
                q.last_rung_order,
                q.retired,
            )
            for name, q in router.queues.items()
        },
        dict(router.timers),
        router.rng.getstate(),
        router.spec,
    )
