"""Each queue strategy chooses the agent a person would expect it to choose."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from callcenter.core.spec import Member, Strategy
from callcenter.core.states import AgentState, CallState
from callcenter.core.timers import TimerKey, TimerKind
from tests.core.builders import Replay, queue, routing

READY, RINGING, ON_CALL = AgentState.READY, AgentState.RINGING, AgentState.ON_CALL


def replay(
    strategy: Strategy,
    members: tuple[str | Member, ...] = ("1001", "1002", "1003"),
    **settings: Any,
) -> Replay:
    return Replay(routing(queue(strategy=strategy, members=members, **settings)))


# -- ringall ---------------------------------------------------------------------------------


def test_ringall_rings_every_ready_agent_at_once() -> None:
    r = replay(Strategy.RINGALL)
    r.login("1001", "1002", "1003")

    out = r.call("c1")

    assert out.rings == [("c1", "1001"), ("c1", "1002"), ("c1", "1003")]
    assert r.states("1001", "1002", "1003") == [RINGING, RINGING, RINGING]
    assert r.call_state("c1") is CallState.RINGING


def test_ringall_rings_only_the_best_tier() -> None:
    r = replay(Strategy.RINGALL, (Member("1001"), Member("1002"), Member("1003", penalty=1)))
    r.login("1001", "1002", "1003")

    assert r.call("c1").rung == ["1001", "1002"]
    assert r.state("1003") is READY


def test_ringall_falls_back_to_the_next_tier_when_the_best_is_busy() -> None:
    r = replay(
        Strategy.RINGALL, (Member("1001"), Member("1002", penalty=1), Member("1003", penalty=1))
    )
    r.login("1001")
    r.call("c1")
    r.answer("c1", "1001")
    r.login("1002", "1003")

    assert r.call("c2").rung == ["1002", "1003"]


def test_ringall_first_answer_wins_and_the_others_stop_ringing() -> None:
    r = replay(Strategy.RINGALL)
    r.login("1001", "1002", "1003")
    r.call("c1")
    r.wait(4)

    out = r.answer("c1", "1002")

    assert out.connected == [("c1", "1002")]
    assert out.ring_cancelled == ["1001", "1003"]
    assert out.lines("RINGCANCELED") == []  # app_queue's hangupcalls() logs no line for them
    assert out.lines("CONNECT") == ["c1|support|1002|CONNECT|4|c1|4"]
    assert r.states("1001", "1002", "1003") == [READY, ON_CALL, READY]
    assert not [t for t in r.timers if t.kind is TimerKind.RING]


def test_ringall_losers_take_the_next_caller_right_away() -> None:
    r = replay(Strategy.RINGALL)
    r.login("1001", "1002")
    r.call("c1")
    r.call("c2")  # waits: both agents ring for c1

    out = r.answer("c1", "1001")

    assert out.rings == [("c2", "1002")]


def test_ringall_caller_hanging_up_cancels_every_ring() -> None:
    r = replay(Strategy.RINGALL)
    r.login("1001", "1002", "1003")
    r.call("c1")
    r.wait(3)

    out = r.caller_hangs_up("c1")

    assert out.ring_cancelled == ["1001", "1002", "1003"]
    assert out.lines("ABANDON") == ["c1|support|NONE|ABANDON|1|1|3"]
    assert r.states("1001", "1002", "1003") == [READY, READY, READY]
    assert r.call_state("c1") is CallState.DONE
    assert r.timers == {}


def test_ringall_keeps_ringing_the_others_when_one_declines() -> None:
    r = replay(Strategy.RINGALL)
    r.login("1001", "1002")
    r.call("c1")

    out = r.no_answer("c1", "1001")

    assert out.lines("RINGNOANSWER") == ["c1|support|1001|RINGNOANSWER|0"]
    assert r.ringing() == {"1002": "c1"}
    assert r.call_state("c1") is CallState.RINGING
    assert out.rung == []  # 1001 is ready again, but c1 is still being offered


def test_ringall_caller_waits_for_retry_when_every_agent_declines() -> None:
    r = replay(Strategy.RINGALL, retry=5)
    r.login("1001", "1002")
    r.call("c1")
    r.no_answer("c1", "1001")

    out = r.no_answer("c1", "1002")

    assert r.call_state("c1") is CallState.WAITING
    assert out.started == {TimerKey(TimerKind.RETRY, "c1"): 5.0}
    assert r.wait(5).rung == ["1001", "1002"]


# -- leastrecent -----------------------------------------------------------------------------


def test_leastrecent_rings_the_agent_idle_the_longest() -> None:
    r = replay(Strategy.LEAST_RECENT)
    r.login("1003")
    r.wait(5)
    r.login("1001")
    r.wait(5)
    r.login("1002")

    assert r.call("c1").rung == ["1003"]
    assert r.call("c2").rung == ["1001"]
    assert r.call("c3").rung == ["1002"]


def test_leastrecent_counts_idle_time_from_the_end_of_the_last_call() -> None:
    r = replay(Strategy.LEAST_RECENT)
    r.login("1001", "1002")  # same login time: member order breaks the tie
    r.call("c1")
    r.talk("c1", "1001", 30)  # 1001 idle since 30, 1002 since 0
    r.wait(10)

    assert r.call("c2").rung == ["1002"]


def test_leastrecent_counts_idle_time_from_the_end_of_wrapup() -> None:
    r = replay(Strategy.LEAST_RECENT, ("1001", "1002"), wrapup=20)
    r.login("1001")
    r.call("c1")
    r.talk("c1", "1001", 10)  # wrap-up until 30
    r.wait(5)
    r.login("1002")  # idle since 15
    r.wait(20)  # 1001 ready at 30

    assert r.call("c2").rung == ["1002"]


def test_leastrecent_prefers_a_lower_penalty_over_a_longer_idle_time() -> None:
    r = replay(Strategy.LEAST_RECENT, (Member("1001", penalty=1), Member("1002")))
    r.login("1001")
    r.wait(60)
    r.login("1002")

    assert r.call("c1").rung == ["1002"]


# -- fewestcalls -----------------------------------------------------------------------------


def test_fewestcalls_rings_the_agent_with_the_fewest_completed_calls() -> None:
    r = replay(Strategy.FEWEST_CALLS)
    r.login("1001")
    for call in ("c1", "c2"):
        r.call(call)
        r.talk(call, "1001", 10)
    r.login("1002")
    r.call("c3")
    r.talk("c3", "1002", 10)
    r.login("1003")  # 1001: 2 calls, 1002: 1, 1003: none

    assert r.call("c4").rung == ["1003"]
    assert r.call("c5").rung == ["1002"]
    assert r.call("c6").rung == ["1001"]


def test_fewestcalls_breaks_ties_by_member_order() -> None:
    r = replay(Strategy.FEWEST_CALLS, ("1003", "1001", "1002"))
    r.login("1001", "1002", "1003")

    assert r.call("c1").rung == ["1003"]


def test_fewestcalls_does_not_count_unanswered_offers() -> None:
    r = replay(Strategy.FEWEST_CALLS, ("1001", "1002"), retry=5)
    r.login("1001", "1002")
    r.call("c1")
    r.talk("c1", "1001", 10)  # 1001: one call
    r.call("c2")
    r.no_answer("c2", "1002")
    assert r.wait(5).rings == [("c2", "1001")]  # the round moves on to the other agent
    r.no_answer("c2", "1001")

    assert r.wait(5).rings == [("c2", "1002")]  # new round: still the one with the fewest calls


# -- least talk time -------------------------------------------------------------------------


def test_least_talk_time_rings_the_agent_who_talked_least() -> None:
    r = replay(Strategy.LEAST_TALK_TIME, ("1001", "1002"))
    r.login("1001", "1002")
    r.call("c1")
    r.call("c2")
    r.answer("c1", "1001")
    r.answer("c2", "1002")
    r.wait(20)
    r.caller_hangs_up("c2")  # 1002: one call of 20 s
    r.call("c3")
    r.answer("c3", "1002")
    r.wait(20)
    r.caller_hangs_up("c3")  # 1002: two calls, 40 s
    r.wait(60)
    r.caller_hangs_up("c1")  # 1001: one call of 100 s

    assert r.call("c4").rung == ["1002"]  # fewest calls would pick 1001


# -- random and weighted random --------------------------------------------------------------


def first_choice(strategy: Strategy, seed: int, members: tuple[str | Member, ...]) -> str:
    r = Replay(routing(queue(strategy=strategy, members=members)), seed=seed)
    r.login(*(m if isinstance(m, str) else m.agent for m in members))
    return r.call("c1").rung[0]


@pytest.mark.parametrize("strategy", [Strategy.RANDOM, Strategy.WEIGHTED_RANDOM])
def test_random_choice_is_the_same_for_the_same_seed(strategy: Strategy) -> None:
    members = ("1001", "1002", "1003", "1004", "1005")
    for seed in range(20):
        assert first_choice(strategy, seed, members) == first_choice(strategy, seed, members)


def test_random_spreads_calls_over_every_agent() -> None:
    members = ("1001", "1002", "1003")
    chosen = Counter(first_choice(Strategy.RANDOM, seed, members) for seed in range(600))

    assert set(chosen) == set(members)
    assert all(150 <= n <= 250 for n in chosen.values()), chosen


def test_random_draws_only_in_the_best_tier() -> None:
    members = (Member("1001", penalty=1), Member("1002"), Member("1003"))
    chosen = {first_choice(Strategy.RANDOM, seed, members) for seed in range(50)}

    assert chosen == {"1002", "1003"}


def test_wrandom_follows_the_member_weights() -> None:
    members = (Member("1001", weight=1.0), Member("1002", weight=3.0))
    chosen = Counter(first_choice(Strategy.WEIGHTED_RANDOM, seed, members) for seed in range(800))

    assert 140 <= chosen["1001"] <= 260, chosen  # expected 200
    assert 540 <= chosen["1002"] <= 660, chosen  # expected 600


def test_wrandom_never_rings_a_busy_agent() -> None:
    members = (Member("1001", weight=100.0), Member("1002", weight=1.0))
    for seed in range(20):
        r = Replay(routing(queue(strategy=Strategy.WEIGHTED_RANDOM, members=members)), seed=seed)
        r.login("1001")
        r.call("c1")
        r.answer("c1", "1001")
        r.login("1002")
        assert r.call("c2").rung == ["1002"]


# -- round robin -----------------------------------------------------------------------------


def test_rrmemory_goes_round_by_agent_id() -> None:
    r = replay(Strategy.RR_MEMORY, ("1003", "1001", "1002"))
    r.login("1001", "1002", "1003")
    rung = []
    for call in ("c1", "c2", "c3", "c4"):
        rung += r.call(call).rung
        r.talk(call, rung[-1], 10)

    assert rung == ["1001", "1002", "1003", "1001"]


def test_rrmemory_resumes_after_the_last_agent_rung_not_from_the_top() -> None:
    r = replay(Strategy.RR_MEMORY)
    r.login("1001", "1002", "1003")
    r.call("c1")
    r.answer("c1", "1001")
    r.call("c2")
    r.answer("c2", "1002")
    r.caller_hangs_up("c1")
    r.caller_hangs_up("c2")  # everybody free again

    assert r.call("c3").rung == ["1003"]
    assert r.call("c4").rung == ["1001"]


def test_rrmemory_skips_busy_agents_and_wraps_around() -> None:
    r = replay(Strategy.RR_MEMORY)
    r.login("1001", "1002", "1003")
    r.call("c1")
    r.answer("c1", "1001")
    r.call("c2")
    r.answer("c2", "1002")
    r.call("c3")
    r.answer("c3", "1003")
    r.caller_hangs_up("c1")  # only 1001 free: after 1003 comes 1001 again

    assert r.call("c4").rung == ["1001"]


def test_rrmemory_moves_on_after_a_missed_call() -> None:
    r = replay(Strategy.RR_MEMORY, retry=0)
    r.login("1001", "1002", "1003")
    r.call("c1")

    assert r.no_answer("c1", "1001").rung == ["1002"]


def test_rrordered_goes_round_in_member_order() -> None:
    r = replay(Strategy.RR_ORDERED, ("1003", "1001", "1002"))
    r.login("1001", "1002", "1003")
    rung = []
    for call in ("c1", "c2", "c3", "c4"):
        rung += r.call(call).rung
        r.talk(call, rung[-1], 10)

    assert rung == ["1003", "1001", "1002", "1003"]


# -- linear and top-down ---------------------------------------------------------------------


def test_linear_always_rings_the_first_free_member() -> None:
    r = replay(Strategy.LINEAR, ("1002", "1001", "1003"))
    r.login("1001", "1002", "1003")
    r.call("c1")
    r.talk("c1", "1002", 10)

    assert r.call("c2").rung == ["1002"]
    assert r.call("c3").rung == ["1001"]
    assert r.call("c4").rung == ["1003"]


def test_linear_ignores_penalties() -> None:
    r = replay(Strategy.LINEAR, (Member("1002", penalty=5), Member("1001")))
    r.login("1001", "1002")

    assert r.call("c1").rung == ["1002"]


def test_top_down_fills_tier_by_tier_in_member_order() -> None:
    members = (Member("1001", penalty=1), Member("1002"), Member("1003"))
    r = replay(Strategy.TOP_DOWN, members)
    r.login("1001", "1002", "1003")
    rung = []
    for call in ("c1", "c2", "c3"):
        rung += r.call(call).rung
        r.answer(call, rung[-1])

    assert rung == ["1002", "1003", "1001"]


def test_top_down_starts_from_the_top_again_for_every_caller() -> None:
    r = replay(Strategy.TOP_DOWN)
    r.login("1001", "1002", "1003")
    r.call("c1")
    r.talk("c1", "1001", 10)

    assert r.call("c2").rung == ["1001"]


# -- every strategy --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", list(Strategy))
def test_no_strategy_rings_a_paused_unreachable_or_logged_out_agent(strategy: Strategy) -> None:
    r = replay(strategy, ("1001", "1002", "1003", "1004"))
    r.login("1001", "1002", "1003", "1004")
    r.pause("1001")
    r.phone("1002", reachable=False)
    r.logout("1003")

    assert r.call("c1").rung == ["1004"]
