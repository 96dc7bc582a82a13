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
* A caller goes round the free agents before ringing one again: agents that
  did not answer it are passed over in this round while another eligible agent
  is free (``Caller.tried``, ``selection``); when only they are left, a new
  round begins.
* queue_log lines are app_queue's, field for field (``queue_log`` names the
  app_queue function each follows).
* Beyond app_queue, each documented where it is handled: a queue with ``accept``
  offers the call on the agent's console first and rings the phone on
  ``AgentAccepted`` (``_accepted``); a supervisor moves a waiting caller to another
  queue keeping its first entry time (``_moved``); an agent's transfer ends the
  agent's part with BLINDTRANSFER / ATTENDEDTRANSFER (``_transferred``); a caller
  that asked for one agent (an IVR option ``agent:ID``) waits for that agent only,
  for a while, then for any agent of the queue (``_want``); a caller restored after
  a restart keeps its entry time and its booked callback (``_enqueued``).

The router is one class in parts: this module handles callers, rings, timers
and routing; ``lifecycle.AgentLifecycle`` the agents' side (log in, pause,
wrap-up, every agent transition); ``on_hold.OnHold`` what a waiting caller hears
(announcements, the callback offer and booking). Choosing is in ``selection``,
memberships in ``membership``.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import Any

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core import queue_log as qlog
from callcenter.core.agent import Agent
from callcenter.core.errors import RoutingError
from callcenter.core.lifecycle import AgentLifecycle
from callcenter.core.line import Caller
from callcenter.core.membership import apply_members
from callcenter.core.on_hold import OnHold
from callcenter.core.queue import Queue, QueueStats
from callcenter.core.selection import agents_for, caller_for
from callcenter.core.spec import RoutingSpec
from callcenter.core.states import (
    AgentState,
    AgentTrigger,
    CallState,
    CallTrigger,
    next_call_state,
)
from callcenter.core.timers import TimerKey, TimerKind
from callcenter.core.waiting import expected_wait

__all__ = ["UNREACHABLE_RETRY", "Router", "RoutingError"]

UNREACHABLE_RETRY = 5.0
"""Seconds a caller whose own side could not be reached (its Asterisk server down) is
not offered again: one failed ring per pause, not a loop of them (`ev.RingFailed`)."""


class Router(AgentLifecycle, OnHold):
    def __init__(self, spec: RoutingSpec | None = None, *, seed: int = 0, now: float = 0.0) -> None:
        self.spec = RoutingSpec()
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.calls: dict[str, Caller] = {}  # calls in a queue, ringing or connected
        self.timers: dict[TimerKey, float] = {}
        self._call_timers: dict[str, set[TimerKey]] = {}  # a call's own timers, to cancel at once
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
            ev.AgentAccepted: self._accepted,
            ev.AgentNoAnswer: self._no_answer,
            ev.RingFailed: self._ring_failed,
            ev.CallerHungUp: self._caller_hung_up,
            ev.AgentHungUp: self._agent_hung_up,
            ev.CallTransferred: self._transferred,
            ev.DtmfPressed: self._dtmf,
            ev.CallbackRequested: self._callback_requested,
            ev.CallerPriorityChanged: self._priority_changed,
            ev.CallerMoved: self._moved,
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
        logged_in = [a for a in self.agents.values() if a.state is not AgentState.LOGGED_OUT]
        before = {agent.id: set(agent.memberships) for agent in logged_in}
        apply_members(spec, self.agents, self.queues)
        for agent in logged_in:  # agents removed from the config leave every queue here
            self._log_membership_change(agent, before[agent.id])
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

    def _retire_queue(self, queue: Queue) -> None:
        """A queue removed from the configuration: its line leaves; connected calls end normally."""
        queue.retired = True
        queue.set_members({})
        queue.remove_all_available()
        queue.conditions.clear()
        for caller in list(queue.line):
            for agent_id in sorted(caller.ringing):  # withdrawn, not cancelled by the caller
                self._end_ring(
                    caller, self.agents[agent_id], AgentTrigger.RING_CANCELLED, quiet=True
                )
            # app_queue keeps a deleted queue until its callers leave; here they leave now,
            # logged as leaving a queue without members so that every ENTERQUEUE has its end.
            line = qlog.exit_empty(self.now, caller, self._position(caller))
            self._leave(caller, cmd.LeaveReason.UNKNOWN_QUEUE, queue.spec.overflow, line)
        self._route_freed()

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
        # A caller restored after a restart entered long ago: its line says when.
        self._out.append(qlog.enter_queue(caller.entered, caller, position))
        if event.callback_number:  # a booking restored: it waits for its call back
            caller.callback_number = event.callback_number
            caller.callback_offered = True
            self._call_transition(caller, CallTrigger.CALLBACK)
        if event.agent:
            self._want(queue, caller, event.agent, event.agent_wait)
        self._joined(queue, caller, position, since=caller.entered)

    def _want(self, queue: Queue, caller: Caller, agent_id: str, wait: float) -> None:
        """The caller asked for one agent (``CallEnqueued.agent``): only that agent for
        ``wait`` seconds. Not waited for at all when it cannot take calls from this queue
        today (logged out, phone unreachable, not a member): any agent then, at once."""
        agent = self.agents.get(agent_id)
        if (
            agent is None or agent.state is AgentState.LOGGED_OUT or not agent.reachable
            or agent_id not in queue.members or wait <= 0
        ):  # fmt: skip
            return
        caller.wanted = agent_id
        self._start(TimerKey(TimerKind.AGENT_WAIT, caller.call), self.now + wait)

    def _joined(self, queue: Queue, caller: Caller, position: int, *, since: float) -> None:
        """The caller is in ``queue``'s line: its timers (max wait counted from ``since``),
        an agent if one is free, announcements."""
        spec = queue.spec
        if spec.leave_empty and queue.is_empty(spec.leave_empty):
            # app_queue: joins (no join_empty refusal), then leaves at the first look at the queue.
            self._leave(caller, cmd.LeaveReason.LEAVE_EMPTY, spec.overflow,
                        qlog.exit_empty(self.now, caller, position))  # fmt: skip
            return
        waited = caller.waited(self.now)
        if spec.max_wait is not None and not caller.callback_number:  # a booking waits on
            self._start(TimerKey(TimerKind.MAX_WAIT, caller.call), since + spec.max_wait)
        callback = spec.callback
        if (
            callback is not None and (caller.number or callback.ask_number)
            and not caller.callback_offered and not caller.callback_number
        ):  # fmt: skip
            at = max(caller.entered + callback.after, self.now)
            self._start(TimerKey(TimerKind.CALLBACK_OFFER, caller.call), at)
        self._schedule_relax(queue, caller, waited)
        self._route_caller(queue, caller)
        if caller.state is CallState.WAITING:
            self._schedule_announcements(queue, caller, first=True)

    def _refuse(self, queue: Queue, caller: Caller, reason: cmd.LeaveReason, verb: str) -> None:
        queue.stats.refused += 1
        self._out.append(qlog.refused(self.now, caller, verb))
        self._out.append(cmd.LeaveQueue(caller.call, queue.spec.name, reason, queue.spec.overflow))

    def _priority_changed(self, event: ev.CallerPriorityChanged) -> None:
        caller = self._waiting_caller(event.call)
        queue = self.queues[caller.queue]
        queue.line.remove(caller)
        caller.priority = event.priority
        queue.line.insert(caller)

    def _moved(self, event: ev.CallerMoved) -> None:
        """Out of one line and into another, keeping the first entry time (events.CallerMoved).

        Refused (nothing changes) unless the caller waits, or holds a booked callback: a
        caller an agent rings for is about to be served. The new queue's max wait counts
        from the move: the supervisor chose that queue, an instant overflow would undo it.
        """
        caller = self.calls.get(event.call)
        if caller is None or caller.state not in (CallState.WAITING, CallState.CALLBACK):
            raise RoutingError(f"call {event.call} is not waiting in a queue")
        target = self.queues.get(event.queue)
        if target is None or target.retired:
            raise RoutingError(f"unknown queue {event.queue!r}")
        if target.spec.name == caller.queue:
            raise RoutingError(f"call {event.call} already waits in {event.queue}")
        if target.spec.max_length and len(target.line) >= target.spec.max_length:
            raise RoutingError(f"queue {event.queue} is full")
        old = self.queues[caller.queue]
        position = old.line.position(caller)
        self._out.append(qlog.info(self.now, caller.call, caller.queue, qlog.NONE, "MOVED",
                                   target.spec.name))  # fmt: skip
        self._out.append(qlog.exit_with_key(self.now, caller, "", position))
        old.line.remove(caller)
        self._cancel_call_timers(caller)
        caller.queue = target.spec.name
        caller.wanted = ""  # the supervisor's choice: any agent of the new queue
        caller.tried.clear()  # a new line, new agents: a new round
        caller.not_before = 0.0
        caller.priority = target.caller_priority(caller)
        position = target.line.insert(caller)
        caller.original_position = position
        target.stats.offered += 1
        self._call_transition(caller, CallTrigger.MOVE)  # the bus: the call's new queue
        self._out.append(qlog.enter_queue(self.now, caller, position))
        self._out.append(cmd.QueueChanged(caller.call, caller.queue, caller.entered))
        self._joined(target, caller, position, since=self.now)

    def _answered(self, event: ev.AgentAnswered) -> None:
        caller = self.calls.get(event.call)
        agent = self.agents.get(event.agent)
        if caller is None or agent is None or event.agent not in caller.ringing:
            # Answered an offer that was withdrawn meanwhile: drop the agent's leg.
            self._out.append(cmd.CancelRing(event.call, event.agent))
            return
        if event.agent in caller.unaccepted:
            return  # the phone was never rung for an offer not accepted yet: a stray report
        queue = self.queues[caller.queue]
        self._cancel(TimerKey(TimerKind.RING, caller.call, agent.id))
        caller.ringing.discard(agent.id)
        for other_id in sorted(caller.ringing):  # ringall: the first answer wins
            self._end_ring(caller, self.agents[other_id], AgentTrigger.RING_CANCELLED, quiet=True)
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
        self._out.append(qlog.connect(self.now, caller, agent.id))
        self._out.append(
            cmd.Connect(caller.call, agent.id, queue.spec.name, queue.spec.record,
                        caller.callback_number)
        )  # fmt: skip
        self._route_freed()

    def _accepted(self, event: ev.AgentAccepted) -> None:
        """Accept mode (``QueueSpec.accept``): the agent took the offer on the console.

        The first agent of a ringall to accept wins (the others' offers are withdrawn, as
        when one answers); the agent's phone rings now, for a ring timeout of its own, and
        its answer connects as for any ring. An offer not accepted within the ring timeout
        ends as not answered (RINGNOANSWER, counted towards the auto-pause).
        """
        caller = self.calls.get(event.call)
        if caller is None or event.agent not in caller.unaccepted:
            raise RoutingError(f"call {event.call} is not waiting for agent {event.agent} "
                               "to accept it")  # fmt: skip
        agent = self.agents[event.agent]
        queue = self.queues[caller.queue]
        caller.unaccepted.discard(agent.id)
        for other_id in sorted(caller.ringing - {agent.id}):
            self._end_ring(caller, self.agents[other_id], AgentTrigger.RING_CANCELLED, quiet=True)
        key = TimerKey(TimerKind.RING, caller.call, agent.id)
        self._cancel(key)
        timeout = queue.spec.ring_timeout
        self._start(key, self.now + timeout)
        ring = cmd.Ring(caller.call, agent.id, agent.spec.endpoint, timeout, queue.spec.name,
                        caller.callback_number, accepted=True)  # fmt: skip
        self._out.append(ring)
        self._route_freed()

    def _no_answer(self, event: ev.AgentNoAnswer) -> None:
        self._ring_ended(event.call, event.agent, counted=True, cancel=False)

    def _ring_failed(self, event: ev.RingFailed) -> None:
        pause = UNREACHABLE_RETRY if event.caller_unreachable else 0.0
        self._ring_ended(event.call, event.agent, counted=False, cancel=False, pause=pause)

    def _ring_ended(
        self, call: str, agent_id: str, *, counted: bool, cancel: bool, pause: float = 0.0
    ) -> None:
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
        caller.tried.add(agent_id)  # passed over for the rest of this round
        self._end_ring(caller, agent, trigger)
        self._settle_unanswered(caller, pause=pause)
        self._route_freed()

    def _end_ring(
        self, caller: Caller, agent: Agent, trigger: AgentTrigger, *, quiet: bool = False
    ) -> None:
        """Take ``agent`` off ``caller``'s offer; the agent is routed by the caller of this.

        A cancelled ring logs RINGCANCELED unless ``quiet``: the ring is withdrawn
        by the core (another agent answered a ringall), not cancelled by the caller.
        """
        caller.ringing.discard(agent.id)
        caller.unaccepted.discard(agent.id)
        self._cancel(TimerKey(TimerKind.RING, caller.call, agent.id))
        if trigger is AgentTrigger.RING_CANCELLED:
            self._out.append(cmd.CancelRing(caller.call, agent.id))
            if not quiet:
                self._out.append(qlog.ring_canceled(self.now, caller, agent.id))
        else:
            self._out.append(qlog.ring_no_answer(self.now, caller, agent.id))
        if trigger is AgentTrigger.AUTO_PAUSE:
            agent.pause_reason = self.spec.auto_pause_reason
            agent.pending_pause = ""  # a pause asked for while ringing: paused either way
        elif trigger is AgentTrigger.LOGOUT:
            self._out.append(cmd.CancelRing(caller.call, agent.id))
        self._agent_transition(agent, trigger, "ring " + str(trigger), call=caller.call)
        if trigger is AgentTrigger.AUTO_PAUSE:
            self._out += qlog.pause(self.now, agent)
        elif trigger is not AgentTrigger.LOGOUT:
            self._apply_pending(agent)
        if trigger is AgentTrigger.LOGOUT and caller.state is CallState.RINGING:
            self._settle_unanswered(caller, retry=False)
        if agent.available:
            self._freed.append(agent)

    def _cancel_rings(self, caller: Caller) -> None:
        """The caller hung up or left while agents rang: RINGCANCELED for each ring."""
        for agent_id in sorted(caller.ringing):
            self._end_ring(caller, self.agents[agent_id], AgentTrigger.RING_CANCELLED)

    def _settle_unanswered(self, caller: Caller, *, retry: bool = True, pause: float = 0.0) -> None:
        """Nobody rings for the caller any more: back in line after the retry pause
        (at least ``pause``)."""
        if caller.ringing or caller.state is not CallState.RINGING:
            return
        queue = self.queues[caller.queue]
        back = CallTrigger.NO_ANSWER_CALLBACK if caller.callback_number else CallTrigger.NO_ANSWER
        self._call_transition(caller, back)
        if caller.overdue:
            self._time_out(caller)
            return
        empty = queue.spec.leave_empty
        if back is CallTrigger.NO_ANSWER and empty and queue.is_empty(empty):
            # The last agents paused or left while ringing for this caller.
            self._leave(caller, cmd.LeaveReason.LEAVE_EMPTY, queue.spec.overflow,
                        qlog.exit_empty(self.now, caller, self._position(caller)))  # fmt: skip
            return
        wait = max(queue.spec.retry if retry else 0.0, pause)
        if wait > 0:
            caller.not_before = self.now + wait
            self._start(TimerKey(TimerKind.RETRY, caller.call), caller.not_before)
        else:
            self._route_caller(queue, caller)
            self._back_in_line(queue, caller)
        if back is CallTrigger.NO_ANSWER and not caller.ringing:  # no prompts over a ring
            self._schedule_announcements(queue, caller, first=True)

    def _caller_hung_up(self, event: ev.CallerHungUp) -> None:
        caller = self.calls.get(event.call)
        if caller is None:
            return
        if caller.state is not CallState.CONNECTED and caller.callback_number:
            return  # hanging up after booking, as expected, even if an agent already rings
        if caller.state is CallState.CONNECTED:
            line = qlog.complete(self.now, caller, "COMPLETECALLER")
            self._complete(caller, line, CallTrigger.HANGUP)
            return
        queue = self.queues[caller.queue]
        position = self._position(caller)
        self._cancel_rings(caller)
        waited = self.now - caller.entered
        queue.stats.abandoned += 1
        if waited <= queue.spec.service_level:
            queue.stats.abandoned_in_service_level += 1
        self._out.append(qlog.abandon(self.now, caller, position))
        self._finish(caller, CallTrigger.HANGUP)
        self._route_freed()

    def _agent_hung_up(self, event: ev.AgentHungUp) -> None:
        caller = self.calls.get(event.call)
        if caller is None or caller.state is not CallState.CONNECTED or caller.agent != event.agent:
            return
        line = qlog.complete(self.now, caller, "COMPLETEAGENT")
        self._complete(caller, line, CallTrigger.AGENT_HANGUP)

    def _transferred(self, event: ev.CallTransferred) -> None:
        """As the agent's hang-up (a late report after the caller left is dropped), with
        the transfer's line instead of COMPLETEAGENT."""
        caller = self.calls.get(event.call)
        if caller is None or caller.state is not CallState.CONNECTED or caller.agent != event.agent:
            return
        if event.attended:
            line = qlog.attended_transfer(self.now, caller, event.bridge)
        else:
            line = qlog.blind_transfer(self.now, caller, event.exten, event.context)
        self._complete(caller, line, CallTrigger.TRANSFER)

    def _complete(self, caller: Caller, line: cmd.QueueLog, trigger: CallTrigger) -> None:
        """A connected call ends (``line`` says how): the agent goes on to wrap-up."""
        queue = self.queues[caller.queue]
        agent = self.agents[caller.agent]
        talk = self.now - caller.answered
        self._out.append(line)
        queue.stats.completed += 1
        queue.stats.total_talk += talk
        self._finish(caller, trigger)
        self._call_ended(agent, queue, caller.call, talk)

    def _dtmf(self, event: ev.DtmfPressed) -> None:
        caller = self.calls.get(event.call)
        if caller is None or caller.state not in (CallState.WAITING, CallState.RINGING):
            return
        if caller.callback_number:
            return  # booked a callback: the caller is no longer on the line
        spec = self.queues[caller.queue].spec
        if spec.exit_key and event.digit == spec.exit_key:
            # Also while an agent rings (the caller hears music, not the ring): app_queue's
            # wait_for_answer() takes the exit key too, logging RINGCANCELED for each ring.
            position = self._position(caller)
            self._cancel_rings(caller)
            self._leave(caller, cmd.LeaveReason.EXIT_KEY, spec.exit_target,
                        qlog.exit_with_key(self.now, caller, event.digit, position))  # fmt: skip
            self._route_freed()
        elif (
            caller.state is CallState.WAITING and spec.callback is not None
            and event.digit == spec.callback.key and caller.number
        ):  # fmt: skip
            # Without a number the key alone books nothing: with ``CallbackOffer.ask_number``
            # the adapter collects a number and sends CallbackRequested.
            self._book_callback(caller, caller.number)

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
        if kind is TimerKind.RETRY:
            self._route_caller(queue, caller)
            self._back_in_line(queue, caller)
        elif kind is TimerKind.RELAX:
            self._schedule_relax(queue, caller, caller.waited(self.now))
            self._route_caller(queue, caller)
        elif kind is TimerKind.MAX_WAIT:
            if caller.state is CallState.RINGING:
                caller.overdue = True  # leaves when the ringing ends unanswered
            elif caller.state is CallState.WAITING:
                self._time_out(caller)
        elif kind is TimerKind.CALLBACK_OFFER:
            self._callback_offer_fell_due(queue, caller)
        elif kind is TimerKind.AGENT_WAIT:
            caller.wanted = ""  # waited long enough for that agent: any agent now
            self._route_caller(queue, caller)
        elif caller.state is CallState.WAITING:
            self._announce(kind, queue, caller)

    def _schedule_relax(self, queue: Queue, caller: Caller, waited: float) -> None:
        point = queue.next_relax(waited)
        if point is not None:
            self._start(TimerKey(TimerKind.RELAX, caller.call), caller.entered + point)

    def _start(self, key: TimerKey, at: float) -> None:
        self.timers[key] = at
        if key.call and not key.agent:
            self._call_timers.setdefault(key.call, set()).add(key)
        self._out.append(cmd.StartTimer(key, at))

    def _cancel(self, key: TimerKey) -> None:
        if self.timers.pop(key, None) is not None:
            self._out.append(cmd.CancelTimer(key))

    def _cancel_call_timers(self, caller: Caller) -> None:
        for key in self._call_timers.pop(caller.call, ()):
            self._cancel(key)

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
        # Passed over for a caller that already rang it this round, the agent looks again.
        while agent.available:
            offer = caller_for(agent, self.queues, self.agents, self.now, self.rng)
            if offer is None or not offer.agents:
                return
            self._offer(offer.queue, offer.caller, offer.agents)

    def _offer(self, queue: Queue, caller: Caller, agents: list[Agent]) -> None:
        if any(agent.id in caller.tried for agent in agents):
            caller.tried.clear()  # only agents tried in this round were free: a new round
        self._call_transition(caller, CallTrigger.OFFER)
        caller.ring_started = self.now
        timeout = queue.spec.ring_timeout
        accept = queue.spec.accept
        for agent in agents:
            caller.ringing.add(agent.id)
            if accept:
                caller.unaccepted.add(agent.id)
            queue.last_rung_order = queue.place(queue.members[agent.id])
            self._agent_transition(agent, AgentTrigger.OFFER, "offer", call=caller.call)
            agent.queue = queue.spec.name
            self._start(TimerKey(TimerKind.RING, caller.call, agent.id), self.now + timeout)
            self._out.append(cmd.Ring(caller.call, agent.id, agent.spec.endpoint, timeout,
                                      queue.spec.name, caller.callback_number, accept))  # fmt: skip

    def _leave(
        self, caller: Caller, reason: cmd.LeaveReason, target: Any, line: cmd.QueueLog
    ) -> None:
        """The caller leaves without an agent, with the queue_log line that says why."""
        queue = self.queues[caller.queue]
        if reason is cmd.LeaveReason.EXIT_KEY:
            queue.stats.exited += 1
        elif reason is cmd.LeaveReason.OVERFLOW:
            queue.stats.overflowed += 1
        self._out.append(line)
        self._out.append(cmd.LeaveQueue(caller.call, queue.spec.name, reason, target))
        self._finish(caller, CallTrigger.LEAVE)

    def _time_out(self, caller: Caller) -> None:
        """Max wait reached: the caller leaves for the queue's overflow target."""
        line = qlog.exit_with_timeout(self.now, caller, self._position(caller))
        self._leave(caller, cmd.LeaveReason.OVERFLOW, self.queues[caller.queue].spec.overflow, line)

    def _call_transition(self, caller: Caller, trigger: CallTrigger) -> None:
        previous = caller.state
        caller.state = next_call_state(caller.call, previous, trigger)
        self._out.append(
            cmd.CallStateChanged(caller.call, caller.queue, previous, caller.state, trigger)
        )

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
                    line = qlog.exit_empty(self.now, caller, self._position(caller))
                    self._leave(caller, cmd.LeaveReason.LEAVE_EMPTY, queue.spec.overflow, line)

    def _stop_waiting_for(self, agent: Agent) -> None:
        """The agent logged out or its phone became unreachable: callers waiting for it
        (``Caller.wanted``) take any agent of their queue now, not at the end of the wait."""
        for member in agent.by_priority:
            queue = self.queues[member.queue]
            for caller in [c for c in queue.line if c.wanted == agent.id]:
                caller.wanted = ""
                self._cancel(TimerKey(TimerKind.AGENT_WAIT, caller.call))
                self._route_caller(queue, caller)

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

    def _position(self, caller: Caller) -> int:
        return self.queues[caller.queue].line.position(caller)

    def _waiting_caller(self, call: str) -> Caller:
        caller = self.calls.get(call)
        if caller is None or caller.state is not CallState.WAITING:
            raise RoutingError(f"call {call} is not waiting in a queue")
        return caller
