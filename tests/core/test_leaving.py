"""Callers leaving without an agent: full, empty queues, max wait, exit key, hang-up."""

from __future__ import annotations

from typing import Any

from callcenter.core import commands as cmd
from callcenter.core.spec import EmptyCondition, Strategy, Target, TargetKind
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, queue, routing

E = EmptyCondition
R = cmd.LeaveReason
VOICEMAIL = Target(TargetKind.VOICEMAIL, "support")
MAIN_MENU = Target(TargetKind.IVR, "main")


def desk(**settings: Any) -> Replay:
    settings.setdefault("strategy", Strategy.LINEAR)
    return Replay(routing(queue(members=("1001", "1002"), **settings)))


# -- max length ------------------------------------------------------------------------------


def test_caller_is_refused_when_the_queue_is_full() -> None:
    r = desk(max_length=2, overflow=VOICEMAIL)
    r.calls("c1", "c2")

    out = r.call("c3", number="5551234")

    assert out.left == [cmd.LeaveQueue("c3", "support", R.FULL, VOICEMAIL)]
    assert out.log == ["c3|support|NONE|FULL"]  # as dialplans log it: app_queue writes none
    assert r.line() == ["c1", "c2"]
    assert r.call_state("c3") is CallState.DONE
    assert r.stats().refused == 1
    assert r.stats().offered == 2


def test_callers_ringing_an_agent_count_towards_max_length() -> None:
    r = desk(max_length=1)
    r.login("1001")
    r.call("c1")

    assert r.call("c2").left[0].reason is R.FULL


def test_place_freed_by_a_connected_caller_can_be_taken() -> None:
    r = desk(max_length=1)
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    assert r.call("c2").left == []


# -- join empty ------------------------------------------------------------------------------


def test_caller_is_refused_when_no_agent_is_logged_in() -> None:
    r = desk(join_empty=frozenset({E.PAUSED, E.UNAVAILABLE}), overflow=VOICEMAIL)

    out = r.call("c1")

    assert out.left == [cmd.LeaveQueue("c1", "support", R.JOIN_EMPTY, VOICEMAIL)]
    assert out.verbs == ["JOINEMPTY"]


def test_caller_is_refused_when_every_agent_is_paused() -> None:
    r = desk(join_empty=frozenset({E.PAUSED, E.UNAVAILABLE}))
    r.login("1001", "1002", paused="lunch")

    assert r.call("c1").left[0].reason is R.JOIN_EMPTY


def test_caller_may_join_while_an_agent_is_on_a_call() -> None:
    r = desk(join_empty=frozenset({E.PAUSED, E.UNAVAILABLE}))
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    assert r.call("c2").left == []
    assert r.line() == ["c2"]


def test_caller_is_refused_when_every_agent_is_busy_and_inuse_counts_as_empty() -> None:
    r = desk(join_empty=frozenset({E.PAUSED, E.UNAVAILABLE, E.INUSE}))
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")

    assert r.call("c2").left[0].reason is R.JOIN_EMPTY


def test_caller_is_refused_when_every_agent_wraps_up_and_wrapup_counts_as_empty() -> None:
    r = desk(join_empty=frozenset({E.UNAVAILABLE, E.WRAPUP}), wrapup=30)
    r.login("1001")
    r.call("c1")
    r.talk("c1", "1001", 10)

    assert r.call("c2").left[0].reason is R.JOIN_EMPTY


def test_unreachable_phone_counts_as_unavailable_for_join_empty() -> None:
    r = desk(join_empty=frozenset({E.UNAVAILABLE}))
    r.login("1001")
    r.phone("1001", reachable=False)

    assert r.call("c1").left[0].reason is R.JOIN_EMPTY
    r.phone("1001", reachable=True)
    assert r.call("c2").left == []


def test_queue_without_join_empty_accepts_callers_with_nobody_logged_in() -> None:
    r = desk()

    assert r.call("c1").left == []


# -- leave when empty ------------------------------------------------------------------------


def test_waiting_callers_leave_when_the_last_agent_pauses() -> None:
    r = desk(leave_empty=frozenset({E.PAUSED, E.UNAVAILABLE}), overflow=VOICEMAIL)
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.calls("c2", "c3", gap=5)
    r.wait(10)
    r.pause("1001")  # applies when the call ends

    out = r.caller_hangs_up("c1")

    assert out.left == [
        cmd.LeaveQueue("c2", "support", R.LEAVE_EMPTY, VOICEMAIL),
        cmd.LeaveQueue("c3", "support", R.LEAVE_EMPTY, VOICEMAIL),
    ]
    assert out.lines("EXITEMPTY") == [
        "c2|support|NONE|EXITEMPTY|1|1|15",
        "c3|support|NONE|EXITEMPTY|1|2|10",
    ]
    assert r.line() == []


def test_waiting_callers_leave_when_the_last_agent_logs_out() -> None:
    r = desk(leave_empty=frozenset({E.PAUSED, E.UNAVAILABLE}))
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.call("c2")
    r.logout("1001")  # applies when the call ends

    assert r.caller_hangs_up("c1").left == [cmd.LeaveQueue("c2", "support", R.LEAVE_EMPTY, None)]


def test_caller_joining_a_queue_that_counts_as_empty_leaves_at_once() -> None:
    r = desk(leave_empty=frozenset({E.PAUSED, E.UNAVAILABLE}), overflow=VOICEMAIL)
    r.login("1001", paused="lunch")

    out = r.call("c1")

    assert out.log == ["c1|support|NONE|ENTERQUEUE||555c1|1", "c1|support|NONE|EXITEMPTY|1|1|0"]
    assert out.left == [cmd.LeaveQueue("c1", "support", R.LEAVE_EMPTY, VOICEMAIL)]
    assert r.timers == {}


def test_waiting_callers_stay_while_one_agent_is_still_available() -> None:
    r = desk(leave_empty=frozenset({E.PAUSED, E.UNAVAILABLE}))
    r.login("1001", "1002")
    r.call("c1")
    r.answer("c1", "1001")
    r.call("c2")
    r.answer("c2", "1002")
    r.call("c3")

    assert r.pause("1002").left == []  # 1001 is on a call, which does not count as empty


def test_waiting_callers_leave_when_the_last_phone_becomes_unreachable() -> None:
    r = desk(leave_empty=frozenset({E.UNAVAILABLE}), retry=5)
    r.login("1001")
    r.call("c1")
    r.no_answer("c1", "1001")  # c1 waits for the retry, 1001 is ready

    out = r.phone("1001", reachable=False)

    assert out.left == [cmd.LeaveQueue("c1", "support", R.LEAVE_EMPTY, None)]


def test_waiting_callers_leave_when_the_last_agent_ends_a_call_with_its_phone_gone() -> None:
    r = desk(leave_empty=frozenset({E.UNAVAILABLE}))
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.call("c2")
    assert r.phone("1001", reachable=False).left == []  # on a call: still in use

    out = r.caller_hangs_up("c1")

    assert out.left == [cmd.LeaveQueue("c2", "support", R.LEAVE_EMPTY, None)]


def only_agent(**settings: Any) -> Replay:
    return Replay(routing(queue(members=("1001",), **settings)))


def test_waiting_callers_leave_when_the_only_agent_is_busy_and_inuse_counts_as_empty() -> None:
    r = only_agent(leave_empty=frozenset({E.INUSE}))
    r.calls("c1", "c2")

    out = r.login("1001")  # rings for c1: in use

    assert out.rings == [("c1", "1001")]
    assert out.left == [cmd.LeaveQueue("c2", "support", R.LEAVE_EMPTY, None)]
    assert r.line() == ["c1"]


def test_waiting_callers_leave_when_the_only_agent_starts_wrapup_and_wrapup_counts() -> None:
    r = only_agent(leave_empty=frozenset({E.WRAPUP}), wrapup=30)
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.call("c2")

    out = r.caller_hangs_up("c1")

    assert out.left == [cmd.LeaveQueue("c2", "support", R.LEAVE_EMPTY, None)]
    assert out.lines("EXITEMPTY") == ["c2|support|NONE|EXITEMPTY|1|1|0"]


def test_caller_ringing_the_last_agent_does_not_leave_when_the_agent_pauses() -> None:
    r = desk(leave_empty=frozenset({E.PAUSED, E.UNAVAILABLE}))
    r.login("1001")
    r.call("c1")

    out = r.pause("1001")  # applies after the ring

    assert out == []
    assert r.ringing() == {"1001": "c1"}


def test_caller_leaves_when_the_last_agent_pauses_while_ringing_for_it_unanswered() -> None:
    r = desk(leave_empty=frozenset({E.PAUSED, E.UNAVAILABLE}), retry=5)
    r.login("1001")
    r.call("c1")
    r.pause("1001")

    out = r.no_answer("c1", "1001")

    assert out.left == [cmd.LeaveQueue("c1", "support", R.LEAVE_EMPTY, None)]
    assert r.timers == {}


def test_booked_callback_keeps_its_place_when_the_queue_empties() -> None:
    r = desk(leave_empty=frozenset({E.PAUSED, E.UNAVAILABLE}))
    r.login("1001")
    r.call("c0")
    r.answer("c0", "1001")
    r.call("c1", number="13800000000")
    r.call("c2")
    r.ask_callback("c1", "13800000000")
    r.logout("1001")

    out = r.caller_hangs_up("c0")

    assert [leave.call for leave in out.left] == ["c2"]
    assert r.line() == ["c1"]


# -- max wait --------------------------------------------------------------------------------


def test_caller_overflows_to_the_target_after_max_wait() -> None:
    r = desk(max_wait=60, overflow=VOICEMAIL)
    r.calls("c1", "c2", gap=10)

    out = r.wait(50)

    assert out.left == [cmd.LeaveQueue("c1", "support", R.OVERFLOW, VOICEMAIL)]
    assert out.lines("EXITWITHTIMEOUT") == ["c1|support|NONE|EXITWITHTIMEOUT|1|1|60"]
    assert r.line() == ["c2"]
    assert r.stats().overflowed == 1


def test_overflow_without_a_target_hangs_up() -> None:
    r = desk(max_wait=60)
    r.call("c1")

    assert r.wait(60).left == [cmd.LeaveQueue("c1", "support", R.OVERFLOW, None)]


def test_max_wait_counts_from_the_original_entry_time() -> None:
    r = Replay(routing(queue(members=("1001",), max_wait=60)), now=100.0)

    out = r.call("c1", entered=70.0)

    assert out.started[TimerKey(TimerKind.MAX_WAIT, "c1")] == 130


def test_caller_ringing_at_max_wait_is_connected_if_the_agent_answers() -> None:
    r = desk(max_wait=60)
    r.call("c1")
    r.wait(55)
    r.login("1001")
    r.wait(5)  # max wait passes while 1001 rings

    out = r.answer("c1", "1001")

    assert out.connected == [("c1", "1001")]
    assert out.left == []
    assert r.stats().overflowed == 0
    assert r.stats().answered == 1


def test_caller_ringing_at_max_wait_overflows_when_the_ring_ends_unanswered() -> None:
    r = desk(max_wait=60, overflow=VOICEMAIL, retry=5)
    r.call("c1")
    r.wait(55)
    r.login("1001")
    r.wait(5)

    out = r.no_answer("c1", "1001")

    assert out.left == [cmd.LeaveQueue("c1", "support", R.OVERFLOW, VOICEMAIL)]
    assert out.lines("EXITWITHTIMEOUT") == ["c1|support|NONE|EXITWITHTIMEOUT|1|1|60"]
    assert TimerKey(TimerKind.RETRY, "c1") not in r.timers
    assert r.stats().overflowed == 1


# -- exit key --------------------------------------------------------------------------------


def test_caller_pressing_the_exit_key_leaves_to_the_exit_target() -> None:
    r = desk(exit_key="0", exit_target=MAIN_MENU)
    r.calls("c1", "c2")
    r.wait(7)

    out = r.press("c2", "0")

    assert out.left == [cmd.LeaveQueue("c2", "support", R.EXIT_KEY, MAIN_MENU)]
    assert out.log == ["c2|support|NONE|EXITWITHKEY|0|2|2|7"]
    assert r.line() == ["c1"]
    assert r.stats().exited == 1


def test_other_keys_are_ignored() -> None:
    r = desk(exit_key="0", exit_target=MAIN_MENU)
    r.call("c1")

    assert r.press("c1", "5") == []
    assert r.line() == ["c1"]


def test_exit_key_works_while_an_agent_rings() -> None:
    # The caller hears music, not the ring: app_queue's wait_for_answer() takes the key too.
    r = desk(exit_key="0", exit_target=MAIN_MENU)
    r.login("1001")
    r.call("c1")
    r.wait(2)

    out = r.press("c1", "0")

    assert out.ring_cancelled == ["1001"]
    assert out.left == [cmd.LeaveQueue("c1", "support", R.EXIT_KEY, MAIN_MENU)]
    assert out.log == [
        "c1|support|1001|RINGCANCELED|2000",
        "c1|support|NONE|EXITWITHKEY|0|1|1|2",
    ]
    assert r.state("1001") is AgentState.READY
    assert r.ringing() == {}


def test_agent_freed_by_an_exit_key_takes_the_next_caller() -> None:
    r = desk(exit_key="0", exit_target=MAIN_MENU)
    r.login("1001")
    r.calls("c1", "c2")

    assert r.press("c1", "0").rings == [("c2", "1001")]


def test_other_keys_do_nothing_while_an_agent_rings() -> None:
    r = desk(exit_key="0", exit_target=MAIN_MENU)
    r.login("1001")
    r.call("c1")

    assert r.press("c1", "5") == []
    assert r.ringing() == {"1001": "c1"}


def test_queue_without_an_exit_key_ignores_every_key() -> None:
    r = desk()
    r.call("c1")

    assert r.press("c1", "0") == []


# -- abandon ---------------------------------------------------------------------------------


def test_caller_hanging_up_while_waiting_abandons() -> None:
    r = desk(max_wait=60)
    r.calls("c1", "c2", "c3")
    r.wait(4)

    out = r.caller_hangs_up("c2")

    assert out.log == ["c2|support|NONE|ABANDON|2|2|5"]
    assert TimerKey(TimerKind.MAX_WAIT, "c2") in out.cancelled
    assert r.line() == ["c1", "c3"]


def test_caller_hanging_up_while_ringing_frees_the_agent() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    r.call("c2")

    out = r.caller_hangs_up("c1")

    assert out.ring_cancelled == ["1001"]
    assert out.verbs == ["RINGCANCELED", "ABANDON"]
    assert out.rings == [("c2", "1001")]
