"""Delivery of events to the app's websocket, stamped like Asterisk 22 stamps them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sim.clock import Clock
from sim.model import Json, ari_time

ASTERISK_ID = "02:fc:00:00:00:01"

Sink = Callable[[str], None]


class EventBus:
    """One websocket per app: a second one for the same app takes over and the first gets
    `ApplicationReplaced` (README, reconnect.md). While no socket is connected, events
    for that app are dropped; Asterisk does not replay them."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._sinks: dict[str, Sink] = {}
        self.log: list[Json] = []
        """Every event delivered, in order (tests read it)."""

    def connect(self, app: str, sink: Sink) -> None:
        old = self._sinks.get(app)
        if old is not None:
            old(json.dumps(self._stamp("ApplicationReplaced", app, {})))
        self._sinks[app] = sink

    def disconnect(self, app: str, sink: Sink) -> None:
        if self._sinks.get(app) is sink:
            del self._sinks[app]

    def connected(self, app: str) -> bool:
        return app in self._sinks

    def emit(self, app: str, type_: str, **fields: Any) -> None:
        sink = self._sinks.get(app)
        if sink is None:
            return
        event = self._stamp(type_, app, fields)
        self.log.append(event)
        sink(json.dumps(event))

    def stamped(self, message: Json, app: str) -> Json:
        """A message sent outside the event stream (a REST answer on the socket), stamped
        as Asterisk stamps every message it sends there."""
        return {
            **message,
            "application": app,
            "timestamp": ari_time(self._clock.wall()),
            "asterisk_id": ASTERISK_ID,
        }

    def _stamp(self, type_: str, app: str, fields: dict[str, Any]) -> Json:
        return {
            "type": type_,
            "timestamp": ari_time(self._clock.wall()),
            **fields,
            "asterisk_id": ASTERISK_ID,
            "application": app,
        }

    def apps(self) -> list[str]:
        return list(self._sinks)
