"""Who is who on the Asterisk side: calls, their caller channel, agent legs and bridges.

A call's id is its caller channel's id (Asterisk's uniqueid), so the queue_log
callid matches what Asterisk itself writes and a restarted engine finds its calls
again from `GET /channels`. An agent leg is the channel the engine originated to
ring one agent for one call; its id is chosen by the engine (`new_leg_id`) before
the originate, so events that overtake the originate's response still find it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


def new_leg_id() -> str:
    """A fresh originate `channelId`. All leg ids have the same length, so none is a
    prefix of another: Asterisk rejects (409) a channelId that is a prefix of a live
    channel's id (errors.md, README "Behaviour worth knowing")."""
    return f"cc-leg-{uuid.uuid4().hex}"


def new_bridge_id(kind: str) -> str:
    return f"cc-{kind}-{uuid.uuid4().hex}"


@dataclass(eq=False)
class Leg:
    """The channel ringing (then talking to) `agent` for `call`."""

    channel: str
    call: str
    agent: str
    answered: bool = False


@dataclass(eq=False)
class Call:
    id: str
    channel: str
    server: str
    exten: str = ""  # the dialed number (Stasis argument)
    number: str = ""  # the caller's number
    queue: str = ""  # the queue it was put in on arrival
    holding: str | None = None  # holding bridge (music on hold) while waiting
    mixing: str | None = None  # mixing bridge with the agent once connected
    legs: dict[str, Leg] = field(default_factory=dict)  # by agent
    leaving: bool = False  # sent on by the engine (continue/hangup): its StasisEnd is expected
    gone: bool = False  # the caller hung up (or was sent away): no more commands for it


class CallTable:
    """The mapping both ways, kept by the ARI side only (the core has its own view)."""

    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}
        self._legs: dict[str, Leg] = {}  # by channel id

    def add(self, call: Call) -> Call:
        self.calls[call.id] = call
        return call

    def get(self, call: str) -> Call | None:
        return self.calls.get(call)

    def remove(self, call: str) -> Call | None:
        record = self.calls.pop(call, None)
        if record is not None:
            for leg in record.legs.values():
                self._legs.pop(leg.channel, None)
        return record

    def add_leg(self, leg: Leg) -> Leg:
        record = self.calls[leg.call]
        record.legs[leg.agent] = leg
        self._legs[leg.channel] = leg
        return leg

    def leg_of_channel(self, channel: str) -> Leg | None:
        return self._legs.get(channel)

    def leg(self, call: str, agent: str) -> Leg | None:
        record = self.calls.get(call)
        return record.legs.get(agent) if record else None

    def remove_leg(self, call: str, agent: str) -> Leg | None:
        record = self.calls.get(call)
        leg = record.legs.pop(agent, None) if record else None
        if leg is not None:
            self._legs.pop(leg.channel, None)
        return leg

    def call_of_channel(self, channel: str) -> Call | None:
        """The call whose caller is `channel` (the call id is the caller channel id)."""
        return self.calls.get(channel)
