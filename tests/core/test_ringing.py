"""Ringing an agent: ring timeout, retry, missed calls and auto-pause, failed rings."""

from __future__ import annotations

from typing import Any

from callcenter.core import commands as cmd
from callcenter.core.router import UNREACHABLE_RETRY
from callcenter.core.spec import EmptyCondition, Strategy
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, agent, queue, routing

READY, PAUSED, RINGING = AgentState.READY, AgentState.PAUSED, AgentState.RINGING


def ringing(limit: int = 3, **settings: Any) -> Replay:
    settings.setdefault("strategy", Strategy.LINEAR)
    agents = [agent(a, ring_no_answer_limit=limit) for a in ("1001", "1002")]
    return Replay(routing(queue(members=("1001", "1002"), **settings), agents=agents))


def miss(r: Replay, call: str, agent_id: str) -> None:
    """The agent lets the call ring out; the caller is then served by someone else."""
    r.wait_for(TimerKind.RING, call, agent_id)


def test_ring_carries_the_endpoint_timeout_and_queue() -> None:
    r = ringing(ring_timeout=20)
    r.login("1001")

    out = r.call("c1")

    assert out.of(cmd.Ring) == [cmd.Ring("c1", "1001", "PJSIP/1001", 20, "support")]
    assert out.started == {TimerKey(TimerKind.RING, "c1", "1001"): 20}


def test_ring_timeout_stops_the_ring_and_frees_the_agent() -> None:
    r = ringing(ring_timeout=15, retry=5)
    r.login("1001")
    r.call("c1")

    out = r.wait(15)

    assert out.of(cmd.CancelRing) == [cmd.CancelRing("c1", "1001")]
    assert out.lines("RINGNOANSWER") == ["c1|support|1001|RINGNOANSWER|15000"]
    assert r.state("1001") is READY
    assert r.call_state("c1") is CallState.WAITING
    assert r.line() == ["c1"]


def test_caller_is_offered_again_after_the_retry_pause() -> None:
    r = ringing(ring_timeout=15, retry=5)
    r.login("1001")
    r.call("c1")

    out = r.wait(15)

    assert out.started == {TimerKey(TimerKind.RETRY, "c1"): 20}
    assert r.wait(4.9).rung == []
    assert r.wait(0.1).rings == [("c1", "1001")]


def test_agent_who_missed_a_call_takes_the_next_caller_during_the_retry_pause() -> None:
    r = ringing(retry=5)
    r.login("1001")
    r.call("c1")
    r.call("c2")

    out = r.no_answer("c1", "1001")

    assert out.rings == [("c2", "1001")]
    assert r.line() == ["c1", "c2"]


def test_caller_is_offered_to_the_next_agent_after_a_decline_without_retry_pause() -> None:
    r = ringing(retry=0, strategy=Strategy.RR_ORDERED)
    r.login("1001", "1002")
    r.call("c1")

    out = r.no_answer("c1", "1001")

    assert out.rings == [("c1", "1002")]
    assert TimerKey(TimerKind.RETRY, "c1") not in r.timers


def test_declined_call_logs_ringnoanswer_with_the_ring_time_in_milliseconds() -> None:
    r = ringing()
    r.login("1001")
    r.call("c1")
    r.wait(3.25)

    out = r.no_answer("c1", "1001")

    assert out.lines("RINGNOANSWER") == ["c1|support|1001|RINGNOANSWER|3250"]
    assert out.cancelled == [TimerKey(TimerKind.RING, "c1", "1001")]
    assert out.ring_cancelled == []  # the phone already stopped ringing


def test_connect_reports_hold_time_and_ring_time() -> None:
    r = ringing()
    r.call("c1")
    r.wait(12)
    r.login("1001")
    r.wait(3)

    out = r.answer("c1", "1001")

    assert out.lines("CONNECT") == ["c1|support|1001|CONNECT|15|c1|3"]
    assert out.of(cmd.Connect) == [cmd.Connect("c1", "1001", "support", record=False)]
    assert out.cancelled[0] == TimerKey(TimerKind.RING, "c1", "1001")
    assert r.line() == []


def test_connect_asks_for_recording_when_the_queue_records() -> None:
    r = ringing(record=True)
    r.login("1001")
    r.call("c1")

    assert r.answer("c1", "1001").of(cmd.Connect)[0].record is True


# -- ring no answer: counting and auto-pause -------------------------------------------------


def test_agent_is_paused_after_the_configured_number_of_missed_calls() -> None:
    r = ringing(limit=2, retry=0)
    r.login("1001")
    r.call("c1")
    miss(r, "c1", "1001")
    assert r.state("1001") is RINGING  # rung again: one miss is not enough

    out = r.wait_for(TimerKind.RING, "c1", "1001")

    assert r.state("1001") is PAUSED
    assert r.router.agents["1001"].pause_reason == "ring-no-answer"
    assert out.log[-1:] == ["NONE|support|1001|PAUSE|ring-no-answer"]
    assert out.state_changes[-1:] == [("1001", RINGING, PAUSED)]


def test_auto_pause_uses_the_configured_reason() -> None:
    agents = [agent("1001", ring_no_answer_limit=1)]
    r = Replay(routing(queue(members=("1001",)), agents=agents, auto_pause_reason="missed"))
    r.login("1001")
    r.call("c1")

    out = r.no_answer("c1", "1001")

    assert r.state("1001") is PAUSED
    assert out.lines("PAUSE") == ["NONE|support|1001|PAUSE|missed"]
    assert out.of(cmd.AgentStateChanged)[-1].reason == "missed"


def test_missed_call_streak_restarts_after_an_answered_call() -> None:
    r = ringing(limit=2, retry=0)
    r.login("1001")
    r.call("c1")
    r.no_answer("c1", "1001")  # rung again at once
    r.talk("c1", "1001", 10)
    r.call("c2")

    r.no_answer("c2", "1001")

    assert r.state("1001") is RINGING


def test_failed_ring_does_not_count_as_a_missed_call() -> None:
    r = ringing(limit=2, retry=0)
    r.login("1001")
    r.call("c1")
    r.no_answer("c1", "1001")
    r.ring_failed("c1", "1001")
    r.ring_failed("c1", "1001")

    assert r.state("1001") is RINGING
    r.no_answer("c1", "1001")
    assert r.state("1001") is PAUSED


def test_failed_ring_frees_the_agent_and_tries_the_next_one() -> None:
    r = ringing(retry=0, strategy=Strategy.RR_ORDERED)
    r.login("1001", "1002")
    r.call("c1")

    out = r.ring_failed("c1", "1001", "busy")

    assert out.rings == [("c1", "1002")]
    assert r.state("1001") is READY


def test_phone_that_fails_does_not_keep_the_caller_from_a_ready_agent() -> None:
    r = ringing(retry=5)
    r.login("1001", "1002")
    r.call("c1")  # linear: 1001 first
    r.ring_failed("c1", "1001", "unreachable")

    out = r.wait(5)

    assert out.rings == [("c1", "1002")]


def test_caller_whose_server_is_down_waits_in_place_while_the_agent_serves_the_next() -> None:
    """Its Asterisk server unreachable, the head caller cannot be rung (the originate goes
    to its server): without a pause, ``retry: 0`` would offer it again at once, round
    after round, and the caller behind would wait for nothing."""
    r = ringing(retry=0)
    r.login("1001")
    r.calls("c1", "c2")

    out = r.ring_failed("c1", "1001", "server down", caller_unreachable=True)

    assert out.rings == [("c2", "1001")]
    assert r.state("1001") is RINGING
    assert r.line() == ["c1", "c2"]  # kept its place
    r.answer("c2", "1001")
    r.login("1002")  # free, but c1 is not offered before the pause is over
    assert r.state("1002") is READY

    out = r.wait(UNREACHABLE_RETRY)

    assert out.rings == [("c1", "1002")]


def test_failed_ring_on_the_agents_side_keeps_the_queues_retry() -> None:
    r = ringing(retry=0)
    r.login("1001", "1002")
    r.call("c1")

    out = r.ring_failed("c1", "1001", "unreachable")

    assert out.rings == [("c1", "1002")]  # at once: nothing wrong with the caller


def test_limit_zero_never_auto_pauses() -> None:
    r = ringing(limit=0, retry=0)
    r.login("1001")
    r.call("c1")
    for _ in range(10):
        r.no_answer("c1", "1001")

    assert r.state("1001") is RINGING


def test_auto_paused_agent_gets_the_full_number_of_chances_after_unpausing() -> None:
    r = ringing(limit=2, retry=0)
    r.login("1001")
    r.call("c1")
    r.no_answer("c1", "1001")
    r.no_answer("c1", "1001")  # auto-paused
    r.unpause("1001")  # rung for c1 again

    r.no_answer("c1", "1001")

    assert r.state("1001") is RINGING


def test_auto_paused_agent_who_had_asked_for_a_pause_is_ready_after_one_unpause() -> None:
    r = ringing(limit=1)
    r.login("1001")
    r.call("c1")
    r.pause("1001", "lunch")  # kept for after the ring ...
    r.no_answer("c1", "1001")  # ... but the miss pauses the agent anyway

    r.unpause("1001")

    assert r.state("1001") is READY


def test_auto_paused_last_agent_sends_callers_away_when_the_queue_leaves_when_paused() -> None:
    r = ringing(
        limit=1, retry=5, leave_empty=frozenset({EmptyCondition.PAUSED, EmptyCondition.UNAVAILABLE})
    )
    r.login("1001")
    r.call("c1")

    out = r.no_answer("c1", "1001")

    assert r.state("1001") is PAUSED
    assert out.left == [cmd.LeaveQueue("c1", "support", cmd.LeaveReason.LEAVE_EMPTY, None)]
    assert out.lines("EXITEMPTY") == ["c1|support|NONE|EXITEMPTY|1|1|0"]


# -- one call per agent, one agent per call --------------------------------------------------


def test_ringing_agent_is_not_offered_a_second_caller() -> None:
    r = ringing()
    r.login("1001")
    r.call("c1")

    assert r.call("c2").rung == []
    assert r.ringing() == {"1001": "c1"}


def test_caller_rings_one_agent_at_a_time_outside_ringall() -> None:
    r = ringing(retry=0, strategy=Strategy.RR_ORDERED)
    r.login("1001")
    r.call("c1")

    assert r.login("1002").rung == []  # c1 already rings 1001
    assert r.no_answer("c1", "1001").rings == [("c1", "1002")]
