"""Agent and call states with their transition tables.

Every change of state goes through :func:`transition`, which looks the pair
(state, trigger) up in a table: a pair that is not there is a bug in the caller
of the core (or a stale event) and raises ``IllegalTransitionError`` before anything
is changed.
"""

from __future__ import annotations

from enum import StrEnum


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    PAUSED = "paused"
    RINGING = "ringing"  # reserved for one offered call
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class CallState(StrEnum):
    WAITING = "waiting"  # in line, music on hold
    CALLBACK = "callback"  # hung up, keeps the place in line, to be called back
    RINGING = "ringing"  # offered to one agent (or several for ringall)
    CONNECTED = "connected"
    DONE = "done"  # left the queue: answered and ended, abandoned, overflowed, exited


class AgentTrigger(StrEnum):
    LOGIN = "login"
    LOGIN_PAUSED = "login_paused"
    LOGOUT = "logout"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    OFFER = "offer"
    ANSWER = "answer"
    NO_ANSWER = "no_answer"
    AUTO_PAUSE = "auto_pause"  # no answer, and the ring-no-answer limit is reached
    RING_CANCELLED = "ring_cancelled"
    HANGUP = "hangup"  # call ended, wrap-up follows
    HANGUP_READY = "hangup_ready"  # call ended, no wrap-up
    HANGUP_PAUSED = "hangup_paused"  # call ended, a pause was asked for during the call
    HANGUP_LOGOUT = "hangup_logout"
    WRAPUP_DONE = "wrapup_done"
    WRAPUP_PAUSED = "wrapup_paused"
    WRAPUP_LOGOUT = "wrapup_logout"


class CallTrigger(StrEnum):
    OFFER = "offer"
    ANSWER = "answer"
    NO_ANSWER = "no_answer"  # every ringing agent failed: back in line
    NO_ANSWER_CALLBACK = "no_answer_callback"  # ... or back to waiting for a callback
    CALLBACK = "callback"
    HANGUP = "hangup"  # the caller hung up (abandon, or end of a connected call)
    AGENT_HANGUP = "agent_hangup"
    TRANSFER = "transfer"  # the agent handed the caller on (blind or attended)
    LEAVE = "leave"  # overflow, exit key, leave-when-empty
    MOVE = "move"  # a supervisor moved the waiting caller to another queue
    JOIN = "join"  # entered a queue (the bus's waiting -[join]-> waiting: no transition)


A, T = AgentState, AgentTrigger
AGENT_TRANSITIONS: dict[tuple[AgentState, AgentTrigger], AgentState] = {
    (A.LOGGED_OUT, T.LOGIN): A.READY,
    (A.LOGGED_OUT, T.LOGIN_PAUSED): A.PAUSED,
    (A.READY, T.PAUSE): A.PAUSED,
    (A.READY, T.LOGOUT): A.LOGGED_OUT,
    (A.READY, T.OFFER): A.RINGING,
    (A.PAUSED, T.PAUSE): A.PAUSED,  # a new reason
    (A.PAUSED, T.UNPAUSE): A.READY,
    (A.PAUSED, T.LOGOUT): A.LOGGED_OUT,
    (A.RINGING, T.ANSWER): A.ON_CALL,
    (A.RINGING, T.NO_ANSWER): A.READY,
    (A.RINGING, T.AUTO_PAUSE): A.PAUSED,
    (A.RINGING, T.RING_CANCELLED): A.READY,
    (A.RINGING, T.LOGOUT): A.LOGGED_OUT,
    (A.ON_CALL, T.HANGUP): A.WRAP_UP,
    (A.ON_CALL, T.HANGUP_READY): A.READY,
    (A.ON_CALL, T.HANGUP_PAUSED): A.PAUSED,
    (A.ON_CALL, T.HANGUP_LOGOUT): A.LOGGED_OUT,
    (A.WRAP_UP, T.WRAPUP_DONE): A.READY,
    (A.WRAP_UP, T.WRAPUP_PAUSED): A.PAUSED,
    (A.WRAP_UP, T.WRAPUP_LOGOUT): A.LOGGED_OUT,
}

C, U = CallState, CallTrigger
CALL_TRANSITIONS: dict[tuple[CallState, CallTrigger], CallState] = {
    (C.WAITING, U.OFFER): C.RINGING,
    (C.WAITING, U.CALLBACK): C.CALLBACK,
    (C.WAITING, U.HANGUP): C.DONE,
    (C.WAITING, U.LEAVE): C.DONE,
    (C.WAITING, U.MOVE): C.WAITING,
    (C.CALLBACK, U.OFFER): C.RINGING,
    (C.CALLBACK, U.LEAVE): C.DONE,
    (C.CALLBACK, U.MOVE): C.CALLBACK,
    (C.RINGING, U.ANSWER): C.CONNECTED,
    (C.RINGING, U.NO_ANSWER): C.WAITING,
    (C.RINGING, U.NO_ANSWER_CALLBACK): C.CALLBACK,
    (C.RINGING, U.HANGUP): C.DONE,
    (C.RINGING, U.LEAVE): C.DONE,
    (C.CONNECTED, U.HANGUP): C.DONE,
    (C.CONNECTED, U.AGENT_HANGUP): C.DONE,
    (C.CONNECTED, U.TRANSFER): C.DONE,
}
del A, T, C, U


class IllegalTransitionError(RuntimeError):
    def __init__(self, subject: str, state: StrEnum, trigger: StrEnum) -> None:
        super().__init__(f"{subject}: no transition from {state} on {trigger}")
        self.subject = subject
        self.state = state
        self.trigger = trigger


def next_agent_state(agent: str, state: AgentState, trigger: AgentTrigger) -> AgentState:
    try:
        return AGENT_TRANSITIONS[state, trigger]
    except KeyError:
        raise IllegalTransitionError(f"agent {agent}", state, trigger) from None


def next_call_state(call: str, state: CallState, trigger: CallTrigger) -> CallState:
    try:
        return CALL_TRANSITIONS[state, trigger]
    except KeyError:
        raise IllegalTransitionError(f"call {call}", state, trigger) from None
