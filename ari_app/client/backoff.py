"""Reconnect delays: exponential, bounded, jittered, never zero."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Attempt n waits between half and all of `min(cap, base * factor**n)` seconds.

    The jitter spreads out engines reconnecting to one restarted Asterisk; the lower
    half bound keeps every wait above zero, so a socket that closes at once can never
    make the reconnect loop spin.
    """

    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def ceiling(self, attempt: int) -> float:
        return min(self.cap, self.base * self.factor ** min(attempt, 64))

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        """The wait before reconnect attempt `attempt` (0-based); `rand()` is in [0, 1)."""
        ceiling = self.ceiling(attempt)
        return ceiling / 2 + rand() * ceiling / 2
