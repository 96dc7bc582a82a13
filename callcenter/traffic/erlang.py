"""Erlang C: the M/M/N queue's waiting figures, for comparing a staffing plan with the formula.

Inputs are ``agents`` (N), ``arrival_rate`` (λ, calls per second) and ``handle_time``
(h, mean seconds per call); the offered load is A = λ·h erlangs. With A < N:

* P(wait) = C(N, A) = N·B / (N − A·(1 − B)), where B = B(N, A) is Erlang B, computed by the
  recursion B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1)). Each step stays in [0, 1], so it
  neither overflows nor loses precision for N in the thousands, unlike the textbook
  sum of Aⁿ/n! terms;
* service level for an answer target t: P(wait ≤ t) = 1 − C·exp(−(N − A)·t / h);
* average speed of answer: ASA = C·h / (N − A).

With A ≥ N the queue grows without bound: every caller waits (C = 1), the service level
tends to 0 and the ASA to infinity. Pure functions; no I/O.
"""

from __future__ import annotations

import math


def offered_load(arrival_rate: float, handle_time: float) -> float:
    """Erlangs: arrivals per second times mean seconds per call."""
    if arrival_rate < 0 or handle_time <= 0:
        raise ValueError("arrival rate must be >= 0 and handle time > 0")
    return arrival_rate * handle_time


def erlang_b(agents: int, load: float) -> float:
    """The probability that all ``agents`` are busy in a loss system (Erlang B)."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must be >= 0")
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


def probability_of_waiting(agents: int, arrival_rate: float, handle_time: float) -> float:
    """Erlang C: the share of callers who find every agent busy and wait."""
    load = offered_load(arrival_rate, handle_time)
    if agents <= 0 or load >= agents:
        return 1.0
    blocking = erlang_b(agents, load)
    return agents * blocking / (agents - load * (1.0 - blocking))


def service_level(agents: int, arrival_rate: float, handle_time: float, target: float) -> float:
    """The share of callers answered within ``target`` seconds (waits of exactly 0 included)."""
    load = offered_load(arrival_rate, handle_time)
    if agents <= 0 or load >= agents:
        return 0.0
    waiting = probability_of_waiting(agents, arrival_rate, handle_time)
    return 1.0 - waiting * math.exp(-(agents - load) * target / handle_time)


def average_speed_of_answer(agents: int, arrival_rate: float, handle_time: float) -> float:
    """Mean seconds a caller waits before an agent answers (``inf`` when overloaded)."""
    load = offered_load(arrival_rate, handle_time)
    if agents <= 0 or load >= agents:
        return math.inf
    waiting = probability_of_waiting(agents, arrival_rate, handle_time)
    return waiting * handle_time / (agents - load)


def agents_needed(arrival_rate: float, handle_time: float, target: float, level: float) -> int:
    """The fewest agents whose service level for ``target`` seconds reaches ``level`` (0..1)."""
    if not 0 <= level < 1:
        raise ValueError("level must be in [0, 1)")
    agents = max(1, math.floor(offered_load(arrival_rate, handle_time)) + 1)
    while service_level(agents, arrival_rate, handle_time, target) < level:
        agents += 1
    return agents
