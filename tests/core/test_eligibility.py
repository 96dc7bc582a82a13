"""Who may take a caller, and when: tiers, skill steps, agent-centric priority and delay."""

from __future__ import annotations

from typing import Any

from callcenter.core.spec import Member, Membership, SkillStep, Strategy
from callcenter.core.states import AgentState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, agent, queue, routing

TIERED = (Member("1001"), Member("1002", penalty=1), Member("1003", penalty=2))


# -- tiers (penalties) -----------------------------------------------------------------------


def test_higher_tier_is_offered_the_caller_only_after_the_tier_wait() -> None:
    r = Replay(routing(queue(members=TIERED, tier_wait=10)))
    r.login("1002", "1003")

    out = r.call("c1")

    assert out.rung == []
    assert out.started[TimerKey(TimerKind.RELAX, "c1")] == 10
    assert r.wait(9.5).rung == []
    assert r.wait(0.5).rings == [("c1", "1002")]


def test_each_tier_opens_after_its_level_times_the_tier_wait() -> None:
    r = Replay(routing(queue(members=TIERED, tier_wait=10)))
    r.login("1003")
    r.call("c1")

    assert r.wait(10).rung == []
    assert r.wait(10).rings == [("c1", "1003")]


def test_first_tier_agent_freeing_up_takes_the_caller_before_the_tier_opens() -> None:
    r = Replay(routing(queue(members=TIERED, tier_wait=10)))
    r.login("1002")
    r.call("c1")
    r.wait(5)

    assert r.login("1001").rings == [("c1", "1001")]
    assert r.state("1002") is AgentState.READY


def test_without_tier_wait_a_higher_tier_rings_as_soon_as_the_lower_tier_is_busy() -> None:
    r = Replay(routing(queue(members=TIERED)))
    r.login("1001", "1002")
    r.call("c1")

    assert r.call("c2").rings == [("c2", "1002")]


def test_without_tier_wait_the_lower_tier_is_always_tried_first() -> None:
    r = Replay(routing(queue(members=TIERED)))
    r.login("1003", "1002", "1001")

    assert r.call("c1").rung == ["1001"]
    assert r.call("c2").rung == ["1002"]
    assert r.call("c3").rung == ["1003"]


# -- skills relaxed in steps -----------------------------------------------------------------

STEPS = (SkillStep(0, "billing >= 4"), SkillStep(30, "billing >= 2"), SkillStep(60, ""))
SKILLED = (
    agent("1001", skills={"billing": 5}),
    agent("1002", skills={"billing": 2}),
    agent("1003", skills={}),
)


def skilled(**settings: Any) -> Replay:
    return Replay(routing(queue(skill_steps=STEPS, **settings), agents=SKILLED))


def test_caller_first_waits_for_an_expert() -> None:
    r = skilled()
    r.login("1002", "1003")

    out = r.call("c1")

    assert out.rung == []
    assert out.started[TimerKey(TimerKind.RELAX, "c1")] == 30


def test_relaxed_requirement_widens_the_agents_as_the_caller_waits() -> None:
    r = skilled()
    r.login("1002", "1003")
    r.call("c1")

    out = r.wait(30)

    assert out.rings == [("c1", "1002")]


def test_requirement_relaxes_step_by_step_down_to_anyone() -> None:
    r = skilled()
    r.login("1003")
    r.call("c1")

    assert r.wait(30).rung == []
    assert r.wait(30).rings == [("c1", "1003")]


def test_expert_freeing_up_takes_the_caller_before_the_requirement_relaxes() -> None:
    r = skilled()
    r.login("1002")
    r.call("c1")
    r.wait(10)

    assert r.login("1001").rings == [("c1", "1001")]
    assert TimerKey(TimerKind.RELAX, "c1") in r.answer("c1", "1001").cancelled


def test_relax_timer_stops_once_no_step_is_left() -> None:
    r = skilled()
    r.call("c1")
    r.wait(30)

    out = r.wait(30)

    assert TimerKey(TimerKind.RELAX, "c1") not in out.started
    assert r.timers.keys() == set()


def test_requirement_can_read_caller_attributes() -> None:
    steps = (SkillStep(0, 'caller.lang != "zh" or mandarin >= 3'),)
    agents = (agent("1001", skills={"mandarin": 4}), agent("1002", skills={}))
    r = Replay(
        routing(
            queue(members=("1002", "1001"), skill_steps=steps, strategy=Strategy.LINEAR),
            agents=agents,
        )
    )
    r.login("1001", "1002")

    assert r.call("c1", lang="zh").rings == [("c1", "1001")]
    assert r.call("c2", lang="en").rings == [("c2", "1002")]


def test_agent_skips_a_caller_it_cannot_serve_and_takes_the_next_one() -> None:
    steps = (SkillStep(0, 'caller.lang != "zh" or mandarin >= 3'),)
    r = Replay(routing(queue(members=("1001",), skill_steps=steps)))
    r.call("c1", lang="zh")
    r.wait(1)
    r.call("c2", lang="en")

    assert r.login("1001").rings == [("c2", "1001")]
    assert r.line() == ["c1", "c2"]


def test_members_by_skill_makes_every_matching_agent_a_member() -> None:
    r = Replay(routing(queue(members=(), members_by_skill="billing >= 2"), agents=SKILLED))
    r.login("1003")
    r.call("c1")

    assert r.login("1002").rings == [("c1", "1002")]
    assert sorted(r.router.queues["support"].members) == ["1001", "1002"]


# -- agent-centric routing -------------------------------------------------------------------


def two_queues(*memberships: Membership, **queue_settings: object) -> Replay:
    queues = (queue("sales", members=(), **queue_settings), queue("vip", members=()))
    return Replay(routing(*queues, agents=[agent("1001", queues=memberships)]))


def test_agent_takes_a_caller_of_its_first_choice_queue_first() -> None:
    r = two_queues(Membership("vip", priority=1), Membership("sales", priority=2))
    r.call("s1", "sales")
    r.wait(30)
    r.call("v1", "vip")
    r.wait(10)

    assert r.login("1001").rings == [("v1", "1001")]


def test_agent_takes_its_second_choice_queue_when_the_first_is_empty() -> None:
    r = two_queues(Membership("vip", priority=1), Membership("sales", priority=2))
    r.login("1001")
    r.call("v1", "vip")
    r.call("s1", "sales")
    r.talk("v1", "1001", 60)

    assert r.ringing() == {"1001": "s1"}


def test_queue_delay_holds_the_agent_back_until_the_caller_waited_that_long() -> None:
    r = two_queues(Membership("sales", delay=30), Membership("vip"))
    r.login("1001")

    out = r.call("s1", "sales")

    assert out.rung == []
    assert out.started[TimerKey(TimerKind.RELAX, "s1")] == 30
    assert r.wait(30).rings == [("s1", "1001")]


def test_queue_delay_applies_to_one_agent_only() -> None:
    agents = [
        agent("1001", queues=(Membership("sales", delay=30),)),
        agent("1002", queues=(Membership("sales"),)),
    ]
    r = Replay(routing(queue("sales", members=()), agents=agents))
    r.login("1001", "1002")

    assert r.call("s1", "sales").rings == [("s1", "1002")]


def test_delayed_agent_freeing_up_late_takes_the_caller_at_once() -> None:
    r = two_queues(Membership("sales", delay=30))
    r.login("1001", paused="lunch")
    r.call("s1", "sales")
    r.wait(45)

    assert r.unpause("1001").rings == [("s1", "1001")]
