"""Erlang C against values worked out by hand and the textbook sum, and its shape."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.traffic import erlang


def textbook_probability_of_waiting(agents: int, load: Fraction) -> Fraction:
    """Erlang C from its definition, in exact rationals: (Aᴺ/N!·N/(N−A)) / (Σₖ<N Aᵏ/k! + same)."""
    terms = [load**k / math.factorial(k) for k in range(agents)]
    waiting = load**agents / math.factorial(agents) * agents / (agents - load)
    return waiting / (sum(terms) + waiting)


@pytest.mark.parametrize(
    ("agents", "load", "expected"),
    [
        (1, 0.5, 0.5),  # M/M/1: a caller waits when the one agent is busy, P = ρ
        (2, 1.0, 1 / 3),  # B(2,1) = 1/5, C = 2·(1/5) / (2 − 1·4/5) = 1/3
        (3, 2.0, 4 / 9),  # B(3,2) = 4/19, C = 3·(4/19) / (3 − 2·15/19) = 4/9
    ],
)
def test_probability_of_waiting_worked_by_hand(agents: int, load: float, expected: float) -> None:
    handle = 180.0
    assert erlang.probability_of_waiting(agents, load / handle, handle) == pytest.approx(expected)


def test_mm1_speed_of_answer_and_service_level() -> None:
    # M/M/1, ρ = 0.5, h = 60 s: ASA = ρ·h/(1−ρ) = 60 s; P(W > t) = ρ·e^(−(1−ρ)t/h).
    assert erlang.average_speed_of_answer(1, 0.5 / 60, 60) == pytest.approx(60.0)
    assert erlang.service_level(1, 0.5 / 60, 60, 30) == pytest.approx(1 - 0.5 * math.exp(-0.25))


@pytest.mark.parametrize(("agents", "load"), [(5, 3), (11, 10), (14, 10), (40, 35), (300, 280)])
def test_recursion_agrees_with_the_textbook_sum(agents: int, load: int) -> None:
    exact = textbook_probability_of_waiting(agents, Fraction(load))
    got = erlang.probability_of_waiting(agents, load / 100.0, 100.0)
    assert got == pytest.approx(float(exact), rel=1e-9)


def test_a_thousand_agents_without_overflow() -> None:
    # Aᴺ/N! alone would overflow a float here (950¹⁰⁰⁰); the recursion never leaves [0, 1].
    waiting = erlang.probability_of_waiting(1000, 950 / 180, 180.0)
    assert 0.0 < waiting < 1.0
    assert math.isfinite(erlang.average_speed_of_answer(1000, 950 / 180, 180.0))


def test_overloaded_queue() -> None:
    assert erlang.probability_of_waiting(5, 6 / 60, 60) == 1.0
    assert erlang.service_level(5, 6 / 60, 60, 20) == 0.0
    assert erlang.average_speed_of_answer(5, 6 / 60, 60) == math.inf


def test_agents_needed_is_the_fewest_reaching_the_level() -> None:
    rate, handle = 100 / 1800, 180.0  # 100 calls per half hour, 3 minutes each: 10 erlangs
    needed = erlang.agents_needed(rate, handle, target=20, level=0.8)
    assert erlang.service_level(needed, rate, handle, 20) >= 0.8
    assert erlang.service_level(needed - 1, rate, handle, 20) < 0.8


loads = st.floats(min_value=0.01, max_value=200.0)
agent_counts = st.integers(min_value=1, max_value=400)
targets = st.floats(min_value=0.0, max_value=600.0)


@given(agent_counts, loads)
def test_probability_of_waiting_is_a_probability(agents: int, load: float) -> None:
    assert 0.0 <= erlang.probability_of_waiting(agents, load / 60, 60.0) <= 1.0


@given(agent_counts, loads, targets)
def test_more_agents_never_lower_the_service_level(agents: int, load: float, target: float) -> None:
    rate = load / 60
    before = erlang.service_level(agents, rate, 60.0, target)
    after = erlang.service_level(agents + 1, rate, 60.0, target)
    assert 0.0 <= before <= after + 1e-12 <= 1.0 + 1e-12


@given(agent_counts, loads)
def test_more_agents_never_slow_the_answer(agents: int, load: float) -> None:
    rate = load / 60
    assert erlang.average_speed_of_answer(agents + 1, rate, 60.0) <= (
        erlang.average_speed_of_answer(agents, rate, 60.0)
    )
    assert erlang.probability_of_waiting(agents + 1, rate, 60.0) <= (
        erlang.probability_of_waiting(agents, rate, 60.0) + 1e-12
    )


@given(agent_counts, loads, targets, targets)
def test_a_longer_target_is_met_more_often(agents: int, load: float, t1: float, t2: float) -> None:
    low, high = sorted((t1, t2))
    rate = load / 60
    assert erlang.service_level(agents, rate, 60.0, low) <= (
        erlang.service_level(agents, rate, 60.0, high) + 1e-12
    )
