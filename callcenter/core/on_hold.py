"""What a waiting caller hears and can ask for: announcements, prompts, a callback.

Announcements (place in line, expected wait) and periodic prompts run on timers
while the caller waits; they pause while an agent rings, since nothing should be
played over a ring, and start again when the caller is back in line.

The callback offer is made once, to a waiting caller with a number to call
back (or, with ``CallbackOffer.ask_number``, to one the IVR will ask for a
number). When it falls due while an agent rings, it is made once the caller is
back in line after the retry pause: a caller about to be rung again need not
hear it, a caller connected never does. A booked callback keeps the caller's
place; the caller hangs up and an agent calls back in turn.

``OnHold`` is a part of ``Router`` (its base class), like ``AgentLifecycle``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core import queue_log as qlog
from callcenter.core.errors import RoutingError
from callcenter.core.line import Caller
from callcenter.core.queue import Queue
from callcenter.core.states import CallState, CallTrigger
from callcenter.core.timers import TimerKey, TimerKind


class OnHold:
    if TYPE_CHECKING:  # provided by Router
        timers: dict[TimerKey, float]
        queues: dict[str, Queue]
        now: float
        _out: list[cmd.Command]

        def expected_wait(self, queue: str, position: int, now: float) -> float | None: ...
        def _waiting_caller(self, call: str) -> Caller: ...
        def _call_transition(self, caller: Caller, trigger: CallTrigger) -> None: ...
        def _start(self, key: TimerKey, at: float) -> None: ...
        def _cancel(self, key: TimerKey) -> None: ...

    # -- announcements and prompts -----------------------------------------------------------------

    def _schedule_announcements(self, queue: Queue, caller: Caller, *, first: bool) -> None:
        announcements = queue.spec.announcements
        # ``first``: joining, or back in line after a ring; timers still running keep their rhythm.
        announce = TimerKey(TimerKind.ANNOUNCE, caller.call)
        prompt = TimerKey(TimerKind.PROMPT, caller.call)
        if announcements.every and (announcements.position or announcements.expected_wait):
            at = self.now if first else self.now + announcements.every
            if announce not in self.timers:
                self._start(announce, at)
        if first and announcements.periodic_every and announcements.periodic_prompts:
            at = self.now + announcements.periodic_every
            if prompt not in self.timers:
                self._start(prompt, at)

    def _announce(self, kind: TimerKind, queue: Queue, caller: Caller) -> None:
        spec = queue.spec
        if kind is TimerKind.ANNOUNCE:
            self._schedule_announcements(queue, caller, first=False)
            position = queue.line.position(caller)
            wait = self.expected_wait(spec.name, position, self.now)
            self._out.append(cmd.Announce(
                caller.call,
                position if spec.announcements.position else None,
                wait if spec.announcements.expected_wait else None,
            ))  # fmt: skip
        elif kind is TimerKind.PROMPT:
            prompts = spec.announcements.periodic_prompts
            self._out.append(
                cmd.PlayPrompt(caller.call, prompts[caller.prompt_index % len(prompts)])
            )
            caller.prompt_index += 1
            every = spec.announcements.periodic_every
            if every:
                self._start(TimerKey(TimerKind.PROMPT, caller.call), self.now + every)

    # -- the callback ------------------------------------------------------------------------------

    def _callback_offer_fell_due(self, queue: Queue, caller: Caller) -> None:
        if caller.state is CallState.RINGING:
            caller.callback_offer_due = True  # made once back in line: _back_in_line
        elif caller.state is CallState.WAITING:
            self._offer_callback(queue, caller)

    def _back_in_line(self, queue: Queue, caller: Caller) -> None:
        """The caller is back in line after an unanswered ring and the retry pause (and was
        not rung again at once): a callback offer that fell due meanwhile is made now."""
        if caller.state is CallState.WAITING and caller.callback_offer_due:
            self._offer_callback(queue, caller)

    def _offer_callback(self, queue: Queue, caller: Caller) -> None:
        """Offer a waiting caller the callback, once, if there is a number to call back.

        A caller without a number (caller id withheld) is offered it only when the
        queue's ``CallbackOffer.ask_number`` says the IVR collects one: the command
        then says so, and the adapter sends CallbackRequested with the number.
        """
        callback = queue.spec.callback
        caller.callback_offer_due = False
        if callback is None or caller.callback_offered:
            return
        if not caller.number and not callback.ask_number:
            return
        caller.callback_offered = True
        self._out.append(cmd.OfferCallback(caller.call, callback.key, ask_number=not caller.number))

    def _callback_requested(self, event: ev.CallbackRequested) -> None:
        self._book_callback(self._waiting_caller(event.call), event.number)

    def _book_callback(self, caller: Caller, number: str) -> None:
        if not number:
            raise RoutingError(f"call {caller.call}: a callback needs a number")
        caller.callback_number = number
        self._call_transition(caller, CallTrigger.CALLBACK)
        for kind in (TimerKind.MAX_WAIT, TimerKind.ANNOUNCE, TimerKind.PROMPT,
                     TimerKind.CALLBACK_OFFER):  # fmt: skip
            self._cancel(TimerKey(kind, caller.call))
        self.queues[caller.queue].stats.callbacks += 1
        self._out.append(
            qlog.info(self.now, caller.call, caller.queue, qlog.NONE, "CALLBACK", number)
        )
        self._out.append(cmd.ConfirmCallback(caller.call, number))
