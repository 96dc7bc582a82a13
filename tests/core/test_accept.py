"""Accept mode (``QueueSpec.accept``): the offer goes to the agent's console first, and
the phone rings only once the agent accepts it within the ring timeout.

Why this way round (and not a phone that auto-answers and waits for the accept): a
phone never rings for a call its agent has not seen on the screen, the agent decides
with the screen pop in front of them, and nothing on Asterisk is spent on offers that
are let go. Not accepted in time is not answered: RINGNOANSWER, and it counts towards
the ring-no-answer auto-pause, as a phone left ringing does.
"""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.core import commands as cmd
from callcenter.core.errors import RoutingError
from callcenter.core.spec import Strategy
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, agent, queue, routing, snapshot


def accepting(**settings: Any) -> Replay:
    settings.setdefault("ring_timeout", 10)
    return Replay(routing(queue(members=["1001", "1002"], accept=True, retry=0, **settings)))


def test_the_offer_reaches_the_console_only_then_the_phone_rings_on_accept() -> None:
    r = accepting()
    r.login("1001")

    offered = r.call("c1")

    (ring,) = offered.of(cmd.Ring)
    assert (ring.agent, ring.accept, ring.accepted) == ("1001", True, False)
    assert r.state("1001") is AgentState.RINGING  # reserved for this call meanwhile
    r.wait(4)
    accepted = r.accept("c1", "1001")
    (ring,) = accepted.of(cmd.Ring)
    assert (ring.agent, ring.accept, ring.accepted) == ("1001", False, True)
    # The phone gets a ring timeout of its own from the accept.
    assert accepted.started == {TimerKey(TimerKind.RING, "c1", "1001"): 14}
    r.wait(2)
    out = r.answer("c1", "1001")
    assert out.connected == [("c1", "1001")]
    assert out.lines("CONNECT") == ["c1|support|1001|CONNECT|6|c1|6"]


def test_an_offer_not_accepted_in_time_is_not_answered() -> None:
    r = accepting()
    r.login("1001", "1002")
    r.call("c1")

    out = r.wait(10)

    assert out.lines("RINGNOANSWER") == ["c1|support|1001|RINGNOANSWER|10000"]
    assert r.ringing() == {"1002": "c1"}  # on to the next agent
    assert r.router.agents["1001"].no_answer_streak == 1
    with pytest.raises(RoutingError):
        r.accept("c1", "1001")  # too late


def test_letting_offers_go_unaccepted_pauses_the_agent_at_the_limit() -> None:
    r = Replay(routing(
        queue(members=["1001"], accept=True, retry=0, ring_timeout=5),
        agents=[agent("1001", ring_no_answer_limit=2)],
    ))  # fmt: skip
    r.login("1001")
    r.call("c1")
    r.wait(5)
    r.wait(5)

    assert r.state("1001") is AgentState.PAUSED
    assert r.call_state("c1") is CallState.WAITING


def test_the_phone_not_answered_after_the_accept_rings_out_as_usual() -> None:
    r = accepting()
    r.login("1001")
    r.call("c1")
    r.accept("c1", "1001")

    out = r.wait(10)

    assert out.ring_cancelled == ["1001"]
    assert out.verbs == ["RINGNOANSWER"]


def test_ringall_the_first_to_accept_wins_the_others_are_withdrawn() -> None:
    r = accepting(strategy=Strategy.RINGALL)
    r.login("1001", "1002")
    assert sorted(r.call("c1").rung) == ["1001", "1002"]

    out = r.accept("c1", "1002")

    assert out.ring_cancelled == ["1001"]
    assert "RINGCANCELED" not in out.verbs  # withdrawn by the core, not cancelled by the caller
    assert r.state("1001") is AgentState.READY
    assert [(ring.agent, ring.accepted) for ring in out.of(cmd.Ring)] == [("1002", True)]
    with pytest.raises(RoutingError):
        r.accept("c1", "1001")


def test_a_caller_hanging_up_withdraws_the_console_offer() -> None:
    r = accepting()
    r.login("1001")
    r.call("c1")

    out = r.caller_hangs_up("c1")

    assert out.ring_cancelled == ["1001"]
    assert out.verbs == ["RINGCANCELED", "ABANDON"]
    assert r.state("1001") is AgentState.READY


def test_a_phone_answer_before_any_accept_is_a_stray_report() -> None:
    r = accepting()
    r.login("1001")
    r.call("c1")

    assert r.answer("c1", "1001") == []
    assert r.call_state("c1") is CallState.RINGING


@pytest.mark.parametrize("case", ["no offer", "other agent", "queue rings phones"])
def test_accepts_that_make_no_sense_are_refused_and_change_nothing(case: str) -> None:
    r = Replay(routing(queue(members=["1001", "1002"], accept=case != "queue rings phones")))
    r.login("1001")
    if case != "no offer":
        r.call("c1")
    agent_id = "1002" if case == "other agent" else "1001"
    before = snapshot(r.router)

    with pytest.raises(RoutingError):
        r.accept("c1", agent_id)

    assert snapshot(r.router) == before
