"""An agent's day: log in, pause, calls, wrap-up, phone trouble, log out."""

from __future__ import annotations

from typing import Any

from callcenter.core import commands as cmd
from callcenter.core.spec import AgentSpec, Strategy
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, agent, queue, routing

S = AgentState
WRAPUP_1001 = TimerKey(TimerKind.WRAPUP, agent="1001")


def desk(*agents: AgentSpec, **settings: Any) -> Replay:
    """One queue, agents 1001 and 1002 (linear, so 1001 is always asked first)."""
    settings.setdefault("strategy", Strategy.LINEAR)
    return Replay(routing(queue(members=("1001", "1002"), **settings), agents=agents))


# -- logging in and out, pausing -------------------------------------------------------------


def test_login_adds_the_agent_to_each_queue_and_makes_it_ready() -> None:
    spec = routing(queue("sales", members=("1001",)), queue("support", members=("1001",)))
    r = Replay(spec)

    out = r.login("1001")

    assert r.state("1001") is S.READY
    assert out.state_changes == [("1001", S.LOGGED_OUT, S.READY)]
    assert out.log == ["NONE|sales|1001|ADDMEMBER|", "NONE|support|1001|ADDMEMBER|"]


def test_login_paused_logs_the_pause_reason() -> None:
    r = desk()

    out = r.login("1001", paused="training")

    assert r.state("1001") is S.PAUSED
    # ADDMEMBER|PAUSED as app_queue's add_to_queue() callers write it, then the reason.
    assert out.log == ["NONE|support|1001|ADDMEMBER|PAUSED", "NONE|support|1001|PAUSE|training"]
    assert out.of(cmd.AgentStateChanged)[0].reason == "training"


def test_logged_in_agent_takes_the_waiting_caller_at_once() -> None:
    r = desk()
    r.call("c1")

    assert r.login("1001").rings == [("c1", "1001")]


def test_pause_is_logged_with_the_reason_and_unpause_without() -> None:
    r = desk()
    r.login("1001")

    paused = r.pause("1001", "lunch")
    unpaused = r.unpause("1001")

    assert paused.log == ["NONE|support|1001|PAUSE|lunch"]
    # app_queue's set_queue_member_pause() writes the unpause request's reason: none here.
    assert unpaused.log == ["NONE|support|1001|UNPAUSE|"]
    assert r.state("1001") is S.READY


def test_paused_agent_is_not_offered_callers_until_unpaused() -> None:
    r = desk()
    r.login("1001")
    r.pause("1001")

    assert r.call("c1").rung == []
    assert r.unpause("1001").rings == [("c1", "1001")]


def test_paused_agent_can_change_the_pause_reason() -> None:
    r = desk()
    r.login("1001", paused="lunch")

    out = r.pause("1001", "training")

    assert out.state_changes == [("1001", S.PAUSED, S.PAUSED)]
    assert out.log == ["NONE|support|1001|PAUSE|training"]
    assert r.router.agents["1001"].pause_reason == "training"


def test_logout_removes_the_agent_from_its_queues() -> None:
    r = desk()
    r.login("1001")

    out = r.logout("1001")

    assert r.state("1001") is S.LOGGED_OUT
    assert out.log == ["NONE|support|1001|REMOVEMEMBER|"]


# -- wrap-up ---------------------------------------------------------------------------------


def test_agent_wraps_up_for_the_queue_wrapup_time_after_a_call() -> None:
    r = desk(wrapup=30)
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.wait(60)

    out = r.caller_hangs_up("c1")

    assert r.state("1001") is S.WRAP_UP
    assert out.started == {WRAPUP_1001: 90}
    assert r.wait(29.5).state_changes == []
    assert r.wait(0.5).state_changes == [("1001", S.WRAP_UP, S.READY)]


def test_agent_in_wrapup_is_not_offered_a_caller() -> None:
    r = desk(wrapup=30)
    r.login("1001")
    r.call("c1")
    r.talk("c1", "1001", 60)

    assert r.call("c2").rung == []
    assert r.wait(30).rings == [("c2", "1001")]


def test_agent_wrapup_time_overrides_the_queue() -> None:
    r = desk(agent("1001", wrapup=10), wrapup=30)
    r.login("1001")
    r.call("c1")

    out = r.talk("c1", "1001", 60)

    assert out.started == {WRAPUP_1001: 70}


def test_agent_without_wrapup_is_ready_right_after_the_call() -> None:
    r = desk(agent("1001", wrapup=0), wrapup=30)
    r.login("1001")
    r.call("c1")
    r.call("c2")

    out = r.talk("c1", "1001", 60)

    assert out.state_changes[-2:] == [("1001", S.ON_CALL, S.READY), ("1001", S.READY, S.RINGING)]
    assert out.rings == [("c2", "1001")]


def test_ending_wrapup_early_makes_the_agent_ready_and_cancels_the_timer() -> None:
    r = desk(wrapup=30)
    r.login("1001")
    r.call("c1")
    r.talk("c1", "1001", 60)
    r.call("c2")
    r.wait(5)

    out = r.end_wrapup("1001")

    assert out.cancelled == [WRAPUP_1001]
    assert out.rings == [("c2", "1001")]


def test_wrapup_of_one_queue_applies_to_calls_from_that_queue() -> None:
    spec = routing(
        queue("sales", members=("1001",), wrapup=5),
        queue("support", members=("1001",), wrapup=50),
    )
    r = Replay(spec)
    r.login("1001")
    r.call("c1", "sales")

    assert r.talk("c1", "1001", 10).started == {WRAPUP_1001: 15}


def test_wrapup_is_logged_as_pauseall_acw_with_the_call_id() -> None:
    r = desk(wrapup=30)
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.wait(60)

    started = r.caller_hangs_up("c1")
    ended = r.wait(30)

    assert started.log == [
        "c1|support|1001|COMPLETECALLER|0|60|1",
        "c1|NONE|1001|PAUSEALL|ACW",
    ]
    assert ended.log == ["c1|NONE|1001|UNPAUSEALL|ACW"]


def test_wrapup_ended_early_is_logged_when_it_ends() -> None:
    r = desk(wrapup=30)
    r.login("1001")
    r.call("c1")
    r.talk("c1", "1001", 60)
    r.wait(5)

    assert r.end_wrapup("1001").log == ["c1|NONE|1001|UNPAUSEALL|ACW"]
    assert r.wait(30).log == []


def test_no_wrapup_lines_without_wrapup() -> None:
    r = desk(wrapup=0)
    r.login("1001")
    r.call("c1")

    out = r.talk("c1", "1001", 60)

    assert "PAUSEALL" not in out.verbs
    assert "UNPAUSEALL" not in out.verbs


def test_each_wrapup_names_its_own_call() -> None:
    r = desk(wrapup=10)
    r.login("1001")
    r.calls("c1", "c2")
    r.talk("c1", "1001", 20)
    r.wait(10)  # c2 rings 1001 when the wrap-up ends
    r.talk("c2", "1001", 20)

    out = r.wait(10)

    assert out.log == ["c2|NONE|1001|UNPAUSEALL|ACW"]
    assert r.history.lines("PAUSEALL") == ["c1|NONE|1001|PAUSEALL|ACW", "c2|NONE|1001|PAUSEALL|ACW"]


# -- requests during a call ------------------------------------------------------------------


def test_pause_asked_during_a_call_applies_after_wrapup() -> None:
    r = desk(wrapup=30)
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    assert r.pause("1001", "lunch") == []
    r.wait(60)
    r.caller_hangs_up("c1")
    assert r.state("1001") is S.WRAP_UP
    r.call("c2")

    out = r.wait(30)

    assert r.state("1001") is S.PAUSED
    assert out.state_changes == [("1001", S.WRAP_UP, S.PAUSED)]
    assert out.of(cmd.AgentStateChanged)[0].reason == "lunch"
    assert out.log == ["c1|NONE|1001|UNPAUSEALL|ACW", "NONE|support|1001|PAUSE|lunch"]
    assert out.rung == []


def test_pause_asked_during_a_call_without_wrapup_applies_when_it_ends() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.pause("1001", "lunch")

    out = r.caller_hangs_up("c1")

    assert out.state_changes == [("1001", S.ON_CALL, S.PAUSED)]


def test_unpause_during_the_call_withdraws_the_pause_asked_for() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.pause("1001", "lunch")

    assert r.unpause("1001") == []
    r.caller_hangs_up("c1")
    assert r.state("1001") is S.READY


def test_pause_asked_while_ringing_applies_if_the_call_is_not_answered() -> None:
    r = desk(retry=5)
    r.login("1001")
    r.call("c1")
    r.pause("1001", "lunch")

    r.no_answer("c1", "1001")

    assert r.state("1001") is S.PAUSED
    assert r.wait(5).rung == []


def test_pause_asked_while_ringing_applies_when_the_caller_hangs_up() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.pause("1001", "lunch")
    r.call("c2")

    out = r.caller_hangs_up("c1")

    assert out.state_changes == [("1001", S.RINGING, S.READY), ("1001", S.READY, S.PAUSED)]
    assert out.rung == []
    assert r.line() == ["c2"]


def test_pause_asked_while_ringing_applies_after_the_call_if_answered() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.pause("1001", "lunch")
    r.answer("c1", "1001")

    assert r.state("1001") is S.ON_CALL
    r.caller_hangs_up("c1")
    assert r.state("1001") is S.PAUSED


def test_logout_during_a_call_applies_after_it() -> None:
    r = desk(wrapup=10)
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    assert r.logout("1001") == []
    r.caller_hangs_up("c1")
    out = r.wait(10)

    assert r.state("1001") is S.LOGGED_OUT
    assert out.log == ["c1|NONE|1001|UNPAUSEALL|ACW", "NONE|support|1001|REMOVEMEMBER|"]


def test_logout_during_wrapup_applies_when_wrapup_ends() -> None:
    r = desk(wrapup=10)
    r.login("1001")
    r.call("c1")
    r.talk("c1", "1001", 10)
    r.logout("1001")
    r.call("c2")

    r.end_wrapup("1001")

    assert r.state("1001") is S.LOGGED_OUT
    assert r.line() == ["c2"]


def test_logout_while_ringing_returns_the_caller_to_the_line() -> None:
    r = desk(retry=5)
    r.login("1001")
    r.call("c1")
    r.call("c2")

    out = r.logout("1001")

    assert out.of(cmd.CancelRing) == [cmd.CancelRing("c1", "1001")]
    assert r.state("1001") is S.LOGGED_OUT
    assert r.call_state("c1") is CallState.WAITING
    assert r.line() == ["c1", "c2"]


def test_logout_while_ringing_offers_the_caller_to_another_agent_at_once() -> None:
    r = desk(retry=5)
    r.login("1001")
    r.call("c1")
    r.login("1002")

    out = r.logout("1001")

    assert out.rings == [("c1", "1002")]


def test_logout_while_ringing_does_not_count_as_a_missed_call() -> None:
    r = desk(agent("1001", ring_no_answer_limit=1))
    r.login("1001")
    r.call("c1")
    r.logout("1001")
    r.login("1001")  # rung for c1 again

    assert r.ringing() == {"1001": "c1"}
    assert r.router.agents["1001"].no_answer_streak == 0


def test_pause_asked_while_ringing_is_forgotten_after_logging_out() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.pause("1001", "lunch")
    r.logout("1001")
    r.login("1001")  # rung for c1 again

    r.answer("c1", "1001")
    r.caller_hangs_up("c1")

    assert r.state("1001") is S.READY


# -- the agent's phone -----------------------------------------------------------------------


def test_agent_whose_phone_is_unreachable_is_not_offered_callers() -> None:
    r = desk()
    r.login("1001", "1002")
    r.phone("1001", reachable=False)

    assert r.call("c1").rings == [("c1", "1002")]
    assert r.state("1001") is S.READY  # logged in, just not reachable


def test_agent_whose_phone_comes_back_takes_the_waiting_caller() -> None:
    r = desk()
    r.login("1001")
    r.phone("1001", reachable=False)
    r.call("c1")

    assert r.phone("1001", reachable=True).rings == [("c1", "1001")]


def test_agent_logging_in_with_an_unreachable_phone_is_not_offered_callers() -> None:
    r = desk()
    r.phone("1001", reachable=False)
    r.call("c1")

    assert r.login("1001").rung == []


def test_repeated_reachability_report_changes_nothing() -> None:
    r = desk()
    r.login("1001")

    assert r.phone("1001", reachable=True) == []


def test_agent_on_call_whose_phone_drops_is_not_offered_the_next_caller() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.phone("1001", reachable=False)
    r.call("c2")

    out = r.caller_hangs_up("c1")

    assert out.rung == []
    assert r.line() == ["c2"]
