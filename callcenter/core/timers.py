"""Timer keys: the core asks for timers by command and gets them back as events."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class TimerKind(StrEnum):
    RING = "ring"  # the offer to `agent` of `call` rings out
    WRAPUP = "wrapup"  # `agent`'s wrap-up ends
    RETRY = "retry"  # `call` may be offered again after a no-answer
    RELAX = "relax"  # `call` becomes eligible for more agents (skill step, delay, tier)
    MAX_WAIT = "max_wait"  # `call` has waited the queue's maximum
    ANNOUNCE = "announce"  # position / expected wait announcement for `call`
    PROMPT = "prompt"  # periodic prompt for `call`
    CALLBACK_OFFER = "callback_offer"  # offer `call` a callback
    AGENT_WAIT = "agent_wait"  # `call` stops waiting for the agent it asked for


class TimerKey(NamedTuple):
    """Immutable and hashable; a named tuple because timer keys are hashed on every event."""

    kind: TimerKind
    call: str = ""
    agent: str = ""

    def __str__(self) -> str:
        return "/".join(part for part in (str(self.kind), self.call, self.agent) if part)
