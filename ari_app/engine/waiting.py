"""What a caller hears and keys while queued: the core's waiting-room commands over ARI.

``Announce``, ``PlayPrompt``, ``OfferCallback`` and ``ConfirmCallback`` become prompts
played on the caller's channel while it stays in the holding bridge (voice.py says how
Asterisk plays to a bridged channel: the music pauses for the prompt and comes back).
They are queued behind each other rather than cut off, except the callback's
confirmation, which ends the call.

Place in line and expected wait are said as app_queue says them (``say_position`` in
apps/app_queue.c): ``queue-youarenext`` for the first caller, else ``queue-thereare``,
the position as a number, ``queue-callswaiting``; then ``queue-holdtime``, the minutes
(``queue-less-than`` one minute when shorter), ``queue-minute(s)``; then
``queue-thankyou``. All are Asterisk core sounds; the callback prompts (`CALLBACK_*`)
are the center's own recordings, to be installed under each language's sounds.

Keys while queued go to the core as ``DtmfPressed`` (exit key, callback key); they arrive
as ``ChannelDtmfReceived`` on the caller's channel although it is in the holding bridge:
a holding bridge never bridges natively, so its media (and DTMF) pass through Asterisk's
core, where the event is raised (the traces show DTMF only on an unbridged channel,
ivr_playback_dtmf.md; a *mixing* bridge may go native and needs ``dtmf_events``). A caller
without a number who accepts the callback (``OfferCallback.ask_number``) keys one in,
ended by ``#``, by `NUMBER_MAX` digits or by `KEY_GAP` seconds of silence; a plausible
number goes to the core as ``CallbackRequested``, anything else is refused and the
caller stays in line.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ari_app.engine.calls import Call
from ari_app.engine.voice import Voice
from callcenter.core import commands as cmd
from callcenter.core import events as ev

log = logging.getLogger(__name__)

CALLBACK_OFFER = "sound:callcenter/callback-offer"  # "to be called back, keeping your place, press"
CALLBACK_ENTER_NUMBER = "sound:callcenter/callback-enter-number"  # "... then the pound key"
CALLBACK_NUMBER_INVALID = "sound:callcenter/callback-number-invalid"
CALLBACK_BOOKED = "sound:callcenter/callback-booked"  # "we will call you back at"
GOODBYE = "sound:vm-goodbye"
NUMBER_MIN, NUMBER_MAX = 5, 20
KEY_GAP = 8.0
"""Seconds of silence that end a callback number being keyed in."""


def position_media(position: int) -> list[str]:
    if position <= 1:
        return ["sound:queue-youarenext"]
    return ["sound:queue-thereare", f"number:{position}", "sound:queue-callswaiting"]


def wait_media(seconds: float) -> list[str]:
    minutes = round(seconds / 60)
    if minutes < 1:
        return ["sound:queue-holdtime", "sound:queue-less-than", "number:1", "sound:queue-minute"]
    unit = "sound:queue-minute" if minutes == 1 else "sound:queue-minutes"
    return ["sound:queue-holdtime", f"number:{minutes}", unit]


def announcement_media(position: int | None, expected_wait: float | None) -> list[str]:
    media: list[str] = []
    if position is not None:
        media += position_media(position)
    if expected_wait is not None and math.isfinite(expected_wait):
        media += wait_media(max(0.0, expected_wait))
    return [*media, "sound:queue-thankyou"] if media else []


def callback_offer_media(key: str) -> list[str]:
    return [CALLBACK_OFFER, f"digits:{key}"]


def callback_booked_media(number: str) -> list[str]:
    return [CALLBACK_BOOKED, f"digits:{number}", GOODBYE]


@dataclass(eq=False)
class _Number:
    """A callback number being keyed in."""

    key: str
    digits: list[str] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class WaitingRoom:
    def __init__(
        self,
        voice: Voice,
        post: Callable[[ev.Event], None],
        now: Callable[[], float],
        hang_up: Callable[[Call], None],
    ) -> None:
        self.voice = voice
        self._post = post
        self._now = now
        self._hang_up = hang_up
        self._asks: dict[str, str] = {}  # call -> the callback key that asks for a number
        self._numbers: dict[str, _Number] = {}

    # -- the core's commands ----------------------------------------------------------------

    def execute(self, record: Call, command: cmd.Command) -> None:
        match command:
            case cmd.Announce() | cmd.PlayPrompt() if self.voice.behind(record.id):
                # On a real Asterisk "you are next" alone lasts 5.4 s: timers shorter than
                # what they say would pile up stale places in line without end
                # (tests/asterisk/test_engine_flows.py). One batch may wait, no more.
                log.debug("announcement skipped call=%s: the last one still waits", record.id)
            case cmd.Announce(position=position, expected_wait=wait):
                self._say(record, announcement_media(position, wait))
            case cmd.PlayPrompt(prompt=prompt):
                self._say(record, [f"sound:{prompt}"])
            case cmd.OfferCallback(key=key, ask_number=ask):
                if ask:
                    self._asks[record.id] = key
                self._say(record, callback_offer_media(key))
            case cmd.ConfirmCallback(number=number):
                # The place is kept; the caller is hung up once the confirmation is heard.
                record.callback = number
                self.forget(record.id)
                log.info("callback booked call=%s queue=%s", record.id, record.queue)
                self.voice.play(record.id, record.channel, callback_booked_media(number),
                                record.lang, done=lambda: self._hang_up(record))  # fmt: skip
            case _:
                pass

    def _say(self, record: Call, media: list[str]) -> None:
        if media and record.id not in self._numbers:  # not while a number is keyed in
            self.voice.play(record.id, record.channel, media, record.lang, interrupt=False)

    # -- keys ---------------------------------------------------------------------------------

    def key(self, record: Call, digit: str) -> None:
        """A key of a queued caller: the core's, unless it is part of a callback number."""
        number = self._numbers.get(record.id)
        if number is not None:
            self._number_key(record, number, digit)
        elif self._asks.get(record.id) == digit:
            # The core books nothing on this key for a caller without a number: ask for one.
            del self._asks[record.id]
            number = self._numbers[record.id] = _Number(digit)
            self.voice.play(record.id, record.channel, [CALLBACK_ENTER_NUMBER], record.lang)
            self._restart_gap(record, number)
        else:
            self._post(ev.DtmfPressed(self._now(), record.id, digit))

    def _number_key(self, record: Call, number: _Number, digit: str) -> None:
        self.voice.stop(record.id)  # barge-in over the request to key the number in
        if digit == "#":
            self._number_done(record)
            return
        if digit.isdigit():
            number.digits.append(digit)
        if len(number.digits) >= NUMBER_MAX:
            self._number_done(record)
        else:
            self._restart_gap(record, number)

    def _restart_gap(self, record: Call, number: _Number) -> None:
        if number.timer is not None:
            number.timer.cancel()
        loop = asyncio.get_running_loop()
        number.timer = loop.call_later(KEY_GAP, lambda: self._number_done(record))

    def _number_done(self, record: Call) -> None:
        number = self._numbers.pop(record.id, None)
        if number is None or record.gone:
            return
        if number.timer is not None:
            number.timer.cancel()
        keyed = "".join(number.digits)
        if NUMBER_MIN <= len(keyed) <= NUMBER_MAX:
            self._post(ev.CallbackRequested(self._now(), record.id, keyed))
            return
        log.info("callback number refused call=%s digits=%d", record.id, len(keyed))
        self._asks[record.id] = number.key  # the caller may try again
        self.voice.play(record.id, record.channel, [CALLBACK_NUMBER_INVALID], record.lang)

    def forget(self, call: str) -> None:
        """The caller left the line (connected, gone, sent on): no number is awaited."""
        self._asks.pop(call, None)
        number = self._numbers.pop(call, None)
        if number is not None and number.timer is not None:
            number.timer.cancel()
