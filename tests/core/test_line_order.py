"""The order of callers in line, and which caller a freed agent takes."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.core.router import RoutingError
from callcenter.core.spec import Membership, PriorityRule
from tests.core.builders import Replay, agent, queue, routing, snapshot


def waiting(**settings: Any) -> Replay:
    """A queue whose only agent is logged out: everybody waits."""
    return Replay(routing(queue(members=("1001",), **settings)))


# -- first come, first served ----------------------------------------------------------------


def test_callers_of_equal_priority_are_served_first_come_first_served() -> None:
    r = waiting()
    r.calls("c1", "c2", "c3")

    assert r.line() == ["c1", "c2", "c3"]
    assert r.login("1001").rings == [("c1", "1001")]
    r.talk("c1", "1001", 10)
    assert r.ringing() == {"1001": "c2"}


def test_enterqueue_logs_each_callers_place_in_line() -> None:
    r = waiting()

    out = r.calls("c1", "c2")

    assert out.lines("ENTERQUEUE") == [
        "c1|support|NONE|ENTERQUEUE||555c1|1",
        "c2|support|NONE|ENTERQUEUE||555c2|2",
    ]


def test_caller_ringing_an_agent_keeps_its_place_for_the_others() -> None:
    r = waiting()
    r.login("1001")
    r.call("c1")

    out = r.call("c2")

    assert r.line() == ["c1", "c2"]
    assert out.lines("ENTERQUEUE") == ["c2|support|NONE|ENTERQUEUE||555c2|2"]


def test_restored_caller_takes_its_place_by_original_entry_time() -> None:
    r = Replay(routing(queue(members=("1001",))), now=100.0)
    r.call("c2")
    r.call("c1", entered=50.0)  # back after an engine restart: it came first

    assert r.line() == ["c1", "c2"]


# -- caller priority -------------------------------------------------------------------------


def test_higher_priority_caller_goes_ahead_of_earlier_callers() -> None:
    r = waiting()
    r.calls("c1", "c2")

    r.call("c3", priority=5)

    assert r.line() == ["c3", "c1", "c2"]
    assert r.login("1001").rings == [("c3", "1001")]


def test_callers_of_the_same_priority_keep_their_arrival_order() -> None:
    r = waiting()
    r.call("c1", priority=5)
    r.call("c2")
    r.call("c3", priority=5)

    assert r.line() == ["c1", "c3", "c2"]


def test_vip_rule_raises_the_callers_priority() -> None:
    r = waiting(priority_rules=(PriorityRule("caller.vip == true", 10),))
    r.calls("c1", "c2")

    out = r.call("v1", vip=True)

    assert r.line() == ["v1", "c1", "c2"]
    assert out.lines("ENTERQUEUE") == ["v1|support|NONE|ENTERQUEUE||555v1|1"]


def test_vip_rule_never_lowers_a_higher_priority() -> None:
    r = waiting(priority_rules=(PriorityRule("caller.vip", 3),))
    r.call("c1", priority=7)
    r.call("v1", vip=True)
    r.call("v2", priority=5, vip=True)

    assert r.line() == ["c1", "v2", "v1"]
    assert [c.priority for c in r.router.queues["support"].line] == [7, 5, 3]


def test_caller_not_matching_a_rule_keeps_its_priority() -> None:
    r = waiting(priority_rules=(PriorityRule("caller.vip", 3),))
    r.call("c1")
    r.call("c2", vip=False)
    r.call("c3", tier="gold")  # no vip attribute at all

    assert r.line() == ["c1", "c2", "c3"]


# -- insert at position ----------------------------------------------------------------------


def test_caller_can_be_inserted_at_a_position() -> None:
    r = waiting()
    r.calls("c1", "c2", "c3")

    out = r.call("c4", position=2)

    assert r.line() == ["c1", "c4", "c2", "c3"]
    assert out.lines("ENTERQUEUE") == ["c4|support|NONE|ENTERQUEUE||555c4|2"]


def test_inserted_caller_never_goes_ahead_of_a_higher_priority() -> None:
    r = waiting()
    r.call("c1", priority=5)
    r.calls("c2", "c3")

    r.call("c4", position=1)

    assert r.line() == ["c1", "c4", "c2", "c3"]


def test_position_past_the_end_puts_the_caller_last() -> None:
    r = waiting()
    r.calls("c1", "c2")

    r.call("c3", position=9)

    assert r.line() == ["c1", "c2", "c3"]


def test_original_position_is_reported_when_the_caller_is_served() -> None:
    r = waiting()
    r.calls("c1", "c2")
    r.call("c3", position=1)
    r.login("1001")

    out = r.talk("c3", "1001", 10)

    assert out.lines("COMPLETECALLER") == ["c3|support|1001|COMPLETECALLER|0|10|1"]


# -- supervisor priority change --------------------------------------------------------------


def test_supervisor_raising_a_priority_moves_the_caller_ahead() -> None:
    r = waiting()
    r.calls("c1", "c2", "c3")

    out = r.set_priority("c3", 5)

    assert out == []
    assert r.line() == ["c3", "c1", "c2"]
    assert r.login("1001").rings == [("c3", "1001")]


def test_supervisor_lowering_a_priority_moves_the_caller_behind() -> None:
    r = waiting()
    r.call("c1", priority=5)
    r.wait(1)
    r.calls("c2", "c3")

    r.set_priority("c1", 0)

    assert r.line() == ["c1", "c2", "c3"]  # back among equals, by arrival
    r.set_priority("c1", -1)
    assert r.line() == ["c2", "c3", "c1"]


def test_priority_of_a_caller_not_waiting_cannot_be_changed() -> None:
    r = waiting()
    r.login("1001")
    r.call("c1")  # ringing
    before = snapshot(r.router)

    with pytest.raises(RoutingError):
        r.set_priority("c1", 5)
    with pytest.raises(RoutingError):
        r.set_priority("nobody", 5)
    assert snapshot(r.router) == before


# -- fairness across queues ------------------------------------------------------------------


def shared_agent(sales_weight: float = 1.0, support_weight: float = 1.0) -> Replay:
    queues = (
        queue("sales", members=(), weight=sales_weight),
        queue("support", members=(), weight=support_weight),
    )
    memberships = (Membership("sales"), Membership("support"))
    return Replay(routing(*queues, agents=[agent("1001", queues=memberships)]))


def test_agent_in_two_queues_takes_the_caller_who_waited_longest() -> None:
    r = shared_agent()
    r.call("p1", "support")
    r.wait(10)
    r.call("s1", "sales")
    r.wait(20)

    assert r.login("1001").rings == [("p1", "1001")]


def test_queue_weight_scales_the_waiting_time_across_queues() -> None:
    r = shared_agent(support_weight=2.0)
    r.call("s1", "sales")
    r.wait(10)
    r.call("p1", "support")
    r.wait(20)  # sales: 30 s x 1, support: 20 s x 2

    assert r.login("1001").rings == [("p1", "1001")]


def test_heavier_queue_still_loses_to_a_much_longer_wait() -> None:
    r = shared_agent(support_weight=2.0)
    r.call("s1", "sales")
    r.wait(30)
    r.call("p1", "support")
    r.wait(10)  # sales: 40 s x 1, support: 10 s x 2

    assert r.login("1001").rings == [("s1", "1001")]


def test_caller_priority_counts_before_waiting_time_across_queues() -> None:
    r = shared_agent()
    r.call("s1", "sales")
    r.wait(60)
    r.call("p1", "support", priority=3)

    assert r.login("1001").rings == [("p1", "1001")]


def test_agent_alternates_fairly_between_queues_over_a_shift() -> None:
    r = shared_agent()
    r.login("1001", paused="training")
    for i in range(3):
        r.call(f"s{i}", "sales")
        r.wait(1)
        r.call(f"p{i}", "support")
        r.wait(1)
    r.unpause("1001")
    served = []
    while r.ringing():
        call = r.ringing()["1001"]
        served.append(call)
        r.talk(call, "1001", 5)

    assert served == ["s0", "p0", "s1", "p1", "s2", "p2"]
