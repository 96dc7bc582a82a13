"""An agent's day as the router sees it: log in and out, pause, phone, wrap-up.

Requests from people (log in, pause, end wrap-up) that make no sense in the
agent's state are refused before anything changes. A pause or logout asked for
while the agent rings, talks or wraps up is kept and applied when that ends
(``_after_call``, ``_apply_pending``).

Every change of an agent goes through ``_agent_transition``: the state by the
transition table, the queues' available-member indexes and condition counts
kept in step (``_set_agent``), the bus told, and queue_log's member lines.

``AgentLifecycle`` is a part of ``Router`` (its base class): it works on the
router's state and calls back into routing, rings and the leave-when-empty rule,
declared below for the type checker only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core import queue_log as qlog
from callcenter.core.agent import Agent
from callcenter.core.errors import RoutingError
from callcenter.core.queue import Queue
from callcenter.core.states import AgentState, AgentTrigger, next_agent_state
from callcenter.core.timers import TimerKey, TimerKind

if TYPE_CHECKING:
    from callcenter.core.line import Caller
    from callcenter.core.spec import RoutingSpec


class AgentLifecycle:
    if TYPE_CHECKING:  # provided by Router
        spec: RoutingSpec
        agents: dict[str, Agent]
        queues: dict[str, Queue]
        calls: dict[str, Caller]
        now: float
        _out: list[cmd.Command]

        def _agent(self, agent: str) -> Agent: ...
        def _queue(self, queue: str) -> Queue: ...
        def _route_agent(self, agent: Agent) -> None: ...
        def _end_ring(
            self, caller: Caller, agent: Agent, trigger: AgentTrigger, *, quiet: bool = False
        ) -> None: ...
        def _check_leave_empty(self, agent: Agent) -> None: ...
        def _stop_waiting_for(self, agent: Agent) -> None: ...
        def _start(self, key: TimerKey, at: float) -> None: ...
        def _cancel(self, key: TimerKey) -> None: ...

    # -- requests from agents and reports from their phones ------------------------------------

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
            self._out.append(qlog.add_member(self.now, member.queue, agent, paused))
        if paused:
            # The reason too, as app_queue logs a QueuePause with a reason after the add.
            self._out += qlog.pause(self.now, agent)
        self._route_agent(agent)

    def _logged_out(self, event: ev.AgentLoggedOut) -> None:
        agent = self._agent(event.agent)
        if agent.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
            agent.pending_logout = True
        elif agent.state is AgentState.RINGING:
            self._end_ring(self.calls[agent.call], agent, AgentTrigger.LOGOUT)
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
        self._out += qlog.pause(self.now, agent)

    def _unpaused(self, event: ev.AgentUnpaused) -> None:
        agent = self._agent(event.agent)
        if agent.pending_pause:
            agent.pending_pause = ""
            return
        self._agent_transition(agent, AgentTrigger.UNPAUSE, "unpause")
        self._out += qlog.unpause(self.now, agent)
        agent.pause_reason = ""
        self._route_agent(agent)

    def _reachability(self, event: ev.AgentReachabilityChanged) -> None:
        agent = self._agent(event.agent)
        if agent.reachable == event.reachable:
            return
        self._set_agent(agent, agent.state, event.reachable)
        if event.reachable:
            self._route_agent(agent)
        else:
            self._check_leave_empty(agent)
            self._stop_waiting_for(agent)

    def _wrapup_finished(self, event: ev.WrapUpFinished) -> None:
        agent = self._agent(event.agent)
        next_agent_state(agent.id, agent.state, AgentTrigger.WRAPUP_DONE)  # raises if not
        self._end_wrapup(agent)

    def _disposition(self, event: ev.DispositionSet) -> None:
        agent = self._agent(event.agent)
        allowed = self._queue(agent.queue).spec.dispositions if agent.queue else frozenset()
        if allowed and event.code not in allowed:
            raise RoutingError(f"disposition {event.code!r} is not one of {sorted(allowed)}")
        self._out.append(
            qlog.info(self.now, event.call, agent.queue or qlog.NONE, agent.id, "DISPOSITION",
                      event.code)
        )  # fmt: skip

    # -- after a call: wrap-up, then what the agent asked for meanwhile ----------------------------

    def _call_ended(self, agent: Agent, queue: Queue, call: str, talk: float) -> None:
        """The agent's side of a call that ended: wrap-up, or straight on."""
        agent.calls += 1
        agent.talk_time += talk
        wrapup = agent.wrapup_time(queue.spec)
        if wrapup > 0:
            self._agent_transition(agent, AgentTrigger.HANGUP, "call ended", call=call)
            self._out.append(qlog.wrapup_started(self.now, agent, call))
            self._start(TimerKey(TimerKind.WRAPUP, agent=agent.id), self.now + wrapup)
        else:
            queue.handle_times.append(talk)
            agent.idle_since = self.now
            self._agent_transition(agent, self._after_call(agent, "HANGUP"), "call ended")
            self._route_agent(agent)

    def _end_wrapup(self, agent: Agent) -> None:
        self._cancel(TimerKey(TimerKind.WRAPUP, agent=agent.id))
        self._out.append(qlog.wrapup_ended(self.now, agent, agent.call))
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
            self._out += qlog.pause(self.now, agent)
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
            self._out += qlog.pause(self.now, agent)

    # -- reloads -----------------------------------------------------------------------------------

    def _log_membership_change(self, agent: Agent, before: set[str]) -> None:
        """REMOVEMEMBER / ADDMEMBER for the queues a logged-in agent left or joined on a reload."""
        after = set(agent.memberships)
        for name in sorted(before - after):
            self._out.append(qlog.remove_member(self.now, name, agent))
        paused = agent.state is AgentState.PAUSED
        for name in sorted(after - before):
            self._out.append(qlog.add_member(self.now, name, agent, paused))
            if paused:
                self._out += qlog.pause(self.now, agent, [name])

    def _retire_agent(self, agent: Agent) -> None:
        """An agent removed from the configuration: logged out now, or after the call."""
        if agent.state in (AgentState.READY, AgentState.PAUSED):
            self._agent_transition(agent, AgentTrigger.LOGOUT, "removed from config")
        elif agent.state is AgentState.RINGING:
            self._end_ring(self.calls[agent.call], agent, AgentTrigger.LOGOUT)
        elif agent.state is not AgentState.LOGGED_OUT:
            agent.pending_logout = True
            return
        del self.agents[agent.id]

    # -- every change of an agent ------------------------------------------------------------------

    def _agent_transition(
        self, agent: Agent, trigger: AgentTrigger, cause: str, call: str = ""
    ) -> None:
        previous = agent.state
        state = next_agent_state(agent.id, previous, trigger)
        self._set_agent(agent, state, agent.reachable)
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
                self._out.append(qlog.remove_member(self.now, member.queue, agent))
        if not agent.available:  # paused, gone, or busy: inuse / wrapup conditions count too
            self._check_leave_empty(agent)
        if state is AgentState.LOGGED_OUT:
            self._stop_waiting_for(agent)

    def _set_agent(self, agent: Agent, state: AgentState, reachable: bool) -> None:
        """Change an agent's state and phone, keeping queue indexes and condition counts in step."""
        was_available, was_condition = agent.available, agent.condition
        agent.state, agent.reachable = state, reachable
        is_available, condition = agent.available, agent.condition
        if condition is was_condition and is_available is was_available:
            return
        for member in agent.by_priority:
            queue = self.queues[member.queue]
            if condition is not was_condition:
                queue.conditions[was_condition] -= 1
                queue.conditions[condition] += 1
            if was_available and not is_available:
                queue.remove_available(agent.id)
            elif is_available and not was_available:
                queue.add_available(agent)

    def _check_pause_reason(self, reason: str) -> None:
        reasons = self.spec.pause_reasons
        if reasons and reason not in reasons:
            raise RoutingError(f"pause reason {reason!r} is not one of {sorted(reasons)}")
