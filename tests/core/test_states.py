"""The transition tables, and the router following them for every request in every state."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product

import pytest

from callcenter.core.states import (
    AGENT_TRANSITIONS,
    CALL_TRANSITIONS,
    AgentState,
    AgentTrigger,
    CallState,
    CallTrigger,
    IllegalTransitionError,
    next_agent_state,
    next_call_state,
)
from tests.core.builders import Outcome, Replay, queue, routing, snapshot

S = AgentState

# -- the tables themselves -------------------------------------------------------------------


@pytest.mark.parametrize(("state", "trigger"), list(product(AgentState, AgentTrigger)))
def test_agent_table_allows_exactly_its_entries(state: AgentState, trigger: AgentTrigger) -> None:
    if (state, trigger) in AGENT_TRANSITIONS:
        assert next_agent_state("1001", state, trigger) is AGENT_TRANSITIONS[state, trigger]
        return
    with pytest.raises(IllegalTransitionError) as caught:
        next_agent_state("1001", state, trigger)
    assert (caught.value.subject, caught.value.state, caught.value.trigger) == (
        "agent 1001", state, trigger,
    )  # fmt: skip


@pytest.mark.parametrize(("state", "trigger"), list(product(CallState, CallTrigger)))
def test_call_table_allows_exactly_its_entries(state: CallState, trigger: CallTrigger) -> None:
    if (state, trigger) in CALL_TRANSITIONS:
        assert next_call_state("c1", state, trigger) is CALL_TRANSITIONS[state, trigger]
        return
    with pytest.raises(IllegalTransitionError) as caught:
        next_call_state("c1", state, trigger)
    assert str(caught.value) == f"call c1: no transition from {state} on {trigger}"


def test_a_finished_call_has_no_way_out() -> None:
    assert not [key for key in CALL_TRANSITIONS if key[0] is CallState.DONE]


def test_every_agent_state_can_be_reached_and_left() -> None:
    reached = {S.LOGGED_OUT} | set(AGENT_TRANSITIONS.values())
    left = {state for state, _ in AGENT_TRANSITIONS}

    assert reached == left == set(AgentState)


def test_an_agent_can_always_end_up_logged_out() -> None:
    can_log_out = {S.LOGGED_OUT}
    while True:
        more = {s for (s, _), to in AGENT_TRANSITIONS.items() if to in can_log_out} - can_log_out
        if not more:
            break
        can_log_out |= more

    assert can_log_out == set(AgentState)


# -- the router keeps to the table -----------------------------------------------------------


def agent_in(state: AgentState) -> Replay:
    """Agent 1001 in ``state`` (a queue with 30 s of wrap-up)."""
    r = Replay(routing(queue(members=("1001",), wrapup=30)))
    if state is S.LOGGED_OUT:
        return r
    r.login("1001", paused="lunch" if state is S.PAUSED else None)
    if state in (S.RINGING, S.ON_CALL, S.WRAP_UP):
        r.call("c1")
    if state in (S.ON_CALL, S.WRAP_UP):
        r.answer("c1", "1001")
    if state is S.WRAP_UP:
        r.caller_hangs_up("c1")
    assert r.state("1001") is state
    return r


REQUESTS: dict[str, tuple[AgentTrigger, Callable[[Replay], Outcome]]] = {
    "log in": (AgentTrigger.LOGIN, lambda r: r.login("1001")),
    "log in paused": (AgentTrigger.LOGIN_PAUSED, lambda r: r.login("1001", paused="lunch")),
    "log out": (AgentTrigger.LOGOUT, lambda r: r.logout("1001")),
    "pause": (AgentTrigger.PAUSE, lambda r: r.pause("1001", "training")),
    "unpause": (AgentTrigger.UNPAUSE, lambda r: r.unpause("1001")),
    "end wrap-up": (AgentTrigger.WRAPUP_DONE, lambda r: r.end_wrapup("1001")),
}
# Accepted and kept for later: they apply when the call (and its wrap-up) ends.
DEFERRED = {
    (S.RINGING, "pause"), (S.ON_CALL, "pause"), (S.WRAP_UP, "pause"),
    (S.ON_CALL, "log out"), (S.WRAP_UP, "log out"),
}  # fmt: skip


@pytest.mark.parametrize(("state", "request_name"), list(product(AgentState, REQUESTS)))
def test_agent_requests_follow_the_transition_table(state: AgentState, request_name: str) -> None:
    r = agent_in(state)
    trigger, send = REQUESTS[request_name]
    before = snapshot(r.router)

    if (state, request_name) in DEFERRED:
        send(r)
        assert r.state("1001") is state
    elif (state, trigger) in AGENT_TRANSITIONS:
        send(r)
        assert r.state("1001") is AGENT_TRANSITIONS[state, trigger]
    else:
        with pytest.raises(IllegalTransitionError):
            send(r)
        assert snapshot(r.router) == before


@pytest.mark.parametrize("state", list(AgentState))
def test_agent_state_changes_are_announced_as_a_chain_of_table_entries(state: AgentState) -> None:
    r = agent_in(state)
    allowed = {(old, new) for (old, _), new in AGENT_TRANSITIONS.items()}

    changes = [(old, new) for _, old, new in r.history.state_changes]

    assert all(change in allowed for change in changes)
    states = [S.LOGGED_OUT] + [new for _, new in changes]
    assert [old for old, _ in changes] == states[:-1]
    assert states[-1] is state
