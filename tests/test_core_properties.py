"""Property tests: random event streams against the routing core, checking invariants.

A driver plays the adapters' part faithfully: it keeps the timers the core asked
for and fires them in time order, rings agents only as told, answers or lets ring
out only legs that exist, and hangs up only calls that are live. Any event may be
one a person sends at a bad moment (pause a logged-out agent, end a wrap-up that
is not running): the core must refuse it and change nothing.

After every event the invariants hold:

* no caller lost or duplicated: the core's live calls are exactly the driver's,
  each in at most one line, once; every call ends exactly once;
* no agent offered two calls, no call offered to two agents outside ringall;
* paused, logged-out, unreachable and wrapping-up agents are never offered a call;
* wrap-up lasts its configured time unless the agent ends it;
* first come, first served within equal priority, and nobody waits while an
  eligible agent is free (checked on queues where every member is eligible); a
  caller that asked for one agent (``CallEnqueued.agent``) rings that agent only
  while it waits for it, and waits only while that agent is not free;
* the state notifications the core sends add up to the state it holds;
* queue_log adds up too: ADDMEMBER / REMOVEMEMBER lines give exactly the queues
  each logged-in agent is a member of (reloads included), PAUSEALL|ACW and
  UNPAUSEALL|ACW bracket each wrap-up and name its call, RINGCANCELED comes only
  from a caller who hangs up or presses a key, and every ENTERQUEUE is closed
  exactly once (ABANDON, COMPLETE*, *TRANSFER, EXIT*) when the call leaves the core or
  is moved to another queue (then entered again there);
* a callback is offered at most once per call, to a waiting caller;
* in accept mode (billing) the phone rings only after the agent accepted on the
  console, and nobody is connected without accepting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.agent import MemberInfo
from callcenter.core.expression import Value
from callcenter.core.line import Caller
from callcenter.core.router import Router, RoutingError
from callcenter.core.spec import (
    AgentSpec,
    CallbackOffer,
    EmptyCondition,
    Member,
    Membership,
    PriorityRule,
    QueueSpec,
    RoutingSpec,
    SkillStep,
    Strategy,
    Target,
    TargetKind,
)
from callcenter.core.states import AgentState, CallState, IllegalTransitionError
from callcenter.core.timers import TimerKey, TimerKind

AGENTS = ["1001", "1002", "1003", "1004", "1005", "1006"]
QUEUES = ["sales", "support", "vip", "billing"]
REASONS = ["lunch", "training"]


def build_spec(strategies: list[Strategy]) -> RoutingSpec:
    sales, support, vip, billing = strategies
    queues = {
        "sales": QueueSpec(
            "sales", strategy=sales, wrapup=5, retry=2, ring_timeout=8, max_wait=90,
            overflow=Target(TargetKind.QUEUE, "support"), exit_key="#",
            callback=CallbackOffer(after=10, key="*"), service_level=20,
            members=(Member("1001"), Member("1002", penalty=1), Member("1003", penalty=2)),
        ),
        "support": QueueSpec(
            "support", strategy=support, ring_timeout=6, retry=0, tier_wait=10,
            skill_steps=(SkillStep(0, "tech >= 3"), SkillStep(15, "tech >= 1"), SkillStep(30, "")),
            members_by_skill="tech >= 1",
        ),
        "vip": QueueSpec(
            "vip", strategy=vip, wrapup=3, max_length=3,
            priority_rules=(PriorityRule("caller.vip", 5),),
            join_empty=frozenset({EmptyCondition.PAUSED, EmptyCondition.UNAVAILABLE}),
            leave_empty=frozenset({EmptyCondition.UNAVAILABLE}),
            members=(Member("1004", weight=3.0), Member("1005"), Member("1001", penalty=1)),
        ),
        "billing": QueueSpec("billing", strategy=billing, weight=2.0, retry=1, ring_timeout=5,
                             accept=True),
    }  # fmt: skip
    agents = {
        "1001": AgentSpec("1001", endpoint="PJSIP/1001", skills={"tech": 2},
                          queues=(Membership("billing", priority=2),), ring_no_answer_limit=2),
        "1002": AgentSpec("1002", endpoint="PJSIP/1002", skills={"tech": 4},
                          queues=(Membership("billing", delay=5),), wrapup=2),
        "1003": AgentSpec("1003", endpoint="PJSIP/1003", skills={},
                          queues=(Membership("billing"),)),
        "1004": AgentSpec("1004", endpoint="PJSIP/1004", skills={"tech": 1}),
        "1005": AgentSpec("1005", endpoint="PJSIP/1005", skills={"tech": 5},
                          queues=(Membership("billing", priority=3),), ring_no_answer_limit=0),
        "1006": AgentSpec("1006", endpoint="PJSIP/1006", skills={"tech": 3},
                          queues=(Membership("support", priority=1), Membership("billing", 2))),
    }  # fmt: skip
    return RoutingSpec(queues, agents, frozenset(REASONS))


def _all_eligible(spec: QueueSpec, members: dict[str, MemberInfo]) -> bool:
    """Every member is eligible for every caller at any time: simple FCFS applies."""
    return (
        not spec.skill_steps and spec.tier_wait == 0 and not any(m.delay for m in members.values())
    )


@dataclass
class Driver:
    router: Router
    now: float = 0.0
    timers: dict[TimerKey, float] = field(default_factory=dict)
    legs: dict[str, str] = field(default_factory=dict)  # agent -> call it rings for
    unaccepted: set[str] = field(default_factory=set)  # of those, offered on the console only
    connected: dict[str, str] = field(default_factory=dict)  # call -> agent
    live: dict[str, str] = field(default_factory=dict)  # call -> queue
    ended: set[str] = field(default_factory=set)
    states: dict[str, AgentState] = field(default_factory=dict)
    call_states: dict[str, CallState] = field(default_factory=dict)  # as notified
    reachable: dict[str, bool] = field(default_factory=dict)
    wrapup_until: dict[str, float] = field(default_factory=dict)
    members: set[tuple[str, str]] = field(default_factory=set)  # (agent, queue) from queue_log
    after_call_work: dict[str, str] = field(default_factory=dict)  # agent -> call, from queue_log
    offered: set[str] = field(default_factory=set)  # calls offered a callback
    open_in_log: set[str] = field(default_factory=set)  # ENTERQUEUE without its closing line
    next_call: int = 0

    def feed(self, event: ev.Event) -> list[cmd.Command]:
        before = self.snapshot()
        try:
            out = self.router.handle(event)
        except (IllegalTransitionError, RoutingError):
            assert self.snapshot() == before, f"refused {event} but changed state"
            return []
        self.apply(event, out)
        self.check(event, out)
        return out

    def snapshot(self) -> object:
        r = self.router
        return (
            {a: (x.state, x.pause_reason, x.pending_pause, x.pending_logout, x.call)
             for a, x in r.agents.items()},
            {q: [(c.call, c.state, c.priority) for c in line.line] for q, line in r.queues.items()},
            {c: x.state for c, x in r.calls.items()},
            dict(r.timers),
        )  # fmt: skip

    def apply(self, event: ev.Event, out: list[cmd.Command]) -> None:
        if isinstance(event, ev.AgentReachabilityChanged):
            self.reachable[event.agent] = event.reachable
        for agent_id in [a for a in self.reachable if a not in self.router.agents]:
            # Removed from the configuration: the core forgets the phone; when the agent is
            # configured again, the adapter reports the phone afresh (reachable until then).
            del self.reachable[agent_id]
        for command in out:
            match command:
                case cmd.StartTimer(key=key, at=at):
                    assert at >= self.now, f"timer {key} in the past"
                    self.timers[key] = at
                case cmd.CancelTimer(key=key):
                    assert key in self.timers, f"cancelled a timer never started: {key}"
                    del self.timers[key]
                case cmd.Ring(call=call, agent=agent, accepted=True):
                    assert isinstance(event, ev.AgentAccepted), event
                    assert self.legs.get(agent) == call
                    assert agent in self.unaccepted
                    self.unaccepted.remove(agent)  # now the phone rings
                case cmd.Ring(call=call, agent=agent):
                    assert agent not in self.legs, f"agent {agent} offered a second call"
                    if command.accept:
                        self.unaccepted.add(agent)
                    assert call in self.live, f"rang {agent} for a call not live: {call}"
                    assert self.reachable.get(agent, True), f"rang unreachable agent {agent}"
                    others = [a for a, c in self.legs.items() if c == call]
                    if others:
                        strategy = self.router.spec.queues[self.live[call]].strategy
                        assert strategy is Strategy.RINGALL, f"{call} offered to {others} too"
                    self.legs[agent] = call
                case cmd.CancelRing(call=call, agent=agent):
                    if self.legs.get(agent) == call:
                        del self.legs[agent]
                        self.unaccepted.discard(agent)
                case cmd.Connect(call=call, agent=agent):
                    assert agent not in self.unaccepted, f"{agent} connected without accepting"
                    assert self.legs.pop(agent) == call
                    self.connected[call] = agent
                case cmd.LeaveQueue(call=call):
                    self._end(call)
                case cmd.QueueChanged(call=call, queue=queue):
                    assert isinstance(event, ev.CallerMoved), event
                    self.live[call] = queue
                case cmd.QueueLog(verb=verb, call=call) if verb in (
                    "ABANDON", "COMPLETECALLER", "COMPLETEAGENT", "BLINDTRANSFER",
                    "ATTENDEDTRANSFER",
                ):  # fmt: skip
                    self._end(call)
                    self.connected.pop(call, None)
                    self._close(call)
                case cmd.QueueLog(verb=verb, call=call) if verb.startswith("EXIT"):
                    self._close(call)
                case cmd.QueueLog(verb="ENTERQUEUE", call=call):
                    assert call not in self.open_in_log, f"{call} entered twice"
                    self.open_in_log.add(call)
                case cmd.QueueLog(verb="ADDMEMBER", queue=queue, agent=agent):
                    assert (agent, queue) not in self.members, f"{agent} added to {queue} twice"
                    self.members.add((agent, queue))
                case cmd.QueueLog(verb="REMOVEMEMBER", queue=queue, agent=agent):
                    assert (agent, queue) in self.members, f"{agent} removed from {queue} twice"
                    self.members.remove((agent, queue))
                case cmd.QueueLog(verb="PAUSEALL", call=call, agent=agent, data=("ACW",)):
                    assert agent not in self.after_call_work, f"{agent} in wrap-up twice"
                    self.after_call_work[agent] = call
                case cmd.QueueLog(verb="UNPAUSEALL", call=call, agent=agent, data=("ACW",)):
                    assert self.after_call_work.pop(agent, None) == call, f"{agent} not in ACW"
                case cmd.QueueLog(verb="RINGCANCELED"):
                    assert isinstance(event, ev.CallerHungUp | ev.DtmfPressed), event
                case cmd.OfferCallback(call=call):
                    assert call not in self.offered, f"{call} offered a callback twice"
                    assert self.router.call_state(call) is CallState.WAITING
                    self.offered.add(call)
                case cmd.CallStateChanged(call=call, previous=before, state=after):
                    assert self.call_states.get(call, CallState.WAITING) is before
                    self.call_states[call] = after
                case cmd.AgentStateChanged(agent=agent, previous=previous, state=state):
                    assert self.states.get(agent, AgentState.LOGGED_OUT) is previous
                    if state is AgentState.RINGING:
                        assert previous is AgentState.READY, f"{agent} offered while {previous}"
                    if previous is AgentState.WRAP_UP and not isinstance(event, ev.WrapUpFinished):
                        assert self.now >= self.wrapup_until[agent], f"{agent} wrap-up cut short"
                    if state is AgentState.WRAP_UP:
                        self.wrapup_until[agent] = self._wrapup_end(agent)
                    self.states[agent] = state
                case _:
                    pass

    def _close(self, call: str) -> None:
        assert call in self.open_in_log, f"{call} closed in queue_log twice or never entered"
        self.open_in_log.remove(call)

    def _end(self, call: str) -> None:
        if call in self.live:
            assert call not in self.ended, f"call {call} ended twice"
            del self.live[call]
            self.ended.add(call)

    def _wrapup_end(self, agent_id: str) -> float:
        agent = self.router.agents[agent_id]
        wrapup = agent.spec.wrapup
        if wrapup is None:
            wrapup = self.router.queues[agent.queue].spec.wrapup
        return self.now + wrapup

    def check(self, event: ev.Event, out: list[cmd.Command]) -> None:
        r = self.router
        assert set(r.calls) == set(self.live), "core and driver disagree on live calls"
        for call, caller in r.calls.items():
            assert self.call_states.get(call, CallState.WAITING) is caller.state, call
        assert self.open_in_log == set(r.calls), "queue_log does not account for every caller"
        for agent_id, agent in r.agents.items():
            assert agent.state is self.states.get(agent_id, AgentState.LOGGED_OUT)
            assert (agent.state is AgentState.RINGING) == (agent_id in self.legs)
            assert (agent.state is AgentState.ON_CALL) == (agent_id in self.connected.values())
        seen: set[str] = set()
        for name, queue in r.queues.items():
            for caller in queue.line:
                assert caller.call not in seen, f"{caller.call} twice in lines"
                seen.add(caller.call)
                assert caller.queue == name
                assert caller.state is not CallState.CONNECTED
        for call, caller in r.calls.items():
            assert (call in seen) == (caller.state is not CallState.CONNECTED)
        for agent_id, call in self.legs.items():
            assert r.call_state(call) is CallState.RINGING, f"{agent_id} rings for settled {call}"
        logged_in = {a for a, state in self.states.items() if state is not AgentState.LOGGED_OUT}
        assert self.members == {
            (agent_id, queue) for agent_id in logged_in for queue in r.agents[agent_id].memberships
        }, "queue_log membership differs from the core's"
        in_wrapup = {a for a in logged_in if self.states[a] is AgentState.WRAP_UP}
        assert set(self.after_call_work) == in_wrapup, "wrap-up lines differ from the states"
        for name, queue in r.queues.items():
            if not _all_eligible(queue.spec, queue.members):
                continue
            free = [a for a in queue.members if r.agents[a].available]
            for caller in (c for c in queue.line if self._routable(c)):
                could = [a for a in free if not caller.wanted or a == caller.wanted]
                assert not could, f"{name}: {caller.call} waits while {could} free"
            # An accepted offer's phone ring continues a choice made earlier (when a caller
            # now ahead may not have been there yet): only fresh offers are choices.
            rung = {
                c.call
                for c in out
                if isinstance(c, cmd.Ring) and c.queue == name and not c.accepted
            }
            rung_agents = {c.agent for c in out if isinstance(c, cmd.Ring) and c.call in rung}
            for caller in queue.line if rung else ():
                if caller.call in rung:
                    break
                if caller.wanted and caller.wanted not in rung_agents:
                    continue  # waits for another agent: not passed over
                assert not self._routable(caller), f"{name}: {caller.call} passed over"
        for ring in (c for c in out if isinstance(c, cmd.Ring)):
            caller = r.calls[ring.call]
            assert not caller.wanted or ring.agent == caller.wanted, f"{ring} not the wanted"

    def _routable(self, caller: Caller) -> bool:
        """Routable, and its retry timer fired (another due at the same time may come first)."""
        return (
            caller.routable(self.now) and TimerKey(TimerKind.RETRY, caller.call) not in self.timers
        )


ACTIONS = [
    "enqueue", "enqueue", "enqueue", "login", "login", "logout", "pause", "unpause",
    "wrapup_done", "answer", "answer", "no_answer", "ring_failed", "caller_hangup",
    "agent_hangup", "agent_hangup", "dtmf", "callback", "reachability", "priority",
    "advance", "advance", "advance", "reload", "transfer", "move", "accept", "accept",
]  # fmt: skip


def step(driver: Driver, data: st.DataObject, spec: RoutingSpec) -> None:
    action = data.draw(st.sampled_from(ACTIONS))
    agent = data.draw(st.sampled_from(AGENTS))
    now = driver.now
    live = sorted(driver.live)
    if action == "enqueue":
        driver.next_call += 1
        attributes: dict[str, Value] = {
            "vip": data.draw(st.booleans()),
            "lang": data.draw(st.sampled_from("ze")),
        }
        driver.live[f"c{driver.next_call}"] = queue = data.draw(st.sampled_from(QUEUES))
        position = data.draw(st.one_of(st.none(), st.integers(1, 4)))
        priority = data.draw(st.sampled_from([0, 0, 0, 3]))
        wanted = data.draw(st.sampled_from(["", "", "", *AGENTS]))  # an IVR's agent: option
        wait = data.draw(st.sampled_from([0.0, 5.0, 30.0]))
        # Restored after a restart: entered earlier, maybe a booked callback.
        restored = data.draw(st.sampled_from([None, None, None, 1.0, 10.0]))
        booking = data.draw(st.sampled_from(["", "13800000001"])) if restored else ""
        entered = None if restored is None else max(0.0, now - restored)
        event: ev.Event = ev.CallEnqueued(now, f"c{driver.next_call}", queue, "555",
                                          attributes, priority, position, entered,
                                          booking, wanted, wait)  # fmt: skip
        driver.feed(event)
        # Refused at the door (full, empty): the call never became live.
        if f"c{driver.next_call}" not in driver.router.calls:
            driver.live.pop(f"c{driver.next_call}", None)
            driver.ended.add(f"c{driver.next_call}")
    elif action == "login":
        paused = data.draw(st.sampled_from([None, None, "lunch"]))
        driver.feed(ev.AgentLoggedIn(now, agent, paused))
    elif action == "logout":
        driver.feed(ev.AgentLoggedOut(now, agent))
    elif action == "pause":
        driver.feed(ev.AgentPaused(now, agent, data.draw(st.sampled_from(REASONS))))
    elif action == "unpause":
        driver.feed(ev.AgentUnpaused(now, agent))
    elif action == "wrapup_done":
        driver.feed(ev.WrapUpFinished(now, agent))
    elif action == "accept" and driver.unaccepted:
        agent = data.draw(st.sampled_from(sorted(driver.unaccepted)))
        driver.feed(ev.AgentAccepted(now, driver.legs[agent], agent))
    elif action == "accept" and driver.legs:  # a phone's ring: nothing to accept, refused
        agent = data.draw(st.sampled_from(sorted(driver.legs)))
        driver.feed(ev.AgentAccepted(now, driver.legs[agent], agent))
    elif action in ("answer", "no_answer", "ring_failed") and set(driver.legs) - driver.unaccepted:
        agent = data.draw(st.sampled_from(sorted(set(driver.legs) - driver.unaccepted)))
        call = driver.legs[agent]
        kind = {"answer": ev.AgentAnswered, "no_answer": ev.AgentNoAnswer}
        if action == "ring_failed":
            driver.legs.pop(agent)  # the leg never existed on the telephone side
            driver.feed(ev.RingFailed(now, call, agent, "busy"))
        else:
            if action == "no_answer":
                driver.legs.pop(agent)
            driver.feed(kind[action](now, call, agent))
    elif action == "caller_hangup" and live:
        driver.feed(ev.CallerHungUp(now, data.draw(st.sampled_from(live))))
    elif action == "agent_hangup" and driver.connected:
        call = data.draw(st.sampled_from(sorted(driver.connected)))
        driver.feed(ev.AgentHungUp(now, call, driver.connected[call]))
    elif action == "transfer" and driver.connected:
        call = data.draw(st.sampled_from(sorted(driver.connected)))
        attended = data.draw(st.booleans())
        driver.feed(ev.CallTransferred(now, call, driver.connected[call], "sales", "queue",
                                       attended, "b1" if attended else ""))  # fmt: skip
    elif action == "move" and live:
        call = data.draw(st.sampled_from(live))
        driver.feed(ev.CallerMoved(now, call, data.draw(st.sampled_from(QUEUES))))
    elif action == "dtmf" and live:
        call = data.draw(st.sampled_from(live))
        driver.feed(ev.DtmfPressed(now, call, data.draw(st.sampled_from("#*1"))))
    elif action == "callback" and live:
        call = data.draw(st.sampled_from(live))
        driver.feed(ev.CallbackRequested(now, call, "13800000000"))
    elif action == "reachability":
        driver.feed(ev.AgentReachabilityChanged(now, agent, data.draw(st.booleans())))
    elif action == "priority" and live:
        call = data.draw(st.sampled_from(live))
        driver.feed(ev.CallerPriorityChanged(now, call, data.draw(st.integers(0, 9))))
    elif action == "advance":
        # Odd fractions too: waiting-time thresholds must survive floating-point times.
        steps = st.one_of(st.sampled_from([0.5, 2.0, 7.0, 20.0]), st.floats(0.001, 40.0))
        advance(driver, data.draw(steps))
    elif action == "reload":
        driver.feed(ev.ConfigLoaded(now, reloaded(spec, data)))


def reloaded(spec: RoutingSpec, data: st.DataObject) -> RoutingSpec:
    """The original configuration with one change: a strategy, a member or an agent fewer."""
    queues, agents = dict(spec.queues), dict(spec.agents)
    name = data.draw(st.sampled_from(QUEUES))
    change = data.draw(st.sampled_from(["strategy", "member", "agent", "none"]))
    if change == "strategy":
        queues[name] = replace(queues[name], strategy=data.draw(st.sampled_from(list(Strategy))))
    elif change == "member":
        queues[name] = replace(queues[name], members=queues[name].members[1:])
    elif change == "agent":
        gone = data.draw(st.sampled_from(AGENTS))
        del agents[gone]
        for q, queue_spec in queues.items():
            kept = tuple(m for m in queue_spec.members if m.agent != gone)
            queues[q] = replace(queue_spec, members=kept)
    return replace(spec, queues=queues, agents=agents)


def advance(driver: Driver, seconds: float) -> None:
    """Let time pass, firing due timers in order, each at its own time."""
    until = driver.now + seconds
    fired = 0
    while driver.timers:
        key, at = min(driver.timers.items(), key=lambda item: (item[1], str(item[0])))
        if at > until:
            break
        del driver.timers[key]
        fired += 1
        assert fired < 10_000, f"timer storm: {key} keeps firing at {at}"
        driver.now = max(driver.now, at)
        driver.feed(ev.TimerFired(driver.now, key))
    driver.now = until


@settings(
    max_examples=int(os.environ.get("CORE_PROPERTY_EXAMPLES", "150")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
@given(
    strategies=st.lists(st.sampled_from(list(Strategy)), min_size=4, max_size=4),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_random_event_streams_keep_every_invariant(
    strategies: list[Strategy], seed: int, data: st.DataObject
) -> None:
    spec = build_spec(strategies)
    driver = Driver(Router(spec, seed=seed))
    for _ in range(data.draw(st.integers(20, 120))):
        step(driver, data, spec)
    # Drain: every caller hangs up, every agent finishes; nothing may be left behind.
    for call in sorted(driver.live):
        if call in driver.connected:
            driver.feed(ev.AgentHungUp(driver.now, call, driver.connected[call]))
        elif call in driver.live:
            driver.feed(ev.CallerHungUp(driver.now, call))
    advance(driver, 1000.0)
    # Only booked callbacks may remain: they keep their place until an agent calls back.
    # ... ringing an agent, or waiting to, however long that takes.
    left = {call: driver.router.calls[call] for call in driver.live}
    assert all(caller.callback_number for caller in left.values()), left
    assert set(driver.router.calls) == set(driver.live)
    assert not any(t.kind is TimerKind.WRAPUP for t in driver.timers)
    assert all(t.call in left for t in driver.timers if t.kind is TimerKind.RING)
