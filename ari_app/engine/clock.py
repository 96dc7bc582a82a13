"""The clock adapter: the core's StartTimer/CancelTimer become event-loop timers, and a
timer that falls due comes back into the core as TimerFired.

The core asks for timers at absolute times on its own scale (``now`` of the events,
epoch seconds here); the loop schedules on its monotonic clock, so each timer is
placed at ``loop.time() + (at - now())``. A timer cancelled too late to stop its
callback is harmless: the core drops a TimerFired it no longer expects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from callcenter.core import events as ev
from callcenter.core.timers import TimerKey

Post = Callable[[ev.Event], None]


class TimerClock:
    def __init__(self, post: Post, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self._post = post
        self._handles: dict[TimerKey, asyncio.TimerHandle] = {}

    def start(self, key: TimerKey, at: float) -> None:
        self.cancel(key)
        loop = asyncio.get_running_loop()
        delay = max(0.0, at - self.now())
        self._handles[key] = loop.call_at(loop.time() + delay, self._fire, key)

    def cancel(self, key: TimerKey) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()

    def _fire(self, key: TimerKey) -> None:
        self._handles.pop(key, None)
        self._post(ev.TimerFired(self.now(), key))

    @property
    def pending(self) -> int:
        return len(self._handles)
