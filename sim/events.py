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
        self._allowed: dict[str, list[str]] = {}
        self._disallowed: dict[str, list[str]] = {}
        self.log: list[Json] = []
        """Every event raised for a connected app, in order, whether or not its event
        filter let it through to the socket (tests read it)."""

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
        if self.passes(app, type_):
            sink(json.dumps(event))

    def set_filter(self, app: str, spec: Json) -> bool:
        """``PUT /applications/{app}/eventFilter`` (res/stasis/app.c,
        app_event_filter_set): an empty spec clears both lists, a list left out is kept,
        each entry needs a ``type``. False (nothing changed) when the spec is malformed."""
        lists = {"disallowed": self._disallowed, "allowed": self._allowed}
        if not spec:
            for kept in lists.values():
                kept.pop(app, None)
            return True
        chosen: dict[str, list[str]] = {}
        for key in lists:
            if key not in spec:
                continue
            entries = spec[key]
            if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("type"), str) and e["type"]
                for e in entries
            ):
                return False
            chosen[key] = [e["type"] for e in entries]
        for key, types in chosen.items():
            lists[key][app] = types
        return True

    def filter_of(self, app: str) -> tuple[list[str], list[str]]:
        """(allowed, disallowed) event types, as ``GET /applications/{app}`` lists them."""
        return list(self._allowed.get(app, [])), list(self._disallowed.get(app, []))

    def passes(self, app: str, type_: str) -> bool:
        """Does ``app``'s filter let a message of ``type_`` through (stasis_app_event_allowed:
        disallowed wins; an empty allowed list allows all)? Answers to requests too."""
        allowed = self._allowed.get(app)
        return type_ not in self._disallowed.get(app, ()) and (not allowed or type_ in allowed)

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
