"""A scenario played through the real routing core on a virtual clock.

Theory of operation: an agenda (a heap of ``(moment, sequence, action)``) holds everything
that will happen: the next arrival of each source, IVR choices, answers, hang-ups, the
core's own timers, shift changes. The loop pops the earliest entry, sets the clock to it
and acts; whatever talks to the core goes through `Simulation.feed`, which hands the
event to the `Router` and carries out the commands it returns the way the engine's
adapters would (a ``Ring`` becomes an answer a few seconds later, or nothing; a
``Connect`` a hang-up once the talk time is over; a ``StartTimer`` an agenda entry).
Nothing is fed to the core from inside the handling of another event: reactions are put
on the agenda, even for "now", so the core sees events one at a time, as in the engine.

Reproducible: the core's random strategies, each arrival source and the agents draw from
their own generators, seeded from the scenario's seed. Each caller gets a generator of
its own when it arrives and draws its patience, its need (the share that sets its talk
time, whichever queue serves it) and whether it takes a callback at once, then its menu
choices, so a what-if run with other staffing (same seed) meets the very same callers
with the very same needs.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial

from callcenter.config.flow import IvrMenu, Number
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.expression import Value
from callcenter.core.router import Router
from callcenter.core.spec import RoutingSpec, Target, TargetKind
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey
from callcenter.store.journal import Journal
from callcenter.traffic.arrivals import arrival_times, rate_steps
from callcenter.traffic.distributions import Duration, pick
from callcenter.traffic.figures import Recorder
from callcenter.traffic.scenario import DAY, Scenario

# A caller sent from menu to menu this many times hangs up (a menu option pointing back).
MAX_MENU_VISITS = 10


@dataclass(slots=True)
class _Caller:
    call: str
    rng: random.Random
    number: str
    attributes: dict[str, Value]
    patience: float | None  # drawn on arrival, like the next three: what-if runs with other
    need: float  # staffing meet the same callers: how long the matter takes, as a share
    accepts_callback: bool
    dnis: str = ""
    campaign: str | None = None
    give_up_at: float | None = None
    booked: bool = False  # a callback is booked: the caller has hung up, keeping the place
    menus: int = 0
    stays: int = 1  # queues joined so far


@dataclass(frozen=True, slots=True)
class Shift:
    """An agent logged in over ``[start, end)``, seconds since midnight of the first day."""

    start: float
    end: float | None  # None: until the run is over


def default_shifts(scenario: Scenario, agents: list[str], start: float,
                   length: float) -> dict[str, list[Shift]]:  # fmt: skip
    """Who works when: the scenario's shifts, every day of the run; without shifts, every
    agent from the start until the last caller is served."""
    if not scenario.agents.shifts:
        return {agent: [Shift(start, None)] for agent in agents}
    plan: dict[str, list[Shift]] = {}
    days = int((start + length) // DAY) + 1
    for shift in scenario.agents.shifts:
        for day in range(days):
            login = day * DAY + shift.start
            logout = day * DAY + shift.end + (DAY if shift.end <= shift.start else 0.0)
            if login < start + length and logout > start:
                for agent in shift.agents:
                    plan.setdefault(agent, []).append(Shift(max(login, start), logout))
    return plan


class Simulation:
    def __init__(
        self,
        scenario: Scenario,
        spec: RoutingSpec,
        *,
        shifts: Mapping[str, list[Shift]] | None = None,
        numbers: Mapping[str, Number] | None = None,
        menus: Mapping[str, IvrMenu] | None = None,
        midnight: float = 0.0,
        journal: Journal | None = None,
        interval: float | None = None,
        campaigns: Mapping[str, str | None] | None = None,
    ) -> None:
        """``midnight``: the epoch moment of the first day's 00:00 (virtual time is epoch
        seconds, so a store gets plausible time stamps); ``interval``: report row seconds;
        ``campaigns``: dialed number -> campaign, besides those of ``numbers``."""
        self.scenario, self.spec = scenario, spec
        self.numbers, self.menus = numbers or {}, menus or {}
        self.campaigns = {dnis: number.campaign for dnis, number in self.numbers.items()}
        self.campaigns.update(campaigns or {})
        self.journal = journal
        self.seed = scenario.seed
        self.midnight = midnight
        day = scenario.day
        self.start = midnight + day.start
        self.end = self.start + day.length
        self.router = Router(spec, seed=self.seed, now=self.start)
        self.agent_rng = random.Random(f"{self.seed}/agents")
        self.now = self.start
        self.agenda: list[tuple[float, int, Callable[[], None]]] = []  # (when, order, act)
        self.seq = itertools.count()
        self.timers: dict[TimerKey, float] = {}
        self.ringing: dict[tuple[str, str], int] = {}  # (call, agent) -> ring token
        self.wrapups: dict[str, int] = {}  # agent -> token of the wrap-up under way
        self.pauses: dict[str, float] = {}  # agent -> seconds of the pause asked for
        self.callers: dict[str, _Caller] = {}
        self.calls = itertools.count(1)
        self.logged_in = 0
        self.left: Counter[str] = Counter()  # why callers left a queue without an agent
        self.elsewhere: Counter[str] = Counter()  # where callers went instead of a queue
        members = {name: set(queue.members) for name, queue in self.router.queues.items()}
        self.recorder = Recorder(self.start, interval or day.interval * 60.0, self.end, members)
        if shifts is None:
            shifts = default_shifts(scenario, list(spec.agents), day.start, day.length)
        self.shifts = shifts

    # -- the loop ------------------------------------------------------------------------------

    def at(self, when: float, act: Callable[[], None]) -> None:
        heapq.heappush(self.agenda, (when, next(self.seq), act))

    def run(self) -> Recorder:
        for agent, shifts in self.shifts.items():
            for shift in shifts:
                self.at(self.midnight + shift.start, partial(self.log_in, agent))
                if shift.end is not None:
                    self.at(self.midnight + shift.end, partial(self.log_out, agent))
        self._plan_pauses()
        for index, arrivals in enumerate(self.scenario.arrivals):
            rates = rate_steps(arrivals, self.scenario.day.start, self.scenario.day.length)
            times = arrival_times(rates, random.Random(f"{self.seed}/arrivals/{index}"))
            stream = random.Random(f"{self.seed}/callers/{index}")
            self._next_arrival(index, times, stream)
        stop = self.end + DAY  # callers who wait forever for agents who never come
        while self.agenda:
            when, _, act = heapq.heappop(self.agenda)
            if when > stop or (when > self.end and self.logged_in == 0):
                break
            self.now = when
            act()
        self.recorder.finish(self.now)
        return self.recorder

    def feed(self, event: ev.Event) -> None:
        commands = self.router.handle(event)
        self.recorder.record(event, commands)
        if self.journal is not None:
            self.journal.record(event, commands)
        for command in commands:
            self.carry_out(command)

    def carry_out(self, command: cmd.Command) -> None:
        if type(command) in _NOTHING_TO_DO:
            return
        match command:
            case cmd.StartTimer(key=key, at=when):
                self.timers[key] = when
                self.at(when, partial(self._fire, command.key, when))
            case cmd.CancelTimer(key=key):
                self.timers.pop(key, None)
            case cmd.Ring(call=call, agent=agent, accepted=True):
                # Accept mode: the agent who accepted on the console picks up at once.
                token = next(self.seq)
                self.ringing[call, agent] = token
                self.at(self.now, lambda: self._answer(call, agent, token))
            case cmd.Ring(call=call, agent=agent, accept=accept):
                token = next(self.seq)
                self.ringing[call, agent] = token
                if self.agent_rng.random() >= self.scenario.agents.no_answer:
                    delay = self.scenario.agents.answer_delay.draw(self.agent_rng)
                    self.at(self.now + delay, lambda: self._answer(call, agent, token, accept))
            case cmd.CancelRing(call=call, agent=agent):
                self.ringing.pop((call, agent), None)
            case cmd.Connect(call=call, agent=agent, queue=queue):
                caller = self.callers.get(call)
                talk = self._talk_time(queue)
                talk_time = talk.quantile(caller.need) if caller else talk.draw(self.agent_rng)
                self.at(self.now + talk_time, lambda: self._hang_up(call, agent))
            case cmd.OfferCallback(call=call, key=key, ask_number=ask):
                self._consider_callback(call, key, ask)
            case cmd.ConfirmCallback(call=call):
                if (caller := self.callers.get(call)) is not None:
                    caller.booked = True  # hangs up; the core keeps the place in line
            case cmd.LeaveQueue(call=call, reason=reason, target=target):
                self.left[str(reason)] += 1
                if (caller := self.callers.get(call)) is not None:
                    self.at(self.now, lambda: self._go(caller, target))
            case cmd.AgentStateChanged():
                self._agent_changed(command)
            case _:
                pass

    # -- callers ----------------------------------------------------------------------------

    def _next_arrival(self, index: int, times: Iterator[float], stream: random.Random) -> None:
        moment = next(times, None)
        if moment is not None:
            self.at(self.midnight + moment, lambda: self._arrive(index, times, stream))

    def _arrive(self, index: int, times: Iterator[float], stream: random.Random) -> None:
        self._next_arrival(index, times, stream)
        arrivals = self.scenario.arrivals[index]
        rng = random.Random(stream.getrandbits(64))
        callers = self.scenario.callers
        caller = _Caller(
            f"c{next(self.calls)}", rng, f"138{rng.randrange(10**8):08d}", self._attributes(rng),
            patience=callers.patience.draw(rng) if callers.patience is not None else None,
            need=rng.random(), accepts_callback=rng.random() < callers.callback_acceptance,
        )  # fmt: skip
        self.callers[caller.call] = caller
        if arrivals.number:
            number = self.numbers[arrivals.number]
            caller.dnis, caller.campaign = arrivals.number, number.campaign
            caller.attributes.update(number.attributes)
            self._go(caller, number.target)
        else:
            if arrivals.numbers:
                caller.dnis = rng.choice(arrivals.numbers)
                caller.campaign = self.campaigns.get(caller.dnis)
            self._go(caller, Target(TargetKind.QUEUE, arrivals.queue))

    def _attributes(self, rng: random.Random) -> dict[str, Value]:
        callers = self.scenario.callers
        attributes: dict[str, Value] = {}
        if callers.languages:
            attributes["lang"] = pick(rng, callers.languages) or next(iter(callers.languages))
        for flag, share in callers.flags.items():
            attributes[flag] = rng.random() < share
        return attributes

    def _go(self, caller: _Caller, target: Target | None) -> None:
        if target is None:
            self._done(caller, "hangup")
        elif target.kind is TargetKind.QUEUE:
            self._enqueue(caller, target.value)
        elif target.kind is TargetKind.IVR and target.value in self.menus:
            caller.menus += 1
            if caller.menus > MAX_MENU_VISITS:
                self._done(caller, "hangup")
                return
            choices = self.scenario.ivr.get(target.value)
            delay = choices.time.draw(caller.rng) if choices else 0.0
            self.at(self.now + delay, lambda: self._choose(caller, target.value))
        else:
            self._done(caller, str(target.kind))

    def _choose(self, caller: _Caller, name: str) -> None:
        menu = self.menus[name]
        language = menu.language
        if language is not None and caller.attributes.get("lang") not in language.keys.values():
            caller.attributes["lang"] = language.default
        choices = self.scenario.ivr.get(name)
        key = pick(caller.rng, choices.choices) if choices else None
        self._go(caller, menu.options[key] if key is not None else menu.after_retries)

    def _enqueue(self, caller: _Caller, queue: str) -> None:
        if caller.give_up_at is None:  # patience counts from the first queue joined
            caller.give_up_at = float("inf")
            if caller.patience is not None:
                caller.give_up_at = self.now + caller.patience
                self.at(caller.give_up_at, lambda: self._give_up(caller))
        else:
            # Sent on by a queue (overflow, exit key): a new call id, so that each queue's
            # stay is one interaction in the store and counts once in each queue's figures.
            del self.callers[caller.call]
            caller.stays += 1
            caller.call = f"{caller.call.split('-')[0]}-{caller.stays}"
            self.callers[caller.call] = caller
        if self.journal is not None and caller.dnis:
            self.journal.sink.interaction(caller.call, dnis=caller.dnis, campaign=caller.campaign)
        self.feed(ev.CallEnqueued(self.now, caller.call, queue, caller.number,
                                  dict(caller.attributes)))  # fmt: skip

    def _done(self, caller: _Caller, where: str) -> None:
        if caller.give_up_at is None:  # never reached a queue
            self.elsewhere[where] += 1
        self.callers.pop(caller.call, None)

    def _give_up(self, caller: _Caller) -> None:
        state = self.router.call_state(caller.call)
        if not caller.booked and state in (CallState.WAITING, CallState.RINGING):
            self.feed(ev.CallerHungUp(self.now, caller.call))

    def _consider_callback(self, call: str, key: str, ask_number: bool) -> None:
        caller = self.callers.get(call)
        if caller is None or not caller.accepts_callback:
            return

        def accept() -> None:
            if self.router.call_state(call) is not CallState.WAITING:
                return
            if ask_number:  # the IVR collects a number (caller id withheld)
                self.feed(ev.CallbackRequested(self.now, call, f"139{call[1:]:0>8}"))
            else:
                self.feed(ev.DtmfPressed(self.now, call, key))

        self.at(self.now, accept)

    def _hang_up(self, call: str, agent: str) -> None:
        if self.router.call_state(call) is CallState.CONNECTED:
            self.feed(ev.AgentHungUp(self.now, call, agent))
        self.callers.pop(call, None)

    def _talk_time(self, queue: str) -> Duration:
        agents = self.scenario.agents
        return agents.talk_time_by_queue.get(queue, agents.talk_time)

    # -- agents -----------------------------------------------------------------------------

    def _answer(self, call: str, agent: str, token: int, accept: bool = False) -> None:
        """The agent answers the phone, or (accept mode) accepts the offer on the console."""
        if self.ringing.get((call, agent)) == token:
            del self.ringing[call, agent]
            if accept:
                self.feed(ev.AgentAccepted(self.now, call, agent))
            else:
                self.feed(ev.AgentAnswered(self.now, call, agent))

    def _fire(self, key: TimerKey, when: float) -> None:
        if self.timers.get(key) == when:
            del self.timers[key]
            self.feed(ev.TimerFired(self.now, key))

    def log_in(self, agent: str) -> None:
        if agent in self.router.agents and self.router.agent_state(agent) is AgentState.LOGGED_OUT:
            self.feed(ev.AgentLoggedIn(self.now, agent))

    def log_out(self, agent: str) -> None:
        if self.router.agent_state(agent) is not AgentState.LOGGED_OUT:
            self.feed(ev.AgentLoggedOut(self.now, agent))  # after the call in progress

    def _plan_pauses(self) -> None:
        day = self.scenario.day
        days = int((day.start + day.length) // DAY) + 1
        for pause in self.scenario.agents.pauses:
            for number in range(days):
                moment = self.midnight + number * DAY + pause.at
                if self.start <= moment < self.end:
                    for agent in pause.agents:
                        act = partial(self._pause, agent, pause.reason, pause.minutes * 60.0)
                        self.at(moment, act)

    def _pause(self, agent: str, reason: str, seconds: float) -> None:
        if agent in self.router.agents and self.router.agent_state(agent) not in (
            AgentState.LOGGED_OUT, AgentState.PAUSED
        ):  # fmt: skip
            self.pauses[agent] = seconds
            self.feed(ev.AgentPaused(self.now, agent, reason))  # after the call in progress

    def _unpause(self, agent: str, reason: str) -> None:
        found = self.router.agents.get(agent)
        if found is not None and found.state is AgentState.PAUSED and found.pause_reason == reason:
            self.feed(ev.AgentUnpaused(self.now, agent))

    def _end_wrapup(self, agent: str, token: int) -> None:
        if self.wrapups.get(agent) == token:
            del self.wrapups[agent]
            if self.router.agent_state(agent) is AgentState.WRAP_UP:
                self.feed(ev.WrapUpFinished(self.now, agent))

    def _agent_changed(self, change: cmd.AgentStateChanged) -> None:
        agent, state = change.agent, change.state
        if change.previous is AgentState.LOGGED_OUT:
            self.logged_in += 1
        if state is AgentState.LOGGED_OUT:
            self.logged_in -= 1
        if state is AgentState.WRAP_UP and (wrapup := self.scenario.agents.wrapup) is not None:
            token = next(self.seq)
            self.wrapups[agent] = token
            ends = self.now + wrapup.draw(self.agent_rng)
            self.at(ends, lambda: self._end_wrapup(agent, token))
        elif state is AgentState.PAUSED:
            lasts = self.pauses.pop(agent, None)
            auto = change.reason == self.spec.auto_pause_reason
            if auto and change.previous is AgentState.RINGING:
                # Paused by the core for missed offers: the agent notices and comes back.
                lasts = self.scenario.agents.auto_pause_return.draw(self.agent_rng)
            if lasts is not None:
                reason = change.reason
                self.at(self.now + lasts, lambda: self._unpause(agent, reason))


# What a caller hears and what the bus and the store are told: nothing to act on here.
_NOTHING_TO_DO = frozenset({cmd.QueueLog, cmd.CallStateChanged, cmd.Announce, cmd.PlayPrompt})
