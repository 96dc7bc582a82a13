"""ARI events in: what happened on Asterisk, as the core's events and the executor's steps.

Channels the engine cares about: callers (entered from the dialplan with
``Stasis(callcenter,inbound,${EXTEN})``) and agent legs (originated with
``appArgs=agent,<call>,<agent>``). Everything else (the other Local halves, snoops,
events of channels already released) is ignored.

Asterisk's ways of saying "gone", as recorded:

* A dialplan caller gets ``ChannelHangupRequest`` (cause 16, or no cause at all for
  a SIP BYE) and ``StasisEnd``, and never ``ChannelDestroyed``
  (sip_caller_hangs_up_while_queued.md, queue_moh_ring_answer.md): the first of
  them ends the call.
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
import time
from collections.abc import Callable

from ari_app.client import events as ari
from ari_app.client.models import Channel
from ari_app.engine.calls import Call, CallTable, Leg
from ari_app.engine.executor import Executor
from callcenter.core import events as ev

log = logging.getLogger(__name__)

NO_ANSWER_CAUSES = frozenset({19, 21})  # no answer, call rejected (declined on the phone)
FAILED_DIAL = frozenset({"BUSY", "CONGESTION", "CHANUNAVAIL"})


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

    def call_of(self, event: ari.AriEvent) -> str:
        """The call an ARI event is about, or "" (for the fail-safe's log and action)."""
        channel = getattr(event, "channel", None)
        if not isinstance(channel, Channel):
            return ""
        if self.calls.call_of_channel(channel.id) is not None:
            return channel.id
        leg = self.calls.leg_of_channel(channel.id)
        return leg.call if leg is not None else ""

    def on_event(self, event: ari.AriEvent) -> None:
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
            case _:
                pass

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
            record = Call(channel.id, channel.id, event.server, exten, channel.caller.number)
            self.calls.add(record)
            log.info("caller arrived call=%s exten=%s number=%s", record.id, exten, record.number)
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
        else:
            log.info("ignored StasisStart channel=%s args=%s", channel.id, event.args)

    def _gone(self, channel: str, *, cause: int | None) -> None:
        record = self.calls.call_of_channel(channel)
        if record is not None:
            if not record.leaving:
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
