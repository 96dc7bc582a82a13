"""Callbacks: the caller hangs up but keeps the place in line, and is called back in turn."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.core import commands as cmd
from callcenter.core.router import RoutingError
from callcenter.core.spec import Announcements, CallbackOffer, Strategy
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, queue, routing, snapshot

NUMBER = "13800000000"


def desk(**settings: Any) -> Replay:
    settings.setdefault("strategy", Strategy.LINEAR)
    settings.setdefault("callback", CallbackOffer(after=30, key="*"))
    return Replay(routing(queue(members=("1001", "1002"), **settings)))


def booked(r: Replay, call: str = "c1") -> None:
    r.press(call, "*")


def test_callback_is_offered_once_the_caller_waited_long_enough() -> None:
    r = desk()

    out = r.call("c1")

    assert out.started[TimerKey(TimerKind.CALLBACK_OFFER, "c1")] == 30
    assert r.wait(30).of(cmd.OfferCallback) == [cmd.OfferCallback("c1", "*")]


def test_callback_key_books_a_callback_to_the_callers_number() -> None:
    r = desk()
    r.call("c1", number=NUMBER)
    r.wait(40)

    out = r.press("c1", "*")

    assert out.of(cmd.ConfirmCallback) == [cmd.ConfirmCallback("c1", NUMBER)]
    assert out.log == [f"c1|support|NONE|INFO|CALLBACK|{NUMBER}"]
    assert r.call_state("c1") is CallState.CALLBACK
    assert r.stats().callbacks == 1


def test_caller_keeps_place_after_callback() -> None:
    r = desk()
    r.calls("c1", "c2", "c3")
    booked(r, "c2")

    r.caller_hangs_up("c2")  # the caller's phone goes on-hook after the confirmation

    assert r.line() == ["c1", "c2", "c3"]
    assert r.call_state("c2") is CallState.CALLBACK


def test_hangup_after_booking_is_not_an_abandon() -> None:
    r = desk()
    r.call("c1")
    booked(r)

    out = r.caller_hangs_up("c1")

    assert out == []
    assert r.stats().abandoned == 0


def test_booking_stops_the_waiting_timers() -> None:
    r = desk(max_wait=300)
    r.call("c1")

    out = r.press("c1", "*")

    assert set(out.cancelled) == {
        TimerKey(TimerKind.MAX_WAIT, "c1"),
        TimerKey(TimerKind.CALLBACK_OFFER, "c1"),
    }
    assert r.wait(600).left == []


def test_callback_in_turn_rings_the_agent_with_the_number_to_call() -> None:
    r = desk()
    r.call("c1", number=NUMBER)
    r.call("c2")
    booked(r)

    out = r.login("1001")

    assert out.of(cmd.Ring) == [
        cmd.Ring("c1", "1001", "PJSIP/1001", 15, "support", callback_number=NUMBER)
    ]


def test_callback_answered_connects_and_dials_the_customer() -> None:
    r = desk()
    r.call("c1")
    r.ask_callback("c1", NUMBER)
    r.wait(100)
    r.login("1001")

    out = r.answer("c1", "1001")

    assert out.of(cmd.Connect) == [
        cmd.Connect("c1", "1001", "support", record=False, callback_number=NUMBER)
    ]
    assert out.lines("CONNECT") == ["c1|support|1001|CONNECT|100|c1|0"]
    assert r.line() == []


def test_callback_call_completes_like_any_other() -> None:
    r = desk()
    r.call("c1")
    r.ask_callback("c1", NUMBER)
    r.caller_hangs_up("c1")
    r.login("1001")
    r.answer("c1", "1001")
    r.wait(30)

    out = r.caller_hangs_up("c1")  # the customer's leg ends

    assert out.lines("COMPLETECALLER") == ["c1|support|1001|COMPLETECALLER|0|30|1"]
    assert r.call_state("c1") is CallState.DONE


def test_callback_not_answered_goes_back_to_waiting_for_a_callback() -> None:
    r = desk(retry=5)
    r.calls("c1", "c2")
    booked(r)
    r.login("1001")

    out = r.no_answer("c1", "1001")

    assert r.call_state("c1") is CallState.CALLBACK
    assert r.line() == ["c1", "c2"]
    assert out.rings == [("c2", "1001")]  # c1 waits for the retry pause
    assert r.wait(5).rung == []  # 1001 is busy with c2 now
    r.login("1002")
    assert r.ringing() == {"1001": "c2", "1002": "c1"}


def test_callback_not_answered_gets_no_announcements() -> None:
    r = desk(retry=5, announcements=Announcements(every=30, position=True))
    r.call("c1")
    booked(r)
    r.login("1001")

    out = r.no_answer("c1", "1001")

    assert list(out.started) == [TimerKey(TimerKind.RETRY, "c1")]


def test_callback_requested_from_the_ivr_uses_the_number_given() -> None:
    r = desk(callback=None)
    r.call("c1", number="5550000")

    out = r.ask_callback("c1", NUMBER)

    assert out.of(cmd.ConfirmCallback) == [cmd.ConfirmCallback("c1", NUMBER)]
    assert r.call_state("c1") is CallState.CALLBACK


def test_callback_key_without_a_caller_number_is_ignored() -> None:
    r = desk()
    r.call("c1", number="")  # caller id withheld

    assert r.press("c1", "*") == []
    assert r.call_state("c1") is CallState.WAITING


def test_callback_needs_a_number() -> None:
    r = desk()
    r.call("c1")
    before = snapshot(r.router)

    with pytest.raises(RoutingError):
        r.ask_callback("c1", "")
    assert snapshot(r.router) == before


def test_callback_can_be_booked_only_while_waiting() -> None:
    r = desk()
    r.login("1001")
    r.call("c1")
    before = snapshot(r.router)

    with pytest.raises(RoutingError):
        r.ask_callback("c1", NUMBER)  # ringing
    with pytest.raises(RoutingError):
        r.ask_callback("nobody", NUMBER)
    assert snapshot(r.router) == before
    assert r.state("1001") is AgentState.RINGING


def test_booked_callback_does_not_book_twice() -> None:
    r = desk()
    r.call("c1")
    booked(r)

    assert r.press("c1", "*") == []
    assert r.stats().callbacks == 1


def test_callback_offer_that_fell_due_while_ringing_is_made_back_in_line() -> None:
    r = desk(retry=5, ring_timeout=20)
    r.call("c1")
    r.wait(25)
    r.login("1001")  # rings 25..45, the offer falls due at 30
    r.wait(20)
    r.logout("1001")

    assert r.wait(10).of(cmd.OfferCallback) == [cmd.OfferCallback("c1", "*")]


def test_callback_offer_that_fell_due_while_ringing_waits_for_the_retry_pause() -> None:
    r = desk(retry=5, ring_timeout=20)
    r.call("c1")
    r.wait(25)
    r.login("1001")  # the only agent

    assert r.wait(20).of(cmd.OfferCallback) == []  # rang out at 45: the pause comes first
    assert r.wait(5).rung == ["1001"]  # rung again at 50 ...
    assert r.no_answer("c1", "1001").of(cmd.OfferCallback) == []  # ... the pause again ...
    r.logout("1001")
    assert r.wait(5).of(cmd.OfferCallback) == [cmd.OfferCallback("c1", "*")]  # ... and now


def test_callback_offer_that_fell_due_while_ringing_is_not_made_once_answered() -> None:
    r = desk(ring_timeout=20)
    r.call("c1")
    r.wait(25)
    r.login("1001")
    r.wait(10)
    r.answer("c1", "1001")

    assert r.wait(100).of(cmd.OfferCallback) == []
    assert r.history.of(cmd.OfferCallback) == []


def test_callback_is_offered_only_once() -> None:
    r = desk(retry=0)
    r.call("c1")
    r.wait(35)  # offered at 30
    r.login("1001")

    r.no_answer("c1", "1001")  # back in line; rung again at once
    r.logout("1001")  # the ring ends: back in line again

    assert r.history.of(cmd.OfferCallback) == [cmd.OfferCallback("c1", "*")]


def test_callback_offer_fell_due_and_the_retry_pause_ends_with_no_agent_left() -> None:
    r = desk(retry=0, ring_timeout=20)
    r.call("c1")
    r.wait(25)
    r.login("1001")
    r.wait(10)  # due at 30

    out = r.logout("1001")  # the ring ends: back in line, nobody to ring

    assert out.of(cmd.OfferCallback) == [cmd.OfferCallback("c1", "*")]


def test_caller_without_a_number_is_not_offered_a_callback() -> None:
    r = desk()

    out = r.call("c1", number="")  # caller id withheld

    assert TimerKey(TimerKind.CALLBACK_OFFER, "c1") not in out.started
    assert r.wait(100).of(cmd.OfferCallback) == []


def test_caller_without_a_number_is_offered_a_callback_when_the_ivr_asks_for_one() -> None:
    r = desk(callback=CallbackOffer(after=30, key="*", ask_number=True))
    r.call("c1", number="")

    offered = r.wait(30).of(cmd.OfferCallback)
    assert r.press("c1", "*") == []  # the IVR collects the number ...
    out = r.ask_callback("c1", NUMBER)  # ... and sends it

    assert offered == [cmd.OfferCallback("c1", "*", ask_number=True)]
    assert out.of(cmd.ConfirmCallback) == [cmd.ConfirmCallback("c1", NUMBER)]


def test_caller_with_a_number_is_not_asked_for_one() -> None:
    r = desk(callback=CallbackOffer(after=30, key="*", ask_number=True))
    r.call("c1", number=NUMBER)

    assert r.wait(30).of(cmd.OfferCallback) == [cmd.OfferCallback("c1", "*", ask_number=False)]


def test_hang_up_after_booking_does_not_cancel_the_callback_already_ringing() -> None:
    r = desk()
    r.login("1001")
    r.call("c0")
    r.answer("c0", "1001")
    r.call("c1")
    r.ask_callback("c1", NUMBER)  # the confirmation plays ...
    r.agent_hangs_up("c0", "1001")  # ... while 1001 frees up and rings to call back

    out = r.caller_hangs_up("c1")  # ... then the caller's phone goes on-hook

    assert out == []
    assert r.ringing() == {"1001": "c1"}
    assert r.stats().abandoned == 0


def test_exit_key_of_a_booked_callback_is_ignored() -> None:
    r = desk(exit_key="0")
    r.login("1001")
    r.call("c0")
    r.answer("c0", "1001")
    r.call("c1")
    r.ask_callback("c1", NUMBER)
    r.agent_hangs_up("c0", "1001")  # rings 1001 to call c1 back

    assert r.press("c1", "0") == []
    assert r.ringing() == {"1001": "c1"}
