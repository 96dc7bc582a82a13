"""Callers restored after an engine restart (``CallEnqueued.entered`` and
``callback_number``): their ENTERQUEUE is stamped with the original entry, and a booked
callback comes back waiting for its call back, in its place, without a second booking."""

from __future__ import annotations

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.spec import CallbackOffer, Strategy
from callcenter.core.states import CallState
from callcenter.core.timers import TimerKind
from tests.core.builders import Outcome, Replay, queue, routing

NUMBER = "13800000000"


def desk() -> Replay:
    spec = routing(queue(strategy=Strategy.LINEAR, max_wait=60, retry=0,
                         callback=CallbackOffer(after=30, key="*")))  # fmt: skip
    return Replay(spec, now=1000.0)


def restored(r: Replay, call: str, entered: float, callback: str = "") -> Outcome:
    return r.feed(ev.CallEnqueued(r.now, call, "support", f"555{call}", entered=entered,
                                  callback_number=callback))  # fmt: skip


def test_the_enterqueue_of_a_restored_caller_says_when_it_entered() -> None:
    r = desk()

    out = restored(r, "c1", entered=940.0)

    (line,) = out.of(cmd.QueueLog)
    assert (line.verb, line.time) == ("ENTERQUEUE", 940.0)
    assert r.call("c2").of(cmd.QueueLog)[0].time == 1000.0  # a new caller: now


def test_a_restored_booking_waits_for_its_call_back_in_its_place() -> None:
    r = desk()
    restored(r, "c1", entered=900.0)

    out = restored(r, "c0", entered=850.0, callback=NUMBER)

    assert r.line() == ["c0", "c1"]  # entered first: ahead
    assert r.call_state("c0") is CallState.CALLBACK
    assert out.verbs == ["ENTERQUEUE"]  # booked once, before the restart: no INFO again
    assert out.of(cmd.ConfirmCallback) == []
    # No max wait, no callback offer, no announcements for a caller who is not on the line.
    assert {key.kind for key in out.started} == set()
    # In turn: the agent is rung with the number to call back, then the customer dialed.
    out = r.login("1001")
    (ring,) = out.of(cmd.Ring)
    assert (ring.call, ring.callback_number) == ("c0", NUMBER)
    (connect,) = r.answer("c0", "1001").of(cmd.Connect)
    assert connect.callback_number == NUMBER


def test_a_restored_booking_is_rung_at_once_when_an_agent_is_free() -> None:
    r = Replay(routing(queue(strategy=Strategy.LINEAR, max_wait=60, retry=5)), now=1000.0)
    r.login("1001")

    out = restored(r, "c0", entered=850.0, callback=NUMBER)

    assert [(c.call, c.callback_number) for c in out.of(cmd.Ring)] == [("c0", NUMBER)]
    assert r.call_state("c0") is CallState.RINGING
    # Not answered: back to waiting for the call back, not to the line of callers on hold.
    r.no_answer("c0", "1001")
    assert r.call_state("c0") is CallState.CALLBACK
    assert not [k for k in r.timers if k.kind is TimerKind.MAX_WAIT]


def test_a_moved_booking_gets_no_max_wait() -> None:
    spec = routing(queue(strategy=Strategy.LINEAR, members=("1001",)),
                   queue("sales", members=("1002",), max_wait=10))  # fmt: skip
    r = Replay(spec)
    restored(r, "c0", entered=0.0, callback=NUMBER)

    out = r.move("c0", "sales")

    assert not [k for k in out.started if k.kind is TimerKind.MAX_WAIT]
    assert r.call_state("c0") is CallState.CALLBACK
