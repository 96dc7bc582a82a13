"""A caller that asked for one agent (an IVR option ``agent:ID``: ``CallEnqueued.agent``):
it waits in the agent's queue for that agent only, while the agent is busy or paused,
for ``agent_wait`` seconds; then any agent of the queue takes it, in its place."""

from __future__ import annotations

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.spec import Strategy
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Outcome, Replay, queue, routing


def desk() -> Replay:
    return Replay(routing(queue(strategy=Strategy.LINEAR, retry=0)))


def for_agent(r: Replay, call: str, agent: str, wait: float = 30.0) -> Outcome:
    return r.feed(ev.CallEnqueued(r.now, call, "support", f"555{call}", agent=agent,
                                  agent_wait=wait))  # fmt: skip


def test_a_free_agent_asked_for_is_rung_and_nobody_else() -> None:
    r = desk()
    r.login("1001", "1002", "1003")

    out = for_agent(r, "c1", "1002")

    assert out.rung == ["1002"]  # linear would have chosen 1001
    assert out.verbs == ["ENTERQUEUE"]  # counted and journaled like any caller


def test_the_caller_waits_for_a_busy_agent_while_others_are_free() -> None:
    r = desk()
    r.login("1001", "1002")
    r.call("c0")
    r.answer("c0", "1001")  # 1001 talks
    r.login("1003")

    out = for_agent(r, "c1", "1001")

    assert out.rung == []
    assert r.line() == ["c1"]
    assert r.state("1002") is AgentState.READY
    assert out.started[TimerKey(TimerKind.AGENT_WAIT, "c1")] == r.now + 30
    # Another caller is not held up behind it: the free agents take it.
    assert r.call("c2").rung == ["1002"]
    # 1001 frees up: the caller it waited for is its next call.
    out = r.caller_hangs_up("c0")  # no wrap-up in this queue: ready at once
    assert out.rings == [("c1", "1001")]


def test_after_the_wait_any_agent_takes_the_caller_in_its_place() -> None:
    r = desk()
    r.login("1001", "1002")
    r.call("c0")
    r.answer("c0", "1001")
    for_agent(r, "c1", "1001", wait=20)
    r.wait(5)
    r.pause("1002")
    r.call("c2")  # came later, waits behind c1

    out = r.wait_for(TimerKind.AGENT_WAIT, "c1")
    assert out.rung == []  # nobody free yet
    assert r.line() == ["c1", "c2"]
    out = r.unpause("1002")
    assert out.rings == [("c1", "1002")]  # in its place, ahead of c2


def test_a_logged_out_or_unreachable_agent_is_not_waited_for() -> None:
    r = desk()
    r.login("1001", "1002")

    out = for_agent(r, "c1", "1003")  # logged out
    assert out.rung == ["1001"]
    assert TimerKey(TimerKind.AGENT_WAIT, "c1") not in out.started

    r.login("1003")
    r.phone("1003", reachable=False)
    out = for_agent(r, "c2", "1003")
    assert out.rung == ["1002"]


def test_an_agent_not_in_the_queue_is_not_waited_for() -> None:
    r = Replay(routing(queue(strategy=Strategy.LINEAR, members=("1001",)),
                       queue("sales", members=("1002",))))  # fmt: skip
    r.login("1001", "1002")

    out = for_agent(r, "c1", "1002")

    assert out.rings == [("c1", "1001")]


def test_no_answer_rings_the_same_agent_again_while_waiting_for_it() -> None:
    r = desk()
    r.login("1001", "1002")
    for_agent(r, "c1", "1002", wait=60)

    out = r.no_answer("c1", "1002")

    assert out.rings == [("c1", "1002")]  # a new round: still only the agent asked for
    assert r.call_state("c1") is CallState.RINGING


def test_the_wait_ends_with_the_call() -> None:
    r = desk()
    r.login("1001")
    r.call("c0")
    r.answer("c0", "1001")
    for_agent(r, "c1", "1001")

    out = r.caller_hangs_up("c1")

    assert TimerKey(TimerKind.AGENT_WAIT, "c1") in out.cancelled
    assert out.verbs == ["ABANDON"]


def test_a_supervisors_move_ends_the_wait_for_the_agent() -> None:
    r = Replay(routing(queue(strategy=Strategy.LINEAR), queue("sales", members=("1002",))))
    r.login("1001", "1002")
    r.call("c0")
    r.answer("c0", "1001")
    for_agent(r, "c1", "1001")

    out = r.move("c1", "sales")

    assert out.rings == [("c1", "1002")]
    assert not [c for c in out.of(cmd.StartTimer) if c.key.kind is TimerKind.AGENT_WAIT]


def test_the_agent_logging_out_releases_the_caller_to_any_agent_at_once() -> None:
    r = desk()
    r.login("1001", "1002")
    r.pause("1001")
    for_agent(r, "c1", "1001")
    assert r.line() == ["c1"]  # waits for 1001 while 1002 is free

    out = r.logout("1001")

    assert out.rings == [("c1", "1002")]
    assert TimerKey(TimerKind.AGENT_WAIT, "c1") in out.cancelled


def test_the_agents_phone_dropping_releases_the_caller_to_any_agent_at_once() -> None:
    r = desk()
    r.login("1001", "1002")
    r.call("c0")
    r.answer("c0", "1001")  # 1001 talks
    r.pause("1002")
    for_agent(r, "c1", "1001")

    r.phone("1001", reachable=False)
    out = r.unpause("1002")

    assert out.rings == [("c1", "1002")]  # not waiting out the 30 s for 1001
