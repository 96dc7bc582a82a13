"""The journal: what the routing core decided, turned into the store's rows.

The engine (and the demo) hand every event and the commands the core answered
with to :meth:`Journal.record`; the journal writes interactions, agent legs,
queue_log lines and agent state changes through a sink that never blocks (the
:class:`~callcenter.store.writer.StoreWriter`). It keeps only the few facts a
row needs that the commands do not repeat (when each leg started ringing, when
a call was answered), and forgets a call when it ends.

Outcomes follow the queue_log verb that closes the call in the queue:
``ABANDON`` abandoned, ``EXITWITHTIMEOUT``/``EXITEMPTY`` overflowed,
``EXITWITHKEY`` exited, ``FULL``/``JOINEMPTY`` refused, ``CONNECT`` answered;
a booked callback is ``callback`` until the call back is answered. A caller a
supervisor moves to another queue (``CallerMoved``) is not closed by the move's
``EXITWITHKEY``: its interaction goes on in the new queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, Unpack

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.store.records import InteractionFields, Leg, LegResult, Outcome

_CLOSING = {
    "ABANDON": Outcome.ABANDONED,
    "EXITWITHTIMEOUT": Outcome.OVERFLOWED,
    "EXITEMPTY": Outcome.OVERFLOWED,
    "EXITWITHKEY": Outcome.EXITED,
    "FULL": Outcome.REFUSED,
    "JOINEMPTY": Outcome.REFUSED,
}
_COMPLETE = ("COMPLETECALLER", "COMPLETEAGENT", "BLINDTRANSFER", "ATTENDEDTRANSFER")


class Sink(Protocol):
    """Where rows go: the StoreWriter's non-blocking submit methods."""

    def interaction(self, call_id: str, **fields: Unpack[InteractionFields]) -> bool: ...
    def leg(self, leg: Leg) -> bool: ...
    def queue_log(self, *lines: cmd.QueueLog) -> bool: ...
    def agent_state(self, changes: Sequence[cmd.AgentStateChanged], at: float) -> bool: ...


@dataclass
class _Call:
    queue: str
    rings: dict[str, float] = field(default_factory=dict)  # agent -> rang since
    answered: float | None = None


class Journal:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.calls: dict[str, _Call] = {}

    def record(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None:
        now = event.now
        if isinstance(event, ev.CallEnqueued):
            self.sink.interaction(
                event.call, caller_number=event.caller_number or None,
                arrived_at=event.entered if event.entered is not None else now,
            )  # fmt: skip
        elif isinstance(event, ev.DispositionSet):
            self.sink.interaction(event.call, disposition=event.code)
        legs: dict[tuple[str, str], LegResult] = {}
        if isinstance(event, ev.RingFailed):
            legs[event.call, event.agent] = LegResult.FAILED
        elif isinstance(event, ev.AgentNoAnswer):
            legs[event.call, event.agent] = LegResult.NO_ANSWER
        lines = [c for c in commands if isinstance(c, cmd.QueueLog)]
        changes = [c for c in commands if isinstance(c, cmd.AgentStateChanged)]
        for command in commands:
            match command:
                case cmd.Ring(accepted=True):
                    pass  # accept mode: the phone of an offer made (and logged) at accept
                case cmd.Ring(call=call, agent=agent, queue=queue):
                    self.calls.setdefault(call, _Call(queue)).rings[agent] = now
                    self.sink.interaction(call, offered_at=now)
                case cmd.CancelRing(call=call, agent=agent):
                    legs.setdefault((call, agent), LegResult.CANCELLED)
                case cmd.Connect(call=call, agent=agent, queue=queue):
                    self._connected(call, agent, queue, now)
                    legs[call, agent] = LegResult.ANSWERED
                case cmd.ConfirmCallback(call=call):
                    self.sink.interaction(call, outcome=Outcome.CALLBACK)
                case cmd.QueueLog(verb=verb, call=call) if (
                    verb in _CLOSING and isinstance(event, ev.CallerMoved) and call == event.call
                ):
                    pass  # moved to another queue: the stay goes on (ENTERQUEUE follows)
                case cmd.QueueLog():
                    self._queue_log(command, legs)
                case _:
                    pass
        for (call, agent), result in legs.items():
            self._close_leg(call, agent, result, now)
        if lines:
            self.sink.queue_log(*lines)
        if changes:
            self.sink.agent_state(changes, now)

    def _connected(self, call: str, agent: str, queue: str, now: float) -> None:
        self.calls.setdefault(call, _Call(queue)).answered = now
        self.sink.interaction(
            call, agent=agent, queue=queue, answered_at=now, outcome=Outcome.ANSWERED
        )

    def _queue_log(self, line: cmd.QueueLog, legs: dict[tuple[str, str], LegResult]) -> None:
        call, now = line.call, line.time
        if line.verb == "ENTERQUEUE":
            self.calls[call] = _Call(line.queue)
            self.sink.interaction(call, queue=line.queue, enqueued_at=now)
        elif line.verb == "RINGNOANSWER" and legs.get((call, line.agent)) != LegResult.FAILED:
            legs[call, line.agent] = LegResult.NO_ANSWER  # rang out (its CancelRing came first)
        elif line.verb in _CLOSING:
            self.sink.interaction(call, queue=line.queue, ended_at=now, outcome=_CLOSING[line.verb])
            self.calls.pop(call, None)
        elif line.verb in _COMPLETE:
            record = self.calls.pop(call, None)
            talk = now - record.answered if record and record.answered is not None else None
            self.sink.interaction(call, ended_at=now, talk_time=talk)
        elif line.verb == "UNPAUSEALL" and line.data[:1] == ("ACW",) and call != "NONE":
            self.sink.interaction(call, wrapup_ended_at=now)

    def _close_leg(self, call: str, agent: str, result: LegResult, now: float) -> None:
        record = self.calls.get(call)
        rang = record.rings.pop(agent, None) if record else None
        if rang is None:
            return
        answered = now if result is LegResult.ANSWERED else None
        ended = None if answered is not None else now
        self.sink.leg(Leg(call, agent, rang, str(result), record.queue if record else None,
                          answered, ended))  # fmt: skip
