"""ARI events in: what happened on Asterisk, as the core's events and the executor's steps.

Channels the engine cares about: callers (entered from the dialplan with
``Stasis(callcenter,inbound,${EXTEN})``), agent legs (originated with
``appArgs=agent,<call>,<agent>``) and a callback's customer (``appArgs=customer,<call>``,
callbacks.py). Everything else (the other Local halves, snoops, events of channels
already released) is ignored.

A caller's keys (``ChannelDtmfReceived``, one event per key on the caller's channel,
ivr_playback_dtmf.md) go to the menus while it is in one, else to the waiting room while
it is queued; ``PlaybackFinished`` (``done`` or ``failed``, also after a stop) moves the
caller's prompts on (voice.py).

Asterisk's ways of saying "gone", as recorded:

* A dialplan caller gets ``ChannelHangupRequest`` (cause 16, or no cause at all for
  a SIP BYE) and ``StasisEnd``, and never ``ChannelDestroyed``
  (sip_caller_hangs_up_while_queued.md, queue_moh_ring_answer.md): the first of
  them ends the call. Asterisk is asked not to send ``ChannelHangupRequest`` at all
  (app.py's ``ENGINE_EVENTS``); it is read where an Asterisk without event filters
  (before 16.3) sends it anyway.
* An originated agent leg is answered when it enters the app: ``StasisStart`` comes
  after ``Dial ANSWER`` (queue_moh_ring_answer.md).
* Before that, a leg ends with ``ChannelDestroyed``: cause 19 when it rang out
  (agent_no_answer.md; no ``Dial NOANSWER``); busy shows as ``Dial BUSY`` first, and
  the originated ``;1`` half is then destroyed with cause 0, not 17 (agent_busy.md).
  A leg's ``ChannelHangupRequest`` before answer is not the end: the cause-19 request
  arrives on the ``;2`` half before the destruction.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from ari_app.client import events as ari
from ari_app.client.models import Channel
from ari_app.engine.calls import Call, CallTable, Leg
from ari_app.engine.entry import passed_variables
from ari_app.engine.executor import Executor
from callcenter.core import events as ev

log = logging.getLogger(__name__)

NO_ANSWER_CAUSES = frozenset({19, 21})  # no answer, call rejected (declined on the phone)
FAILED_DIAL = frozenset({"BUSY", "CONGESTION", "CHANUNAVAIL"})
_FAILED_DIAL_TEXT = re.compile(r'"dialstatus"\s*:\s*"(?:' + "|".join(sorted(FAILED_DIAL)) + ')"')


def failed_dial_text(message: str) -> bool:
    """Could this ``Dial`` event's raw text be a failed ring? Only those are decoded
    (``events.Sieve``): a call's other two, the ring's start (status ``""``) and its
    ``ANSWER``, are dropped unread. Inside a JSON string a quote is escaped, so
    ``"dialstatus":"BUSY"`` is found only as the event's own key and value."""
    return _FAILED_DIAL_TEXT.search(message) is not None


class StasisEvents:
    def __init__(
        self,
        calls: CallTable,
        executor: Executor,
        post: Callable[[ev.Event], None],
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.calls = calls
        self.executor = executor
        self._post = post
        self._now = now
        self._customers_up: set[str] = set()  # callback customers who answered
        self.hooks: list[Callable[[ari.AriEvent], bool]] = []
        """Asked first, in order; one that returns True took the event (call control's
        consult legs, supervisors and snoops; reachability's endpoint states)."""

    def call_of(self, event: ari.AriEvent) -> str:
        """The call an ARI event is about, or "" (for the fail-safe's log and action)."""
        channel = getattr(event, "channel", None)
        if not isinstance(channel, Channel):
            return ""
        if self.calls.call_of_channel(channel.id) is not None:
            return channel.id
        leg = self.calls.leg_of_channel(channel.id)
        if leg is not None:
            return leg.call
        return self.executor.call_of_customer(channel.id) or ""

    def on_event(self, event: ari.AriEvent) -> None:
        if self._elsewhere(event):
            return
        for hook in self.hooks:
            if hook(event):
                return
        match event:
            case ari.StasisStart():
                self._stasis_start(event)
            case ari.Dial(dialstatus=status) if status in FAILED_DIAL:
                leg = self.calls.leg_of_channel(event.peer.id)
                if leg is not None and not leg.answered:
                    self.executor.leg_failed(leg, status.lower())
            case ari.ChannelDestroyed():
                self._gone(event.channel.id, cause=event.cause)
            case ari.StasisEnd() | ari.ChannelHangupRequest():
                self._gone(event.channel.id, cause=None)
            case ari.PlaybackFinished():
                self.executor.voice.finished(event.playback.id)
            case ari.ChannelDtmfReceived():
                self._key(event.channel.id, event.digit)
            case _:
                pass

    def _elsewhere(self, event: ari.AriEvent) -> bool:
        """An event about a channel whose id is another server's caller's. Servers without
        their own ``systemname`` in asterisk.conf hand out the same ids (pool.py): such a
        newcomer goes back to the dialplan (on its server: the event's scope) and its
        events are dropped; the call already known is left alone."""
        channel = getattr(event, "channel", None)
        record = self.calls.calls.get(channel.id) if isinstance(channel, Channel) else None
        if record is None or record.server == event.server:
            return False
        if isinstance(event, ari.StasisStart):
            log.error("caller id taken on another server call=%s server=%s other=%s: "
                      "give each Asterisk its own systemname", record.id, event.server,
                      record.server)  # fmt: skip
            self.executor.refuse(record.id, event.server)
        return True

    def _key(self, channel: str, digit: str) -> None:
        """A caller's key: the menus', the waiting room's, or nobody's (talking to an agent:
        the key goes through the bridge to the agent's phone as Asterisk passes it)."""
        record = self.calls.call_of_channel(channel)
        if record is None or record.gone or record.leaving or len(digit) != 1:
            return
        if self.executor.menus.key(record.id, digit):
            return
        if record.queue and record.mixing is None and not record.callback:
            self.executor.waiting.key(record, digit)

    def _stasis_start(self, event: ari.StasisStart) -> None:
        channel = event.channel
        kind = event.args[0] if event.args else "inbound"
        if kind == "inbound":
            if self.calls.get(channel.id) is not None:
                # Arrived between the websocket's connect and the resync's GET /channels:
                # the recovery found it first and already admitted it.
                log.info("caller already admitted call=%s", channel.id)
                return
            exten = event.args[1] if len(event.args) > 1 else ""
            if not exten and channel.dialplan is not None:
                exten = channel.dialplan.exten
            record = Call(channel.id, channel.id, event.server, exten, channel.caller.number,
                          name=channel.caller.name)  # fmt: skip
            record.passed = passed_variables(event.args[2:])
            self.calls.add(record)
            log.info("caller arrived call=%s server=%s exten=%s number=%s",
                     record.id, record.server, exten, record.number)  # fmt: skip
            self.executor.admit(record)
        elif kind == "agent":
            leg = self.calls.leg_of_channel(channel.id)
            if leg is None:
                # Cancelled while it was being answered, or rung by an engine before a
                # restart: hang it up (again; a second hang-up of a leaving leg is harmless).
                log.info("late agent answer channel=%s args=%s", channel.id, event.args)
                call = event.args[1] if len(event.args) > 1 else ""
                self.executor.hang_up_stray(channel.id, call)
                return
            leg.answered = True
            self._post(ev.AgentAnswered(self._now(), leg.call, leg.agent))
        elif kind == "customer":
            # A callback's customer answered (originated with appArgs=customer,<call>).
            self._customers_up.add(channel.id)
            self.executor.customer_up(channel.id)
        else:
            log.info("ignored StasisStart channel=%s args=%s", channel.id, event.args)

    def _gone(self, channel: str, *, cause: int | None) -> None:
        if self.executor.call_of_customer(channel) is not None:
            # Like an agent leg: before the answer only ChannelDestroyed ends it.
            answered = channel in self._customers_up
            if answered or cause is not None:
                self._customers_up.discard(channel)
                self.executor.customer_gone(channel, answered=answered)
            return
        record = self.calls.call_of_channel(channel)
        if record is not None:
            # Asterisk 22 sends both ChannelHangupRequest and StasisEnd for a caller who
            # hangs up (tests/asterisk/test_engine_flows.py): the second changes nothing.
            if not record.leaving and not record.gone:
                log.info("caller hung up call=%s", record.id)
                self.executor.caller_gone(record)
            return
        leg: Leg | None = self.calls.leg_of_channel(channel)
        if leg is None:
            return
        if leg.answered:
            log.info("agent hung up call=%s agent=%s", leg.call, leg.agent)
            self.executor.agent_gone(leg)
        elif cause is not None:  # ChannelDestroyed before the answer
            no_answer = cause in NO_ANSWER_CAUSES
            self.executor.leg_failed(leg, f"cause {cause}", no_answer=no_answer)
