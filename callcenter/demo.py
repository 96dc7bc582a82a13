"""``callcenter demo``: a simulated morning of the sample call center, on a virtual clock.

Until the ARI engine and the Asterisk simulator exist, this is what ``make demo``
shows: the real configuration (``queues/``) loaded and checked, the real routing
core deciding every offer, and seeded random callers and agents around it —
callers arrive (Poisson, per queue), some give up, agents answer after a few
seconds or let it ring out, talk, wrap up. Time is virtual, so an hour of
traffic takes a fraction of a second; the figures come from the core's own
counters.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.config import Config
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.expression import Value
from callcenter.core.router import Router
from callcenter.core.spec import RoutingSpec, Target, TargetKind
from callcenter.core.states import CallState
from callcenter.core.timers import TimerKey
from callcenter.store.journal import Journal


@dataclass
class Traffic:
    calls_per_hour: float = 40.0  # per queue
    talk_time: float = 150.0  # mean, exponential
    patience: float = 240.0  # mean time a caller waits before hanging up
    answer_delay: float = 4.0
    no_answer: float = 0.05  # chance an agent lets an offer ring out
    hours: float = 2.0
    start: float = 0.0  # epoch seconds of the first moment (virtual time starts here)


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    act: Callable[[], None] = field(compare=False)


class Demo:
    def __init__(
        self,
        spec: RoutingSpec,
        traffic: Traffic,
        seed: int = 1,
        journal: Journal | None = None,
        numbers: dict[str, list[tuple[str, str]]] | None = None,
    ) -> None:
        self.journal = journal
        self.numbers = numbers or {}  # queue -> (dialed number, campaign) reaching it
        self.spec, self.traffic = spec, traffic
        self.rng = random.Random(seed)
        self.router = Router(spec, seed=seed)
        self.now = traffic.start
        self.agenda: list[_Due] = []
        self.seq = itertools.count()
        self.timers: dict[TimerKey, float] = {}
        self.ringing: set[tuple[str, str]] = set()
        self.left: dict[str, int] = {}  # why callers left without an agent

    def at(self, when: float, act: Callable[[], None]) -> None:
        heapq.heappush(self.agenda, _Due(when, next(self.seq), act))

    def feed(self, event: ev.Event) -> None:
        commands = self.router.handle(event)
        if self.journal is not None:
            self.journal.record(event, commands)
        for command in commands:
            self.carry_out(command)

    def carry_out(self, command: cmd.Command) -> None:
        match command:
            case cmd.StartTimer(key=key, at=when):
                self.timers[key] = when
                self.at(when, lambda: self.fire(key, when))
            case cmd.CancelTimer(key=key):
                self.timers.pop(key, None)
            case cmd.Ring(call=call, agent=agent):
                self.ringing.add((call, agent))
                if self.rng.random() >= self.traffic.no_answer:
                    delay = self.rng.expovariate(1 / self.traffic.answer_delay)
                    self.at(self.now + delay, lambda: self.answer(call, agent))
            case cmd.CancelRing(call=call, agent=agent):
                self.ringing.discard((call, agent))
            case cmd.Connect(call=call, agent=agent):
                talk = self.rng.expovariate(1 / self.traffic.talk_time)
                self.at(self.now + talk, lambda: self.feed(ev.AgentHungUp(self.now, call, agent)))
            case cmd.LeaveQueue(reason=reason):
                self.left[str(reason)] = self.left.get(str(reason), 0) + 1
            case _:
                pass

    def fire(self, key: TimerKey, when: float) -> None:
        if self.timers.get(key) == when:
            del self.timers[key]
            self.feed(ev.TimerFired(self.now, key))

    def arrive(self, event: ev.CallEnqueued) -> None:
        """A caller joins; the advertised number dialed is recorded for per-campaign reports."""
        numbers = self.numbers.get(event.queue)
        if numbers and self.journal is not None:
            dnis, campaign = self.rng.choice(numbers)
            self.journal.sink.interaction(event.call, dnis=dnis, campaign=campaign or None)
        self.feed(event)

    def give_up(self, call: str) -> None:
        if self.router.call_state(call) in (CallState.WAITING, CallState.RINGING):
            self.feed(ev.CallerHungUp(self.now, call))

    def answer(self, call: str, agent: str) -> None:
        if (call, agent) in self.ringing:
            self.ringing.discard((call, agent))
            self.feed(ev.AgentAnswered(self.now, call, agent))

    def run(self) -> None:
        for agent in self.spec.agents:
            self.feed(ev.AgentLoggedIn(self.traffic.start, agent))
        rate = self.traffic.calls_per_hour / 3600
        end = self.traffic.start + self.traffic.hours * 3600
        calls = itertools.count(1)
        for queue in self.spec.queues:
            moment = self.traffic.start + self.rng.expovariate(rate)
            while moment < end:
                call = f"{queue}-{next(calls)}"
                attributes: dict[str, Value] = {"lang": self.rng.choice(["zh", "zh", "zh", "en"]),
                              "vip": self.rng.random() < 0.05}  # fmt: skip
                caller = f"138{self.rng.randrange(10**8):08d}"
                arrive = ev.CallEnqueued(moment, call, queue, caller, attributes)
                self.at(moment, lambda e=arrive: self.arrive(e))  # type: ignore[misc]
                give_up = moment + self.rng.expovariate(1 / self.traffic.patience)
                self.at(give_up, lambda c=call: self.give_up(c))  # type: ignore[misc]
                moment += self.rng.expovariate(rate)
        while self.agenda:
            due = heapq.heappop(self.agenda)
            self.now = due.at
            due.act()

    def report(self) -> str:
        lines = [
            f"{'queue':<14}{'offered':>8}{'answered':>9}{'abandoned':>10}{'SL %':>7}"
            f"{'ASA s':>7}{'talk s':>8}",
        ]  # fmt: skip
        for name in self.spec.queues:
            s = self.router.stats(name)
            level = f"{100 * s.service_level:.0f}" if s.service_level is not None else "-"
            speed = s.average_speed_of_answer
            asa = f"{speed:.0f}" if speed is not None else "-"
            talk = f"{s.total_talk / s.completed:.0f}" if s.completed else "-"
            lines.append(f"{name:<14}{s.offered:>8}{s.answered:>9}{s.abandoned:>10}"
                         f"{level:>7}{asa:>7}{talk:>8}")  # fmt: skip
        if self.left:
            left = ", ".join(f"{k} {v}" for k, v in sorted(self.left.items()))
            lines.append(f"left without an agent: {left}")
        return "\n".join(lines)


def numbers_by_queue(config: Config) -> dict[str, list[tuple[str, str]]]:
    """For each queue, the dialed numbers (and their campaigns) whose callers can reach it.

    Follows a number's target through IVR menus (a few levels deep), so a simulated
    caller of the hotline's sales queue dialed one of the hotline's advertising numbers.
    """
    reach: dict[str, list[tuple[str, str]]] = {}
    for dnis, number in config.numbers.items():
        for queue in _queues_behind(config, number.target, depth=3):
            reach.setdefault(queue, []).append((dnis, number.campaign or ""))
    return reach


def _queues_behind(config: Config, target: Target, depth: int) -> set[str]:
    if target.kind is TargetKind.QUEUE:
        return {target.value}
    menu = config.ivr.get(target.value) if target.kind is TargetKind.IVR else None
    if menu is None or depth == 0:
        return set()
    return set().union(*(_queues_behind(config, t, depth - 1) for t in menu.options.values()))
