"""A supervisor moves a waiting caller to another queue (``CallerMoved``).

app_queue has no such move; the core's rules (events.CallerMoved):

* the caller keeps its first entry time: in the new line it stands by priority and that
  time, ahead of callers who came later, and every wait it reports counts from it;
* queue_log closes the stay in the old queue as a dialplan moving callers with an exit
  key would (``INFO|MOVED|<queue>``, ``EXITWITHKEY`` with no key) and opens one in the
  new queue (``ENTERQUEUE``), so every ENTERQUEUE keeps exactly one end;
* the new queue's max wait counts from the move; everything else (a free agent, its
  announcements, its callback offer) starts as for a caller who just joined;
* a caller an agent rings for, or one already gone, is not moved: refused, nothing changes.
"""

from __future__ import annotations

import pytest

from callcenter.core import commands as cmd
from callcenter.core.errors import RoutingError
from callcenter.core.spec import CallbackOffer
from callcenter.core.states import CallState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, queue, routing, snapshot


def two_queues(**sales: object) -> Replay:
    return Replay(routing(queue(members=["1001"]), queue("sales", members=["1002"], **sales)))


def test_the_moved_caller_takes_its_place_by_first_entry_time() -> None:
    r = two_queues()
    r.call("s1", "sales")  # t=0
    r.call("c1")  # t=0, support
    r.wait(10)
    r.call("s2", "sales")  # t=10
    r.wait(5)

    out = r.move("c1", "sales")

    assert r.line("support") == []
    assert r.line("sales") == ["s1", "c1", "s2"]  # ahead of s2, who came later
    assert out.log == [
        "c1|support|NONE|INFO|MOVED|sales",
        "c1|support|NONE|EXITWITHKEY||1|1|15",
        "c1|sales|NONE|ENTERQUEUE||555c1|2",
    ]
    assert out.of(cmd.QueueChanged) == [cmd.QueueChanged("c1", "sales", 0.0)]
    assert r.call_state("c1") is CallState.WAITING
    (changed,) = out.of(cmd.CallStateChanged)
    assert (changed.queue, changed.state) == ("sales", CallState.WAITING)


def test_a_free_agent_of_the_new_queue_is_rung_and_the_wait_counts_from_the_first_entry() -> None:
    r = two_queues()
    r.login("1002")
    r.call("c1")
    r.wait(20)

    out = r.move("c1", "sales")

    assert out.rung == ["1002"]
    out = r.answer("c1", "1002")
    assert out.lines("CONNECT") == ["c1|sales|1002|CONNECT|20|c1|0"]
    assert r.stats("sales").offered == 1
    assert r.stats("sales").total_wait_answered == 20


def test_the_new_queues_max_wait_counts_from_the_move() -> None:
    r = two_queues(max_wait=30)
    r.call("c1")
    r.wait(100)

    out = r.move("c1", "sales")

    assert out.started[TimerKey(TimerKind.MAX_WAIT, "c1")] == 130
    assert not out.left
    out = r.wait(30)
    assert out.verbs == ["EXITWITHTIMEOUT"]
    assert out.lines("EXITWITHTIMEOUT") == ["c1|sales|NONE|EXITWITHTIMEOUT|1|1|130"]


def test_the_old_queues_timers_stop() -> None:
    r = Replay(routing(queue(members=["1001"], max_wait=30), queue("sales", members=["1002"])))
    r.call("c1")
    r.wait(5)

    out = r.move("c1", "sales")

    assert TimerKey(TimerKind.MAX_WAIT, "c1") in out.cancelled
    assert not r.wait(100).left  # sales has no max wait


def test_a_booked_callback_moves_with_its_number() -> None:
    callback = CallbackOffer(after=1, key="*")
    r = Replay(
        routing(queue(members=["1001"], callback=callback), queue("sales", members=["1002"]))
    )
    r.call("c1")
    r.wait(2)
    r.press("c1", "*")
    assert r.call_state("c1") is CallState.CALLBACK

    r.move("c1", "sales")
    r.login("1002")

    assert r.call_state("c1") is CallState.RINGING
    (ring,) = r.history.of(cmd.Ring)
    assert (ring.agent, ring.callback_number) == ("1002", "555c1")


@pytest.mark.parametrize("case", ["ringing", "gone", "same queue", "unknown queue", "full"])
def test_moves_that_make_no_sense_are_refused_and_change_nothing(case: str) -> None:
    r = Replay(routing(queue(members=["1001"]), queue("sales", members=["1002"], max_length=1)))
    r.call("s1", "sales")
    r.call("c1")
    target = "sales"
    if case == "ringing":
        r.login("1001")
    elif case == "gone":
        r.caller_hangs_up("c1")
    elif case == "same queue":
        target = "support"
    elif case == "unknown queue":
        target = "nowhere"
    before = snapshot(r.router)

    with pytest.raises(RoutingError):
        r.move("c1", target)

    assert snapshot(r.router) == before
