"""Rounds: a caller moves on from the agents that did not answer it, then starts again.

Within a round a caller passes over the agents it rang without an answer (rang
out, declined, or could not be rung) while any other eligible agent is free, as
app_queue's try_calling() moves on to the next member; when only tried agents
are free, a new round begins and they are rung again.
"""

from __future__ import annotations

from typing import Any

from callcenter.core.spec import Member, Strategy
from tests.core.builders import Replay, queue, routing


def desk(*members: str | Member, **settings: Any) -> Replay:
    settings.setdefault("strategy", Strategy.LINEAR)
    settings.setdefault("retry", 5)
    return Replay(routing(queue(members=members or ("1001", "1002", "1003"), **settings)))


def test_caller_moves_on_to_the_next_agent_after_a_ring_out() -> None:
    r = desk()
    r.login("1001", "1002")
    r.call("c1")  # linear: 1001 first

    r.wait_until(15)  # 1001 rings out

    assert r.wait(5).rings == [("c1", "1002")]


def test_caller_rings_every_free_agent_once_before_ringing_anyone_again() -> None:
    r = desk()
    r.login("1001", "1002", "1003")
    r.call("c1")

    rung = ["1001"]
    for _ in range(4):
        r.no_answer("c1", rung[-1])
        rung += r.wait(5).rung

    # The fourth ring begins a new round, which forgets the first.
    assert rung == ["1001", "1002", "1003", "1001", "1002"]


def test_tried_agent_is_rung_again_when_the_untried_one_is_busy() -> None:
    r = desk("1001", "1002")
    r.login("1001", "1002")
    r.call("c0")
    r.answer("c0", "1001")  # 1001 busy, 1002 free
    r.call("c1")  # rings 1002
    r.no_answer("c1", "1002")

    assert r.wait(5).rings == [("c1", "1002")]  # nobody untried is free: a new round


def test_caller_takes_a_tried_agent_rather_than_wait_for_an_untried_one() -> None:
    r = desk("1001", "1002")
    r.login("1001")
    r.call("c1")
    r.no_answer("c1", "1001")
    r.login("1002", paused="lunch")

    assert r.wait(5).rings == [("c1", "1001")]


def test_failed_ring_counts_as_tried() -> None:
    r = desk(retry=0)
    r.login("1001", "1002")
    r.call("c1")

    out = r.ring_failed("c1", "1001", "unreachable")

    assert out.rings == [("c1", "1002")]


def test_agent_is_passed_over_for_a_caller_it_missed_while_another_agent_frees_up() -> None:
    spec = routing(
        queue("sales", members=("1001", "1002"), strategy=Strategy.RINGALL),
        queue("support", members=("1001", "1002"), strategy=Strategy.LINEAR, retry=5),
    )
    r = Replay(spec)
    r.login("1001", "1002")
    r.call("c1", "support")  # rings 1001
    r.no_answer("c1", "1001")
    r.call("s1", "sales")  # rings both
    r.wait(5)  # c1's retry pause ends: nobody free

    out = r.caller_hangs_up("s1")  # frees 1001, then 1002

    assert out.rings == [("c1", "1002")]


def test_ringall_rings_only_the_agents_not_tried_in_this_round() -> None:
    r = desk("1001", "1002", strategy=Strategy.RINGALL)
    r.login("1001")
    r.call("c1")
    r.no_answer("c1", "1001")
    r.login("1002")  # during the retry pause

    assert r.wait(5).rung == ["1002"]


def test_ringall_rings_everyone_again_in_a_new_round() -> None:
    r = desk("1001", "1002", strategy=Strategy.RINGALL)
    r.login("1001", "1002")
    r.call("c1")
    r.no_answer("c1", "1001")

    r.no_answer("c1", "1002")

    assert r.wait(5).rung == ["1001", "1002"]


def test_each_caller_has_its_own_round() -> None:
    r = desk("1001", "1002")
    r.login("1001", "1002")
    r.call("c1")  # rings 1001
    r.no_answer("c1", "1001")  # c1 waits for the retry pause

    assert r.call("c2").rings == [("c2", "1001")]  # c2 never rang 1001
