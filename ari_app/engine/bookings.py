"""Booked callbacks kept in the store, so that they survive an engine restart.

A caller who books the queue's callback hangs up and keeps the place in line
(callbacks.py): from then on the booking exists only in the engine, Asterisk has no
channel left to read it back from (recovery.py reads the waiting callers from their
channels). `Bookings` watches the core's decisions, as the store's journal does, and
keeps each booking in the store (``booked_callbacks``, callcenter/store/restart.py):

* written on ``ConfirmCallback``, with what the line needs to take it back in its
  place (queue, first entry time, priority, the caller's routing attributes) and what
  the call back needs (the number, the number dialed, the caller's language);
* rewritten when a supervisor moves it to another queue (``QueueChanged``);
* dropped when the call is over (``done``): called back and ended, or it left the line.
  Kept while the agent calls the customer back, so that a restarted engine finds the
  call's data for the agent and customer it finds talking.

A restarted engine (`Recovery`, first connect) puts the stored bookings back in line
with ``CallEnqueued.callback_number``, waiting for their call back in their place;
one whose agent and customer talk is adopted as a talking call; one the store shows
connected with nothing going on any more was served: dropped (`KeptRecords.ended`).
An engine killed within the store writer's batch window after a booking may lose it,
as it may lose any write of that window; the caller was told the booking is made, so
the window is kept short (the writer's ``flush_interval``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ari_app.engine.calls import CallTable
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.router import Router
from callcenter.core.states import CallState
from callcenter.store.restart import Booking, BookingEnded, BookingSaved, StoredRecords
from callcenter.store.writer import WriteOp

if TYPE_CHECKING:
    from ari_app.engine.app import Engine
    from callcenter.store import Store, StoreWriter

log = logging.getLogger(__name__)

Submit = Callable[[WriteOp], bool]
_OVER = CallState.DONE


class Bookings:
    """A journal of the dispatcher (``Engine.journals``): bookings into the store."""

    def __init__(self, submit: Submit, router: Router, calls: CallTable) -> None:
        self._submit = submit
        self._router = router
        self._calls = calls
        self.booked: set[str] = set()

    def record(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None:
        if isinstance(event, ev.CallEnqueued) and event.callback_number:
            self.booked.add(event.call)  # restored from the store: its row is there
        booked = self.booked
        for command in commands:  # on every event: one type test per command, mostly
            if isinstance(command, cmd.ConfirmCallback):
                self._save(command.call, event.now)
            elif not booked:
                continue
            elif isinstance(command, cmd.QueueChanged) and command.call in booked:
                self._save(command.call, event.now)
            elif (
                isinstance(command, cmd.CallStateChanged) and command.call in booked
                and command.state is _OVER
            ):  # fmt: skip
                booked.discard(command.call)
                self._submit(BookingEnded(command.call))

    def _save(self, call: str, now: float) -> None:
        caller = self._router.calls.get(call)
        record = self._calls.get(call)
        if caller is None or record is None or not caller.callback_number:
            return
        self.booked.add(call)
        booking = Booking(
            call, record.server, caller.queue, caller.callback_number, caller.entered, now,
            caller.number, record.name, record.exten, record.lang, caller.priority,
            dict(caller.attributes),
        )  # fmt: skip
        if not self._submit(BookingSaved(booking)):
            log.error("booking not kept call=%s: the store writer refused it", call)


class KeptRecords(StoredRecords):
    """recovery.py's `Records`: the store's reads, and a served booking dropped."""

    def __init__(self, store: Store, submit: Submit) -> None:
        super().__init__(store)
        self._submit = submit

    def ended(self, call: str) -> None:
        self._submit(BookingEnded(call))


def keep_in_store(engine: Engine, store: Store, writer: StoreWriter) -> None:
    """What a restart needs from the store: bookings written as they are made, and read
    back with the lines already written for each restored call (recovery.py)."""
    bookings = Bookings(writer.submit, engine.router, engine.calls)
    engine.journals.append(bookings)
    engine.recovery.records = KeptRecords(store, writer.submit)
