"""A booked callback, on Asterisk: the agent first, then the customer (the executor's part).

The core books a callback (``ConfirmCallback``): the caller hears the confirmation and
is hung up, and the call keeps its place in line with no channel (``Executor._kept``;
kept in the store too, bookings.py, and restored after a restart: ``restore_booking``).
In turn the core rings an agent as for any call (``Ring.callback_number``: the agent's
phone shows the customer's number) and, once the agent answers, ``Connect`` with the
number: the agent waits in a new mixing bridge while the engine originates
``Local/<number>@<outbound_context>`` (the engine setting, default ``callcenter-outbound``:
the dialplan's outbound context picks the trunk and the caller id) with
``appArgs=customer,<call>``. The customer's StasisStart means answered: into the agent's
bridge. The customer's leg is watched like an agent leg (stasis.py): before the answer
only ``ChannelDestroyed`` ends it. A customer who hangs up, or is not reached, ends the
call as a caller hang-up (COMPLETECALLER), which frees the agent for wrap-up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ari_app.client import AriError
from ari_app.client.bridges import Bridges
from ari_app.client.channels import Channels
from ari_app.engine.calls import Call, CallTable, new_leg_id
from ari_app.engine.settings import OUTBOUND_CONTEXT
from callcenter.core import events as ev

log = logging.getLogger(__name__)

__all__ = ["CALLBACK_RING", "OUTBOUND_CONTEXT", "Callbacks", "caller_id"]

CALLBACK_RING = 45
"""Seconds a callback rings the customer before giving up."""


def caller_id(name: str, number: str) -> str | None:
    """``"Name" <number>`` for originate's ``callerId``. The name is the caller's own text
    (a SIP display name): quotes, angle brackets and backslashes are dropped so that it
    cannot break out of the quotes or pass for a number."""
    clean = "".join(c for c in name if c.isprintable() and c not in '"<>\\')[:40].strip()
    digits = "".join(c for c in number if c.isalnum() or c in "+*#")[:32]
    if not digits:
        return f'"{clean}"' if clean else None
    return f'"{clean}" <{digits}>' if clean else digits


class Callbacks:
    if TYPE_CHECKING:  # provided by Executor
        channels: Channels
        bridges: Bridges
        calls: CallTable
        app: str
        outbound_context: str
        _customers: dict[str, str]
        _kept: set[str]
        _post: Callable[[ev.Event], None]
        _now: Callable[[], float]

        def _chain(self, call: str, step: Callable[[], Awaitable[None]]) -> None: ...
        def hang_up_stray(self, channel: str, call: str) -> None: ...
        async def _release(self, record: Call, *, hang_up_caller: bool) -> None: ...

    def restore_booking(self, record: Call, customer: str | None = None) -> None:
        """A booking read back from the store after a restart (bookings.py): a call with
        no channel, its place kept, as after the caller hung up; ``customer``: called
        back already, the customer's channel talking to the agent."""
        self.calls.add(record)
        self._kept.add(record.id)
        if customer is not None:
            record.customer = customer
            self._customers[customer] = record.id

    async def _dial_customer(self, record: Call, number: str) -> None:
        customer = new_leg_id()
        record.customer = customer
        self._customers[customer] = record.id
        try:
            await self.channels.originate(
                f"Local/{number}@{self.outbound_context}",
                app=self.app,
                app_args=("customer", record.id),
                channel_id=customer,
                caller_id=caller_id("", record.exten),  # the number the customer called
                ring_timeout=CALLBACK_RING,
            )
        except AriError as exc:
            log.info("callback not dialed call=%s error=%s", record.id, exc)
            self.customer_gone(customer, answered=False)

    def call_of_customer(self, channel: str) -> str | None:
        return self._customers.get(channel)

    def customer_up(self, channel: str) -> None:
        """The customer answered the callback: into the agent's bridge."""
        record = self.calls.get(self._customers.get(channel, ""))
        if record is None or record.gone or record.mixing is None:
            self.hang_up_stray(channel, record.id if record else "")
            return
        mixing = record.mixing
        log.info("callback answered call=%s", record.id)
        self._chain(record.id, lambda: self.bridges.add_channel(mixing, channel))

    def customer_gone(self, channel: str, *, answered: bool) -> None:
        """The customer hung up, or was not reached: the call ends, the agent is freed."""
        call = self._customers.pop(channel, None)
        record = self.calls.get(call or "")
        if record is None or record.gone:
            return
        if not answered:
            log.info("callback customer not reached call=%s", record.id)
        record.customer = None
        record.gone = record.leaving = True
        self._post(ev.CallerHungUp(self._now(), record.id))
        self._chain(record.id, lambda: self._release(record, hang_up_caller=False))
