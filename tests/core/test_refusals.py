"""Requests that make no sense are refused and change nothing; late reports are ignored quietly.

A person's request (log in, pause, end wrap-up, set a disposition) that does not fit
the current state raises before anything changes. A report from the telephone side
that arrives after the fact (an answer after the caller hung up, a timer that was
cancelled meanwhile) is normal in a distributed system and must not raise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from callcenter.core import commands as cmd
from callcenter.core.router import RoutingError
from callcenter.core.spec import Strategy
from callcenter.core.states import AgentState, CallState, IllegalTransitionError
from callcenter.core.timers import TimerKind
from tests.core.builders import Outcome, Replay, queue, routing, snapshot


def desk(**settings: Any) -> Replay:
    settings.setdefault("strategy", Strategy.LINEAR)
    spec = routing(
        queue(members=("1001", "1002"), **settings), pause_reasons=frozenset({"lunch", "training"})
    )
    return Replay(spec)


def refused(r: Replay, error: type[Exception], request: Callable[[], Outcome]) -> Exception:
    """``request`` raises ``error`` and leaves the router exactly as it was."""
    before = snapshot(r.router)
    with pytest.raises(error) as caught:
        request()
    assert snapshot(r.router) == before
    return caught.value


# -- requests that do not fit -----------------------------------------------------------------


def test_pausing_a_logged_out_agent_is_refused() -> None:
    r = desk()

    error = refused(r, IllegalTransitionError, lambda: r.pause("1001", "lunch"))

    assert str(error) == "agent 1001: no transition from logged_out on pause"


def test_logging_in_twice_is_refused() -> None:
    r = desk()
    r.login("1001")
    r.wait(30)

    refused(r, IllegalTransitionError, lambda: r.login("1001"))


def test_logging_in_paused_twice_keeps_the_first_pause_reason() -> None:
    r = desk()
    r.login("1001", paused="lunch")

    refused(r, IllegalTransitionError, lambda: r.login("1001", paused="training"))
    assert r.router.agents["1001"].pause_reason == "lunch"


def test_logging_in_while_on_a_call_is_refused() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    refused(r, IllegalTransitionError, lambda: r.login("1001"))


def test_logging_out_twice_is_refused() -> None:
    r = desk()

    refused(r, IllegalTransitionError, lambda: r.logout("1001"))


def test_unpausing_a_ready_agent_is_refused() -> None:
    r = desk()
    r.login("1001")

    refused(r, IllegalTransitionError, lambda: r.unpause("1001"))


def test_unpausing_an_agent_on_a_call_with_nothing_pending_is_refused() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    refused(r, IllegalTransitionError, lambda: r.unpause("1001"))


@pytest.mark.parametrize("when", ["logged out", "ready", "paused", "ringing", "on a call"])
def test_ending_wrapup_when_not_in_wrapup_is_refused(when: str) -> None:
    r = desk()
    if when != "logged out":
        r.login("1001", paused="lunch" if when == "paused" else None)
    if when in ("ringing", "on a call"):
        r.call("c1")
    if when == "on a call":
        r.answer("c1", "1001")

    refused(r, IllegalTransitionError, lambda: r.end_wrapup("1001"))


def test_unknown_agent_is_refused() -> None:
    r = desk()

    for request in (
        lambda: r.login("9999"),
        lambda: r.logout("9999"),
        lambda: r.pause("9999"),
        lambda: r.unpause("9999"),
        lambda: r.phone("9999", reachable=False),
        lambda: r.end_wrapup("9999"),
        lambda: r.dispose("c1", "9999", "sale"),
    ):
        error = refused(r, RoutingError, request)
        assert "9999" in str(error)


def test_pause_reason_not_in_the_list_is_refused() -> None:
    r = desk()
    r.login("1001")

    error = refused(r, RoutingError, lambda: r.pause("1001", "nap"))

    assert "nap" in str(error)
    refused(r, RoutingError, lambda: r.login("1002", paused="nap"))


def test_pause_reason_not_in_the_list_is_refused_during_a_call_too() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    refused(r, RoutingError, lambda: r.pause("1001", "nap"))


def test_disposition_not_in_the_queue_list_is_refused() -> None:
    r = desk(dispositions=frozenset({"sale", "no-sale"}))
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    refused(r, RoutingError, lambda: r.dispose("c1", "1001", "maybe"))
    assert r.dispose("c1", "1001", "sale").log == ["c1|support|1001|INFO|DISPOSITION|sale"]


def test_same_call_queued_twice_is_refused() -> None:
    r = desk()
    r.call("c1")

    refused(r, RoutingError, lambda: r.call("c1"))


def test_caller_for_an_unknown_queue_is_sent_away() -> None:
    r = desk()

    out = r.call("c1", "nowhere")

    assert out == [cmd.LeaveQueue("c1", "nowhere", cmd.LeaveReason.UNKNOWN_QUEUE, None)]
    assert r.call_state("c1") is CallState.DONE


def test_queries_about_unknown_things_are_refused() -> None:
    r = desk()

    with pytest.raises(RoutingError):
        r.state("9999")
    with pytest.raises(RoutingError):
        r.line("nowhere")
    with pytest.raises(RoutingError):
        r.stats("nowhere")


# -- late reports from the telephone side ----------------------------------------------------


def ignored(r: Replay, report: Callable[[], Outcome]) -> Outcome:
    """``report`` is taken quietly: no error, and nothing changes."""
    before = snapshot(r.router)
    out = report()
    assert snapshot(r.router) == before
    return out


def test_answer_after_the_caller_hung_up_drops_the_agent_leg() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.caller_hangs_up("c1")

    out = ignored(r, lambda: r.answer("c1", "1001"))

    assert out == [cmd.CancelRing("c1", "1001")]
    assert r.state("1001") is AgentState.READY


def test_second_answer_in_a_ringall_drops_the_late_agent_leg() -> None:
    r = desk(strategy=Strategy.RINGALL)
    r.login("1001", "1002")
    r.call("c1")
    r.answer("c1", "1002")

    out = ignored(r, lambda: r.answer("c1", "1001"))

    assert out == [cmd.CancelRing("c1", "1001")]


def test_answer_from_an_agent_that_was_not_rung_drops_that_leg() -> None:
    r = desk()
    r.login("1001", "1002")
    r.call("c1")

    assert ignored(r, lambda: r.answer("c1", "1002")) == [cmd.CancelRing("c1", "1002")]
    assert r.ringing() == {"1001": "c1"}


def test_answer_after_the_ring_timed_out_drops_the_agent_leg() -> None:
    r = desk(retry=5)
    r.login("1001")
    r.call("c1")
    r.wait(15)  # rang out

    assert ignored(r, lambda: r.answer("c1", "1001")) == [cmd.CancelRing("c1", "1001")]


def test_cancelled_timer_firing_does_nothing() -> None:
    r = desk(wrapup=30)
    r.login("1001")
    r.call("c1")
    r.talk("c1", "1001", 10)
    r.end_wrapup("1001")

    assert ignored(r, lambda: r.fire(TimerKind.WRAPUP, agent="1001")) == []
    assert ignored(r, lambda: r.fire(TimerKind.RING, "c1", "1001")) == []


@pytest.mark.parametrize(
    "kind", [TimerKind.MAX_WAIT, TimerKind.RETRY, TimerKind.ANNOUNCE, TimerKind.RELAX]
)
def test_timer_of_a_call_that_left_does_nothing(kind: TimerKind) -> None:
    r = desk(max_wait=60)
    r.call("c1")
    r.caller_hangs_up("c1")

    assert ignored(r, lambda: r.fire(kind, "c1")) == []


def test_no_answer_for_an_unknown_call_is_ignored() -> None:
    r = desk()
    r.login("1001")

    assert ignored(r, lambda: r.no_answer("nothing", "1001")) == []
    assert ignored(r, lambda: r.ring_failed("nothing", "1001")) == []


def test_no_answer_after_the_answer_is_ignored() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    assert ignored(r, lambda: r.no_answer("c1", "1001")) == []
    assert r.state("1001") is AgentState.ON_CALL


def test_hangups_for_calls_that_already_ended_are_ignored() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.talk("c1", "1001", 10)

    assert ignored(r, lambda: r.caller_hangs_up("c1")) == []
    assert ignored(r, lambda: r.agent_hangs_up("c1", "1001")) == []
    assert ignored(r, lambda: r.caller_hangs_up("never-seen")) == []


def test_agent_hangup_naming_the_wrong_agent_is_ignored() -> None:
    r = desk()
    r.login("1001", "1002")
    r.call("c1")
    r.answer("c1", "1001")

    assert ignored(r, lambda: r.agent_hangs_up("c1", "1002")) == []
    assert r.state("1001") is AgentState.ON_CALL


def test_keys_pressed_by_a_caller_no_longer_waiting_are_ignored() -> None:
    r = desk(exit_key="0")
    r.call("c1")
    r.caller_hangs_up("c1")

    assert ignored(r, lambda: r.press("c1", "0")) == []


def test_agent_hangup_ends_the_call_as_completeagent() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.wait(42)

    out = r.agent_hangs_up("c1", "1001")

    assert out.log == ["c1|support|1001|COMPLETEAGENT|0|42|1"]
