"""Time for the simulator: real (the event loop's clock) or virtual (advanced by hand).

Everything that takes time in the simulator (an agent's ring delay, a ring timeout,
a playback's duration, a recording's maxDurationSeconds) is a callback scheduled on a
`Clock`, so a what-if run can drive the same simulator faster than real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock's own scale (monotonic)."""
        ...

    def wall(self) -> datetime:
        """The wall-clock time stamped on events."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


class RealClock:
    """The running event loop's clock."""

    def __init__(self) -> None:
        self._origin = time.time() - time.monotonic()

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.fromtimestamp(self._origin + time.monotonic(), UTC)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(delay, 0.0), callback)


class _VirtualTimer:
    __slots__ = ("callback", "cancelled", "due")

    def __init__(self, due: float, callback: Callable[[], None]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Time stands still until `advance()`; due callbacks then run in time order."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
        self._now = 0.0
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, _VirtualTimer]] = []

    def now(self) -> float:
        return self._now

    def wall(self) -> datetime:
        return datetime.fromtimestamp(self._start.timestamp() + self._now, UTC)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = _VirtualTimer(self._now + max(delay, 0.0), callback)
        heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, running every callback that falls due."""
        end = self._now + seconds
        while self._heap and self._heap[0][0] <= end:
            due, _, timer = heapq.heappop(self._heap)
            self._now = max(self._now, due)
            if not timer.cancelled:
                timer.callback()
        self._now = end

    def next_due(self) -> float | None:
        """When the next pending callback falls due, or None."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None
