"""A queue's waiting line: callers in the order they will be served.

Order: higher caller priority first, then first come first served (by entry
time). A caller may be inserted at an explicit position, but never ahead of a
caller with a higher priority (app_queue's rule). Callers stay in the line while
an agent rings for them (others' positions count them) and leave it when
connected or gone.

A caller also remembers its current round (``tried``): the agents it rang
without an answer since the round began. Choosing agents for it passes them over
while any other eligible agent is free (``selection``), as app_queue moves on to
the next member within one ``try_calling()``; when only tried agents are left,
the router starts a new round.

The line is a plain list: new callers nearly always join at the back, so the
insertion scan from the back is short, and queues hold tens to a few thousand
callers, where a list beats any tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from callcenter.core.expression import Value
from callcenter.core.states import CallState


@dataclass(eq=False, slots=True)
class Caller:
    """A call's stay in one queue (identity equality: one object per stay)."""

    call: str
    queue: str
    number: str
    attributes: dict[str, Value]
    priority: int
    entered: float
    original_position: int = 0
    state: CallState = CallState.WAITING
    callback_number: str = ""  # set once the caller asked for a callback
    ringing: set[str] = field(default_factory=set)  # agents being rung for this caller
    unaccepted: set[str] = field(default_factory=set)  # ... of them, offered on consoles only
    tried: set[str] = field(default_factory=set)  # rung without an answer in this round
    ring_started: float = 0.0
    not_before: float = 0.0  # retry pause after a no-answer
    overdue: bool = False  # max wait passed while an agent was ringing
    agent: str = ""  # the connected agent
    answered: float = 0.0
    prompt_index: int = 0
    callback_offered: bool = False  # the callback offer was made
    callback_offer_due: bool = False  # it fell due while an agent rang: made back in line
    wanted: str = ""  # the only agent it may be offered to, for now (CallEnqueued.agent)

    def waited(self, now: float) -> float:
        return now - self.entered

    def routable(self, now: float) -> bool:
        return self.state in _ROUTABLE and now >= self.not_before


_ROUTABLE = frozenset({CallState.WAITING, CallState.CALLBACK})


class Line:
    __slots__ = ("_callers",)

    def __init__(self) -> None:
        self._callers: list[Caller] = []

    def __len__(self) -> int:
        return len(self._callers)

    def __iter__(self) -> Iterator[Caller]:
        return iter(self._callers)

    def __bool__(self) -> bool:
        return bool(self._callers)

    def insert(self, caller: Caller, position: int | None = None) -> int:
        """Put ``caller`` in line; return its 1-based position."""
        callers = self._callers
        index = len(callers)
        # Back to front: behind everyone with a higher or equal priority who came earlier.
        while index > 0:
            ahead = callers[index - 1]
            if ahead.priority > caller.priority or (
                ahead.priority == caller.priority and ahead.entered <= caller.entered
            ):
                break
            index -= 1
        if position is not None:
            first_allowed = 0
            while (
                first_allowed < len(callers) and callers[first_allowed].priority > caller.priority
            ):
                first_allowed += 1
            index = max(first_allowed, min(index, position - 1))
        callers.insert(index, caller)
        return index + 1

    def remove(self, caller: Caller) -> None:
        self._callers.remove(caller)

    def position(self, caller: Caller) -> int:
        return self._callers.index(caller) + 1

    def __contains__(self, caller: object) -> bool:
        return any(c is caller for c in self._callers)
