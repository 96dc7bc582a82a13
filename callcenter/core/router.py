"""The routing core: ``Router.handle(event) -> list[Command]``.

Theory of operation
-------------------
The router holds queues (each with a waiting line and an index of available
members) and agents (each with a state from ``states.AGENT_TRANSITIONS``). An
event changes state through the transition tables and returns the commands the
adapters carry out: ring an agent, connect, announce, start or cancel a timer,
write a queue_log line, tell the bus an agent's state changed.

Design rules:

* Pure: no clock (``now`` comes in every event), no I/O, no hidden randomness
  (random strategies draw from a ``random.Random`` seeded at construction).
* Requests from people (log in, pause, ...) that make no sense in the current
  state raise ``IllegalTransitionError`` or ``RoutingError`` before changing anything.
  Reports from the telephone side that arrive late (an answer after the caller
  hung up, a timer that was cancelled) are expected and handled quietly.
* After every event, no available agent is eligible for a routable caller
  (see ``selection``). Each event that frees an agent or makes a caller
  routable runs one directed search to restore that.
* A caller rings at most one agent at a time (ringall: every agent of the best
  tier, the first answer wins) and an agent rings for at most one caller: an
  offer needs a READY agent and a WAITING (or CALLBACK) caller, and moves both
  to RINGING.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from random import Random
from typing import Any

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.agent import Agent, MemberInfo
from callcenter.core.expression import compile_expression
from callcenter.core.line import Caller
from callcenter.core.queue import Queue, QueueStats
from callcenter.core.selection import agents_for, caller_for
from callcenter.core.spec import RoutingSpec
from callcenter.core.states import (
    AgentState,
    AgentTrigger,
    CallState,
    CallTrigger,
    next_agent_state,
    next_call_state,
)
from callcenter.core.timers import TimerKey, TimerKind
from callcenter.core.waiting import expected_wait

NONE = "NONE"  # queue_log's placeholder for an absent field
_PER_CALL_TIMERS = (
    TimerKind.RETRY, TimerKind.RELAX, TimerKind.MAX_WAIT, TimerKind.ANNOUNCE,
    TimerKind.PROMPT, TimerKind.CALLBACK_OFFER,
)  # fmt: skip


class RoutingError(ValueError):
    """A request naming something the configuration does not have, or a call twice."""


class Router:
    def __init__(self, spec: RoutingSpec | None = None, *, seed: int = 0, now: float = 0.0) -> None:
        self.spec = RoutingSpec()
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.calls: dict[str, Caller] = {}  # calls in a queue, ringing or connected
        self.timers: dict[TimerKey, float] = {}
        self.rng = Random(seed)
        self.now = now
        self._out: list[cmd.Command] = []
        self._freed: list[Agent] = []  # agents released while handling one event
        self._handlers: dict[type[ev.Event], Callable[[Any], None]] = {
            ev.ConfigLoaded: self._config_loaded,
            ev.AgentLoggedIn: self._logged_in,
            ev.AgentLoggedOut: self._logged_out,
            ev.AgentPaused: self._paused,
            ev.AgentUnpaused: self._unpaused,
            ev.AgentReachabilityChanged: self._reachability,
            ev.CallEnqueued: self._enqueued,
            ev.AgentAnswered: self._answered,
            ev.AgentNoAnswer: self._no_answer,
            ev.RingFailed: self._ring_failed,
            ev.CallerHungUp: self._caller_hung_up,
            ev.AgentHungUp: self._agent_hung_up,
            ev.DtmfPressed: self._dtmf,
            ev.CallbackRequested: self._callback_requested,
            ev.CallerPriorityChanged: self._priority_changed,
            ev.WrapUpFinished: self._wrapup_finished,
            ev.DispositionSet: self._disposition,
            ev.TimerFired: self._timer_fired,
        }
        if spec is not None:
            self.handle(ev.ConfigLoaded(now, spec))

    def handle(self, event: ev.Event) -> list[cmd.Command]:
        self.now = event.now
        self._out = []
        self._handlers[type(event)](event)
        return self._out

    # -- queries (pure reads for adapters, wallboards and tests) ---------------------------

    def agent_state(self, agent: str) -> AgentState:
        return self._agent(agent).state

    def call_state(self, call: str) -> CallState:
        caller = self.calls.get(call)
        return caller.state if caller else CallState.DONE

    def line(self, queue: str) -> list[str]:
        return [caller.call for caller in self._queue(queue).line]

    def stats(self, queue: str) -> QueueStats:
        return self._queue(queue).stats

    def expected_wait(self, queue: str, position: int, now: float) -> float | None:
        return expected_wait(self._queue(queue), self.agents, position, now)

    # -- configuration --------------------------------------------------------------------

    def _config_loaded(self, event: ev.ConfigLoaded) -> None:
        spec = event.spec
        self.spec = spec
        for name, queue_spec in spec.queues.items():
            if name in self.queues:
                self.queues[name].configure(queue_spec)
            else:
                self.queues[name] = Queue(queue_spec)
        for agent_id, agent_spec in spec.agents.items():
            if agent_id in self.agents:
                self.agents[agent_id].spec = agent_spec
            else:
                self.agents[agent_id] = Agent(agent_spec)
        self._resolve_members()
        for agent_id in [a for a in self.agents if a not in spec.agents]:
            self._retire_agent(self.agents[agent_id])
        for name, queue in self.queues.items():
            if name not in spec.queues and not queue.retired:
                self._retire_queue(queue)
        for name in spec.queues:  # new delays, tiers or skill steps widen callers at new times
            queue = self.queues[name]
            for caller in queue.line:
                self._schedule_relax(queue, caller, caller.waited(self.now))
        for agent in list(self.agents.values()):
            if agent.available:
                self._route_agent(agent)

    def _resolve_members(self) -> None:
        """Merge queue-side members, agent-side queues and skill-based membership."""
        merged: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.spec.queues}
        for name, queue_spec in self.spec.queues.items():
            for member in queue_spec.members:
                merged[name][member.agent] = {"penalty": member.penalty, "weight": member.weight}
            if queue_spec.members_by_skill:
                test = compile_expression(queue_spec.members_by_skill)
                for agent_spec in self.spec.agents.values():
                    if test(agent_spec.skills, {}):
                        merged[name].setdefault(agent_spec.id, {})
        for agent_spec in self.spec.agents.values():
            for membership in agent_spec.queues:
                entry = merged[membership.queue].setdefault(agent_spec.id, {})
                entry.update(priority=membership.priority, delay=membership.delay)
                entry.setdefault("penalty", membership.penalty)
        for agent in self.agents.values():
            agent.memberships = {}
        for name, entries in merged.items():
            queue = self.queues[name]
            queue.remove_all_available()
            id_order = {a: i for i, a in enumerate(sorted(a for a in entries if a in self.agents))}
            members: dict[str, MemberInfo] = {}
            for order, (agent_id, entry) in enumerate(
                (a, e) for a, e in entries.items() if a in self.agents
            ):
                members[agent_id] = MemberInfo(
                    queue=name, agent=agent_id, penalty=entry.get("penalty", 0),
                    weight=entry.get("weight", 1.0), priority=entry.get("priority", 1),
                    delay=entry.get("delay", 0.0), order=order, id_order=id_order[agent_id],
                )  # fmt: skip
                self.agents[agent_id].memberships[name] = members[agent_id]
            queue.set_members(members)
            queue.conditions.clear()
        for agent in self.agents.values():
            agent.by_priority = tuple(sorted(agent.memberships.values(), key=lambda m: m.priority))
            for info in agent.by_priority:
                queue = self.queues[info.queue]
                queue.conditions[agent.condition] += 1
                if agent.available:
                    queue.add_available(agent)

    def _retire_agent(self, agent: Agent) -> None:
        """An agent removed from the configuration: logged out now, or after the call."""
        if agent.state in (AgentState.READY, AgentState.PAUSED):
            self._agent_transition(agent, AgentTrigger.LOGOUT, "removed from config")
        elif agent.state is AgentState.RINGING:
            self._end_ring(self.calls[agent.call], agent, AgentTrigger.LOGOUT, counted=False)
        elif agent.state is not AgentState.LOGGED_OUT:
            agent.pending_logout = True
            return
        del self.agents[agent.id]

    def _retire_queue(self, queue: Queue) -> None:
        """A queue removed from the configuration: its line leaves; connected calls end normally."""
        queue.retired = True
        queue.set_members({})
        queue.remove_all_available()
        queue.conditions.clear()
        for caller in list(queue.line):
            if caller.state is CallState.RINGING:
                for agent_id in sorted(caller.ringing):
                    self._end_ring(
                        caller, self.agents[agent_id], AgentTrigger.RING_CANCELLED, False
                    )
            self._leave(caller, cmd.LeaveReason.UNKNOWN_QUEUE, queue.spec.overflow, "")
        self._route_freed()

    # -- agents -----------------------------------------------------------------------------

    def _logged_in(self, event: ev.AgentLoggedIn) -> None:
        agent = self._agent(event.agent)
        paused = event.pause_reason is not None
        trigger = AgentTrigger.LOGIN_PAUSED if paused else AgentTrigger.LOGIN
        next_agent_state(agent.id, agent.state, trigger)  # refuse before changing anything
        if event.pause_reason is not None:
            self._check_pause_reason(event.pause_reason)
            agent.pause_reason = event.pause_reason
        agent.idle_since = self.now
        self._agent_transition(agent, trigger, "login")
        for member in agent.by_priority:
            self._log(NONE, member.queue, agent.id, "ADDMEMBER")
            if event.pause_reason is not None:
                self._log(NONE, member.queue, agent.id, "PAUSE", event.pause_reason)
        self._route_agent(agent)

    def _logged_out(self, event: ev.AgentLoggedOut) -> None:
        agent = self._agent(event.agent)
        if agent.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
            agent.pending_logout = True
        elif agent.state is AgentState.RINGING:
            self._end_ring(self.calls[agent.call], agent, AgentTrigger.LOGOUT, counted=False)
        else:
            self._agent_transition(agent, AgentTrigger.LOGOUT, "logout")

    def _paused(self, event: ev.AgentPaused) -> None:
        agent = self._agent(event.agent)
        self._check_pause_reason(event.reason)
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP):
            agent.pending_pause = event.reason
            return
        next_agent_state(agent.id, agent.state, AgentTrigger.PAUSE)  # raises if logged out
        agent.pause_reason = event.reason
        self._agent_transition(agent, AgentTrigger.PAUSE, "pause")
        for member in agent.by_priority:
            self._log(NONE, member.queue, agent.id, "PAUSE", event.reason)

    def _unpaused(self, event: ev.AgentUnpaused) -> None:
        agent = self._agent(event.agent)
        if agent.pending_pause:
            agent.pending_pause = ""
            return
        self._agent_transition(agent, AgentTrigger.UNPAUSE, "unpause")
        for member in agent.by_priority:
            self._log(NONE, member.queue, agent.id, "UNPAUSE", agent.pause_reason)
        agent.pause_reason = ""
        self._route_agent(agent)

    def _reachability(self, event: ev.AgentReachabilityChanged) -> None:
        agent = self._agent(event.agent)
        if agent.reachable == event.reachable:
            return
        self._set_agent(agent, lambda: setattr(agent, "reachable", event.reachable))
        if event.reachable:
            self._route_agent(agent)
        else:
            self._check_leave_empty(agent)

    def _wrapup_finished(self, event: ev.WrapUpFinished) -> None:
        agent = self._agent(event.agent)
        next_agent_state(agent.id, agent.state, AgentTrigger.WRAPUP_DONE)  # raises if not
        self._end_wrapup(agent)

    def _disposition(self, event: ev.DispositionSet) -> None:
        agent = self._agent(event.agent)
        allowed = self._queue(agent.queue).spec.dispositions if agent.queue else frozenset()
        if allowed and event.code not in allowed:
            raise RoutingError(f"disposition {event.code!r} is not one of {sorted(allowed)}")
        self._log(event.call, agent.queue or NONE, agent.id, "INFO", "DISPOSITION", event.code)

    # -- callers ----------------------------------------------------------------------------

    def _enqueued(self, event: ev.CallEnqueued) -> None:
        if event.call in self.calls:
            raise RoutingError(f"call {event.call} is already queued")
        queue = self.queues.get(event.queue)
        if queue is not None and queue.retired:
            queue = None
        caller = Caller(
            call=event.call, queue=event.queue, number=event.caller_number,
            attributes=dict(event.attributes), priority=event.priority,
            entered=event.entered if event.entered is not None else self.now,
        )  # fmt: skip
        if queue is None:
            self._out.append(
                cmd.LeaveQueue(event.call, event.queue, cmd.LeaveReason.UNKNOWN_QUEUE, None)
            )
            return
        spec = queue.spec
        if spec.max_length and len(queue.line) >= spec.max_length:
            self._refuse(queue, caller, cmd.LeaveReason.FULL, "FULL")
            return
        if spec.join_empty and queue.is_empty(spec.join_empty):
            self._refuse(queue, caller, cmd.LeaveReason.JOIN_EMPTY, "JOINEMPTY")
            return
        caller.priority = queue.caller_priority(caller)
        position = queue.line.insert(caller, event.position)
        caller.original_position = position
        self.calls[caller.call] = caller
        queue.stats.offered += 1
        self._log(caller.call, spec.name, NONE, "ENTERQUEUE", "", caller.number, str(position))
        if spec.leave_empty and queue.is_empty(spec.leave_empty):
            # app_queue: joins (no join_empty refusal), then leaves at the first look at the queue.
            self._leave(caller, cmd.LeaveReason.LEAVE_EMPTY, spec.overflow, "EXITEMPTY",
                        str(position))  # fmt: skip
            return
        waited = caller.waited(self.now)
        if spec.max_wait is not None:
            self._start(TimerKey(TimerKind.MAX_WAIT, caller.call), caller.entered + spec.max_wait)
        if spec.callback is not None:
            at = max(caller.entered + spec.callback.after, self.now)
            self._start(TimerKey(TimerKind.CALLBACK_OFFER, caller.call), at)
        self._schedule_relax(queue, caller, waited)
        self._route_caller(queue, caller)
        if caller.state is CallState.WAITING:
            self._schedule_announcements(queue, caller, first=True)

    def _refuse(self, queue: Queue, caller: Caller, reason: cmd.LeaveReason, verb: str) -> None:
        queue.stats.refused += 1
        self._log(caller.call, queue.spec.name, NONE, verb, "", caller.number, "")
        self._out.append(cmd.LeaveQueue(caller.call, queue.spec.name, reason, queue.spec.overflow))

    def _priority_changed(self, event: ev.CallerPriorityChanged) -> None:
        caller = self._waiting_caller(event.call)
        queue = self.queues[caller.queue]
        queue.line.remove(caller)
        caller.priority = event.priority
        queue.line.insert(caller)

    def _answered(self, event: ev.AgentAnswered) -> None:
        caller = self.calls.get(event.call)
        agent = self.agents.get(event.agent)
        if caller is None or agent is None or event.agent not in caller.ringing:
            # Answered an offer that was withdrawn meanwhile: drop the agent's leg.
            self._out.append(cmd.CancelRing(event.call, event.agent))
            return
        queue = self.queues[caller.queue]
        self._cancel(TimerKey(TimerKind.RING, caller.call, agent.id))
        caller.ringing.discard(agent.id)
        for other_id in sorted(caller.ringing):  # ringall: the first answer wins
            self._end_ring(caller, self.agents[other_id], AgentTrigger.RING_CANCELLED, False)
        self._call_transition(caller, CallTrigger.ANSWER)
        self._agent_transition(agent, AgentTrigger.ANSWER, "answer", call=caller.call)
        agent.no_answer_streak = 0
        agent.call_started = self.now
        caller.agent, caller.answered = agent.id, self.now
        queue.line.remove(caller)
        self._cancel_call_timers(caller)
        wait = self.now - caller.entered
        queue.stats.answered += 1
        queue.stats.total_wait_answered += wait
        if wait <= queue.spec.service_level:
            queue.stats.answered_in_service_level += 1
        ring_time = self.now - caller.ring_started
        self._log(caller.call, queue.spec.name, agent.id, "CONNECT",
                  _secs(wait), caller.call, _secs(ring_time))  # fmt: skip
        self._out.append(
            cmd.Connect(caller.call, agent.id, queue.spec.name, queue.spec.record,
                        caller.callback_number)
        )  # fmt: skip
        self._route_freed()

    def _no_answer(self, event: ev.AgentNoAnswer) -> None:
        self._ring_ended(event.call, event.agent, counted=True, cancel=False)

    def _ring_failed(self, event: ev.RingFailed) -> None:
        self._ring_ended(event.call, event.agent, counted=False, cancel=False)

    def _ring_ended(self, call: str, agent_id: str, *, counted: bool, cancel: bool) -> None:
        caller = self.calls.get(call)
        agent = self.agents.get(agent_id)
        if caller is None or agent is None or agent_id not in caller.ringing:
            return  # already settled (answered elsewhere, caller gone)
        self._cancel(TimerKey(TimerKind.RING, call, agent_id))
        if cancel:
            self._out.append(cmd.CancelRing(call, agent_id))
        trigger = AgentTrigger.NO_ANSWER
        if counted:
            agent.no_answer_streak += 1
            limit = agent.spec.ring_no_answer_limit
            if limit and agent.no_answer_streak >= limit:
                trigger = AgentTrigger.AUTO_PAUSE
                agent.no_answer_streak = 0  # back from the pause, the agent gets `limit` chances
        self._end_ring(caller, agent, trigger, counted)
        self._settle_unanswered(caller)
        self._route_freed()

    def _end_ring(self, caller: Caller, agent: Agent, trigger: AgentTrigger, counted: bool) -> None:
        """Take ``agent`` off ``caller``'s offer; the agent is routed by the caller of this."""
        caller.ringing.discard(agent.id)
        self._cancel(TimerKey(TimerKind.RING, caller.call, agent.id))
        ring_ms = str(round((self.now - caller.ring_started) * 1000))
        if trigger is AgentTrigger.RING_CANCELLED:
            self._out.append(cmd.CancelRing(caller.call, agent.id))
            self._log(caller.call, caller.queue, agent.id, "RINGCANCELED", ring_ms)
        else:
            self._log(caller.call, caller.queue, agent.id, "RINGNOANSWER", ring_ms)
        if trigger is AgentTrigger.AUTO_PAUSE:
            agent.pause_reason = self.spec.auto_pause_reason
            agent.pending_pause = ""  # a pause asked for while ringing: paused either way
        elif trigger is AgentTrigger.LOGOUT:
            self._out.append(cmd.CancelRing(caller.call, agent.id))
        self._agent_transition(agent, trigger, "ring " + str(trigger), call=caller.call)
        if trigger is AgentTrigger.AUTO_PAUSE:
            for member in agent.by_priority:
                self._log(NONE, member.queue, agent.id, "PAUSE", agent.pause_reason)
        elif trigger is not AgentTrigger.LOGOUT:
            self._apply_pending(agent)
        if trigger is AgentTrigger.LOGOUT and caller.state is CallState.RINGING:
            self._settle_unanswered(caller, retry=False)
        if agent.available:
            self._freed.append(agent)

    def _settle_unanswered(self, caller: Caller, *, retry: bool = True) -> None:
        """Nobody rings for the caller any more: back in line after the retry pause."""
        if caller.ringing or caller.state is not CallState.RINGING:
            return
        queue = self.queues[caller.queue]
        back = CallTrigger.NO_ANSWER_CALLBACK if caller.callback_number else CallTrigger.NO_ANSWER
        self._call_transition(caller, back)
        if caller.overdue:
            self._leave(caller, cmd.LeaveReason.OVERFLOW, queue.spec.overflow, "EXITWITHTIMEOUT")
            return
        empty = queue.spec.leave_empty
        if back is CallTrigger.NO_ANSWER and empty and queue.is_empty(empty):
            # The last agents paused or left while ringing for this caller.
            self._leave(caller, cmd.LeaveReason.LEAVE_EMPTY, queue.spec.overflow, "EXITEMPTY",
                        str(queue.line.position(caller)))  # fmt: skip
            return
        if retry and queue.spec.retry > 0:
            caller.not_before = self.now + queue.spec.retry
            self._start(TimerKey(TimerKind.RETRY, caller.call), caller.not_before)
        else:
            self._route_caller(queue, caller)
        if back is CallTrigger.NO_ANSWER and not caller.ringing:  # no prompts over a ring
            self._schedule_announcements(queue, caller, first=True)

    def _caller_hung_up(self, event: ev.CallerHungUp) -> None:
        caller = self.calls.get(event.call)
        if caller is None or caller.state is CallState.CALLBACK:
            return  # not queued, or hanging up after booking a callback, as expected
        if caller.state is CallState.CONNECTED:
            self._complete(caller, "COMPLETECALLER", CallTrigger.HANGUP)
            return
        queue = self.queues[caller.queue]
        position = queue.line.position(caller)
        for agent_id in sorted(caller.ringing):
            self._end_ring(caller, self.agents[agent_id], AgentTrigger.RING_CANCELLED, False)
        waited = self.now - caller.entered
        queue.stats.abandoned += 1
        if waited <= queue.spec.service_level:
            queue.stats.abandoned_in_service_level += 1
        self._log(caller.call, queue.spec.name, NONE, "ABANDON",
                  str(position), str(caller.original_position), _secs(waited))  # fmt: skip
        self._finish(caller, CallTrigger.HANGUP)
        self._route_freed()

    def _agent_hung_up(self, event: ev.AgentHungUp) -> None:
        caller = self.calls.get(event.call)
        if caller is None or caller.state is not CallState.CONNECTED or caller.agent != event.agent:
            return
        self._complete(caller, "COMPLETEAGENT", CallTrigger.AGENT_HANGUP)

    def _complete(self, caller: Caller, verb: str, trigger: CallTrigger) -> None:
        queue = self.queues[caller.queue]
        agent = self.agents[caller.agent]
        talk = self.now - caller.answered
        self._log(caller.call, queue.spec.name, agent.id, verb,
                  _secs(caller.answered - caller.entered), _secs(talk),
                  str(caller.original_position))  # fmt: skip
        queue.stats.completed += 1
        queue.stats.total_talk += talk
        agent.calls += 1
        agent.talk_time += talk
        self._finish(caller, trigger)
        wrapup = agent.spec.wrapup if agent.spec.wrapup is not None else queue.spec.wrapup
        if wrapup > 0:
            self._agent_transition(agent, AgentTrigger.HANGUP, "call ended", call=caller.call)
            self._start(TimerKey(TimerKind.WRAPUP, agent=agent.id), self.now + wrapup)
        else:
            queue.handle_times.append(talk)
            agent.idle_since = self.now
            self._agent_transition(agent, self._after_call(agent, "HANGUP"), "call ended")
            self._route_agent(agent)

    def _end_wrapup(self, agent: Agent) -> None:
        self._cancel(TimerKey(TimerKind.WRAPUP, agent=agent.id))
        queue = self.queues.get(agent.queue)
        if queue is not None:
            queue.handle_times.append(self.now - agent.call_started)
        agent.idle_since = self.now
        self._agent_transition(agent, self._after_call(agent, "WRAPUP"), "wrap-up ended")
        self._route_agent(agent)

    def _after_call(self, agent: Agent, prefix: str) -> AgentTrigger:
        """The way out of a call or wrap-up: to logout, pause or ready, as the agent asked."""
        if agent.pending_logout:
            agent.pending_logout = False
            agent.pending_pause = ""
            return AgentTrigger[f"{prefix}_LOGOUT"]
        if agent.pending_pause:
            agent.pause_reason, agent.pending_pause = agent.pending_pause, ""
            for member in agent.by_priority:
                self._log(NONE, member.queue, agent.id, "PAUSE", agent.pause_reason)
            return AgentTrigger[f"{prefix}_PAUSED"]
        return AgentTrigger.WRAPUP_DONE if prefix == "WRAPUP" else AgentTrigger.HANGUP_READY

    def _apply_pending(self, agent: Agent) -> None:
        """After a ring that was not answered, a pause or logout asked for meanwhile applies."""
        if agent.state is not AgentState.READY:
            return
        if agent.pending_logout:
            agent.pending_logout = False
            self._agent_transition(agent, AgentTrigger.LOGOUT, "logout")
        elif agent.pending_pause:
            agent.pause_reason, agent.pending_pause = agent.pending_pause, ""
            self._agent_transition(agent, AgentTrigger.PAUSE, "pause")
            for member in agent.by_priority:
                self._log(NONE, member.queue, agent.id, "PAUSE", agent.pause_reason)

    def _dtmf(self, event: ev.DtmfPressed) -> None:
        caller = self.calls.get(event.call)
        if caller is None or caller.state is not CallState.WAITING:
            return
        spec = self.queues[caller.queue].spec
        if spec.exit_key and event.digit == spec.exit_key:
            position = self.queues[caller.queue].line.position(caller)
            self._leave(caller, cmd.LeaveReason.EXIT_KEY, spec.exit_target, "EXITWITHKEY",
                        event.digit, str(position))  # fmt: skip
        elif spec.callback is not None and event.digit == spec.callback.key and caller.number:
            self._book_callback(caller, caller.number)

    def _callback_requested(self, event: ev.CallbackRequested) -> None:
        self._book_callback(self._waiting_caller(event.call), event.number)

    def _book_callback(self, caller: Caller, number: str) -> None:
        if not number:
            raise RoutingError(f"call {caller.call}: a callback needs a number")
        caller.callback_number = number
        self._call_transition(caller, CallTrigger.CALLBACK)
        for kind in (TimerKind.MAX_WAIT, TimerKind.ANNOUNCE, TimerKind.PROMPT,
                     TimerKind.CALLBACK_OFFER):  # fmt: skip
            self._cancel(TimerKey(kind, caller.call))
        self.queues[caller.queue].stats.callbacks += 1
        self._log(caller.call, caller.queue, NONE, "INFO", "CALLBACK", number)
        self._out.append(cmd.ConfirmCallback(caller.call, number))

    # -- timers ------------------------------------------------------------------------------

    def _timer_fired(self, event: ev.TimerFired) -> None:
        key = event.key
        if self.timers.pop(key, None) is None:
            return  # cancelled meanwhile: the adapter's timer raced with the cancel
        if key.kind is TimerKind.RING:
            self._ring_ended(key.call, key.agent, counted=True, cancel=True)
        elif key.kind is TimerKind.WRAPUP:
            agent = self.agents.get(key.agent)
            if agent is not None and agent.state is AgentState.WRAP_UP:
                self._end_wrapup(agent)
        elif (caller := self.calls.get(key.call)) is not None:
            self._caller_timer(key.kind, caller)

    def _caller_timer(self, kind: TimerKind, caller: Caller) -> None:
        queue = self.queues[caller.queue]
        if kind is TimerKind.RETRY or kind is TimerKind.RELAX:
            if kind is TimerKind.RELAX:
                self._schedule_relax(queue, caller, caller.waited(self.now))
            self._route_caller(queue, caller)
        elif kind is TimerKind.MAX_WAIT:
            if caller.state is CallState.RINGING:
                caller.overdue = True  # leaves when the ringing ends unanswered
            elif caller.state is CallState.WAITING:
                self._leave(caller, cmd.LeaveReason.OVERFLOW, queue.spec.overflow,
                            "EXITWITHTIMEOUT", str(queue.line.position(caller)))  # fmt: skip
        elif caller.state is CallState.WAITING:
            self._announce(kind, queue, caller)

    def _announce(self, kind: TimerKind, queue: Queue, caller: Caller) -> None:
        spec = queue.spec
        if kind is TimerKind.ANNOUNCE:
            self._schedule_announcements(queue, caller, first=False)
            position = queue.line.position(caller)
            wait = self.expected_wait(spec.name, position, self.now)
            self._out.append(cmd.Announce(
                caller.call,
                position if spec.announcements.position else None,
                wait if spec.announcements.expected_wait else None,
            ))  # fmt: skip
        elif kind is TimerKind.PROMPT:
            prompts = spec.announcements.periodic_prompts
            self._out.append(
                cmd.PlayPrompt(caller.call, prompts[caller.prompt_index % len(prompts)])
            )
            caller.prompt_index += 1
            every = spec.announcements.periodic_every
            if every:
                self._start(TimerKey(TimerKind.PROMPT, caller.call), self.now + every)
        elif kind is TimerKind.CALLBACK_OFFER and spec.callback is not None:
            self._out.append(cmd.OfferCallback(caller.call, spec.callback.key))

    def _schedule_announcements(self, queue: Queue, caller: Caller, *, first: bool) -> None:
        announcements = queue.spec.announcements
        # ``first``: joining, or back in line after a ring; timers still running keep their rhythm.
        announce = TimerKey(TimerKind.ANNOUNCE, caller.call)
        prompt = TimerKey(TimerKind.PROMPT, caller.call)
        if announcements.every and (announcements.position or announcements.expected_wait):
            at = self.now if first else self.now + announcements.every
            if announce not in self.timers:
                self._start(announce, at)
        if first and announcements.periodic_every and announcements.periodic_prompts:
            at = self.now + announcements.periodic_every
            if prompt not in self.timers:
                self._start(prompt, at)

    def _schedule_relax(self, queue: Queue, caller: Caller, waited: float) -> None:
        point = queue.next_relax(waited)
        if point is not None:
            self._start(TimerKey(TimerKind.RELAX, caller.call), caller.entered + point)

    def _start(self, key: TimerKey, at: float) -> None:
        self.timers[key] = at
        self._out.append(cmd.StartTimer(key, at))

    def _cancel(self, key: TimerKey) -> None:
        if self.timers.pop(key, None) is not None:
            self._out.append(cmd.CancelTimer(key))

    def _cancel_call_timers(self, caller: Caller) -> None:
        for kind in _PER_CALL_TIMERS:
            self._cancel(TimerKey(kind, caller.call))

    # -- routing ----------------------------------------------------------------------------

    def _route_freed(self) -> None:
        freed, self._freed = self._freed, []
        for agent in freed:
            self._route_agent(agent)

    def _route_caller(self, queue: Queue, caller: Caller) -> None:
        if not caller.routable(self.now):
            return
        chosen = agents_for(queue, caller, self.agents, self.now, self.rng)
        if chosen:
            self._offer(queue, caller, chosen)

    def _route_agent(self, agent: Agent) -> None:
        if not agent.available:
            return
        found = caller_for(agent, self.queues, self.now)
        if found is not None:
            queue, caller = found
            self._offer(queue, caller, [agent])

    def _offer(self, queue: Queue, caller: Caller, agents: Iterable[Agent]) -> None:
        self._call_transition(caller, CallTrigger.OFFER)
        caller.ring_started = self.now
        timeout = queue.spec.ring_timeout
        for agent in agents:
            caller.ringing.add(agent.id)
            queue.last_rung_order = queue.index_key(agent, queue.members[agent.id])[2]
            self._agent_transition(agent, AgentTrigger.OFFER, "offer", call=caller.call)
            agent.queue = queue.spec.name
            self._start(TimerKey(TimerKind.RING, caller.call, agent.id), self.now + timeout)
            self._out.append(cmd.Ring(caller.call, agent.id, agent.spec.endpoint, timeout,
                                      queue.spec.name, caller.callback_number))  # fmt: skip

    def _leave(
        self, caller: Caller, reason: cmd.LeaveReason, target: Any, verb: str, *data: str
    ) -> None:
        queue = self.queues[caller.queue]
        if reason is cmd.LeaveReason.EXIT_KEY:
            queue.stats.exited += 1
        elif reason is cmd.LeaveReason.OVERFLOW:
            queue.stats.overflowed += 1
        if verb:
            waited = _secs(self.now - caller.entered)
            if verb == "EXITWITHTIMEOUT" and not data:
                data = (str(queue.line.position(caller)),)
            self._log(caller.call, queue.spec.name, NONE, verb,
                      *data, str(caller.original_position), waited)  # fmt: skip
        self._out.append(cmd.LeaveQueue(caller.call, queue.spec.name, reason, target))
        self._finish(caller, CallTrigger.LEAVE)

    def _finish(self, caller: Caller, trigger: CallTrigger) -> None:
        self._call_transition(caller, trigger)
        queue = self.queues[caller.queue]
        if caller in queue.line:
            queue.line.remove(caller)
        self._cancel_call_timers(caller)
        del self.calls[caller.call]

    def _check_leave_empty(self, agent: Agent) -> None:
        for member in agent.by_priority:
            queue = self.queues[member.queue]
            conditions = queue.spec.leave_empty
            if conditions and queue.line and queue.is_empty(conditions):
                for caller in [c for c in queue.line if c.state is CallState.WAITING]:
                    position = str(queue.line.position(caller))
                    self._leave(caller, cmd.LeaveReason.LEAVE_EMPTY, queue.spec.overflow,
                                "EXITEMPTY", position)  # fmt: skip

    # -- state changes ------------------------------------------------------------------------

    def _agent_transition(
        self, agent: Agent, trigger: AgentTrigger, cause: str, call: str = ""
    ) -> None:
        previous = agent.state
        state = next_agent_state(agent.id, previous, trigger)
        self._set_agent(agent, lambda: setattr(agent, "state", state))
        agent.state_since = self.now
        if state in (AgentState.READY, AgentState.PAUSED, AgentState.LOGGED_OUT):
            agent.call = ""
        else:
            agent.call = call or agent.call
        reason = agent.pause_reason if state is AgentState.PAUSED else ""
        self._out.append(cmd.AgentStateChanged(agent.id, previous, state, cause, reason, call))
        if state is AgentState.LOGGED_OUT:
            agent.pending_pause, agent.pending_logout = "", False  # asked for before logging out
            for member in agent.by_priority:
                self._log(NONE, member.queue, agent.id, "REMOVEMEMBER")
        if not agent.available:  # paused, gone, or busy: inuse / wrapup conditions count too
            self._check_leave_empty(agent)

    def _set_agent(self, agent: Agent, change: Callable[[], None]) -> None:
        """Apply ``change`` to an agent, keeping queue indexes and condition counts in step."""
        was_available, was_condition = agent.available, agent.condition
        change()
        is_available, condition = agent.available, agent.condition
        for member in agent.by_priority:
            queue = self.queues[member.queue]
            if condition is not was_condition:
                queue.conditions[was_condition] -= 1
                queue.conditions[condition] += 1
            if was_available and not is_available:
                queue.remove_available(agent.id)
            elif is_available and not was_available:
                queue.add_available(agent)

    def _call_transition(self, caller: Caller, trigger: CallTrigger) -> None:
        caller.state = next_call_state(caller.call, caller.state, trigger)

    def _log(self, call: str, queue: str, agent: str, verb: str, *data: str) -> None:
        self._out.append(cmd.QueueLog(self.now, call, queue, agent, verb, data))

    # -- lookups ------------------------------------------------------------------------------

    def _agent(self, agent: str) -> Agent:
        try:
            return self.agents[agent]
        except KeyError:
            raise RoutingError(f"unknown agent {agent!r}") from None

    def _queue(self, queue: str) -> Queue:
        try:
            return self.queues[queue]
        except KeyError:
            raise RoutingError(f"unknown queue {queue!r}") from None

    def _waiting_caller(self, call: str) -> Caller:
        caller = self.calls.get(call)
        if caller is None or caller.state is not CallState.WAITING:
            raise RoutingError(f"call {call} is not waiting in a queue")
        return caller

    def _check_pause_reason(self, reason: str) -> None:
        reasons = self.spec.pause_reasons
        if reasons and reason not in reasons:
            raise RoutingError(f"pause reason {reason!r} is not one of {sorted(reasons)}")


def _secs(seconds: float) -> str:
    """queue_log writes whole seconds."""
    return str(round(seconds))
