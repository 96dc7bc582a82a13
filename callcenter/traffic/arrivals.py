"""When callers arrive: a Poisson process whose rate follows the time of day.

A profile is a step function, ``(seconds after midnight, figure)`` pairs, each figure holding
until the next time and the last one until midnight; it repeats every day of a run longer
than a day. Within a step the rate is constant, so arrivals are drawn as exponential gaps
and, the exponential being memoryless, restarting the draw at each step boundary gives
exactly a non-homogeneous Poisson process with that step rate.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from callcenter.traffic.scenario import DAY, Arrivals, Profile

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Step:
    start: float  # seconds since midnight of the run's first day
    end: float
    per_hour: float


def steps(profile: Profile, start: float, end: float) -> list[Step]:
    """The profile's steps over ``[start, end)``, repeated every day, clipped to the run."""
    found: list[Step] = []
    day = int(start // DAY)
    while day * DAY < end:
        for index, (at, figure) in enumerate(profile):
            until = profile[index + 1][0] if index + 1 < len(profile) else DAY
            low, high = max(day * DAY + at, start), min(day * DAY + until, end)
            if low < high:
                found.append(Step(low, high, figure))
        day += 1
    return found


def rate_steps(arrivals: Arrivals, start: float, length: float) -> list[Step]:
    """Calls per hour over the run, from ``per_hour``, or ``daily`` spread by ``shape``.

    ``daily`` is the expected count over the first day of the run (its first 24 hours), so
    the shape's weights are scaled by the weighted hours they cover in that day.
    """
    end = start + length
    if arrivals.per_hour is not None:
        return steps(arrivals.per_hour, start, end)
    shape = arrivals.shape or ((0.0, 1.0),)
    first_day = steps(shape, start, start + min(length, DAY))
    weighted_hours = sum((s.end - s.start) / HOUR * s.per_hour for s in first_day)
    scale = (arrivals.daily or 0.0) / weighted_hours if weighted_hours else 0.0
    return [Step(s.start, s.end, s.per_hour * scale) for s in steps(shape, start, end)]


def expected_calls(rates: list[Step], start: float, end: float) -> float:
    """The mean number of arrivals in ``[start, end)``: the integral of the rate."""
    return sum(max(0.0, min(s.end, end) - max(s.start, start)) / HOUR * s.per_hour for s in rates)


def arrival_times(rates: list[Step], rng: random.Random) -> Iterator[float]:
    """Arrival moments, in order, drawn from ``rng``."""
    for step in rates:
        if step.per_hour <= 0:
            continue
        rate = step.per_hour / HOUR
        moment = step.start + rng.expovariate(rate)
        while moment < step.end:
            yield moment
            moment += rng.expovariate(rate)
