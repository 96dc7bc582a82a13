"""Durations drawn at random: how long a caller waits before giving up, an agent talks, ...

Written in a scenario as a one-key mapping, the key naming the shape::

    {exponential: 180}                  # mean 180 s: memoryless (Erlang's assumption)
    {lognormal: {mean: 180, sd: 90}}    # skewed, never negative: real talk times look like this
    {fixed: 4}                          # always 4 s

Each is a frozen value with ``draw(rng)``; the caller owns the random generator, so a
scenario's seed decides every draw. ``quantile(share)`` turns a share drawn once into a
duration, so one uniform draw can stand for a caller's need whichever queue serves it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Annotated, Any

from pydantic import PlainValidator

from callcenter.config.values import at, not_allowed


@dataclass(frozen=True, slots=True)
class Exponential:
    mean: float

    def draw(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)

    def quantile(self, share: float) -> float:
        """The duration ``share`` of all draws stay under (inverse distribution function)."""
        return -self.mean * math.log1p(-share)

    def __str__(self) -> str:
        return f"exponential, mean {self.mean:g} s"


@dataclass(frozen=True, slots=True)
class Lognormal:
    mean: float
    sd: float

    @property
    def _normal(self) -> tuple[float, float]:
        """The underlying normal's mean and sd, from the wanted mean and sd."""
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def draw(self, rng: random.Random) -> float:
        return rng.lognormvariate(*self._normal)

    def quantile(self, share: float) -> float:
        mu, sigma = self._normal
        return math.exp(mu + sigma * NormalDist().inv_cdf(min(max(share, 1e-12), 1 - 1e-12)))

    def __str__(self) -> str:
        return f"lognormal, mean {self.mean:g} s, sd {self.sd:g} s"


@dataclass(frozen=True, slots=True)
class Fixed:
    value: float

    @property
    def mean(self) -> float:
        return self.value

    def draw(self, rng: random.Random) -> float:
        return self.value

    def quantile(self, share: float) -> float:
        return self.value

    def __str__(self) -> str:
        return f"fixed {self.value:g} s"


Duration = Exponential | Lognormal | Fixed

_SHAPES = "{exponential: MEAN}, {lognormal: {mean: M, sd: S}} or {fixed: SECONDS}"


def _seconds(value: Any, path: tuple[str | int, ...], *, zero: bool = False) -> float:
    fine = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not fine or value < 0 or (value == 0 and not zero):
        wanted = "0 or more" if zero else "greater than 0"
        raise at(path, not_allowed(f"must be a number of seconds {wanted}"))
    return float(value)


def _duration(value: Any) -> Duration:
    if isinstance(value, Exponential | Lognormal | Fixed):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise not_allowed(f"must be one of {_SHAPES}")
    [(shape, body)] = value.items()
    if shape == "exponential":
        return Exponential(_seconds(body, (shape,)))
    if shape == "fixed":
        return Fixed(_seconds(body, (shape,), zero=True))
    if shape == "lognormal":
        if not isinstance(body, dict) or set(body) != {"mean", "sd"}:
            raise at((shape,), not_allowed("must be a mapping {mean: SECONDS, sd: SECONDS}"))
        return Lognormal(
            _seconds(body["mean"], (shape, "mean")), _seconds(body["sd"], (shape, "sd"))
        )
    raise not_allowed(f"must be one of {_SHAPES}")


DurationText = Annotated[Duration, PlainValidator(_duration)]


def pick(rng: random.Random, shares: Mapping[str, float]) -> str | None:
    """A key with probability its share; None for the rest (shares adding up to less than 1)."""
    draw = rng.random()
    for key, share in shares.items():
        draw -= share
        if draw < 0:
            return key
    return None
