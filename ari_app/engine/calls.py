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

from callcenter.core.expression import Value
from callcenter.core.spec import Target


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
    pending: bool = False  # its originate not sent yet: a cancel needs no hang-up (no channel)


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
    name: str = ""  # the caller's name (caller id), shown to the agent
    lang: str | None = None  # the prompts' language (the number's, or the caller's choice)
    ivr_path: str = ""  # the menus and keys taken, e.g. "hotline-main>2>hotline-support>3"
    callback: str = ""  # a booked callback's number: the caller hangs up, the call stays
    customer: str | None = None  # the channel the engine dialed for the callback
    recording: str | None = None  # the live recording's name once connected
    attributes: dict[str, Value] = field(default_factory=dict)  # for the queue, from arrival
    priority: int = 0
    passed: dict[str, str] | None = None  # CC_* passed as Stasis arguments (entry.py)
    # Sent on (continue, hang-up, fail-safe) while its server could not be reached: still
    # in Stasis, hearing music; sent again to `resend` at the server's resync.
    stranded: bool = False
    resend: Target | None = None


class CallTable:
    """The mapping both ways, kept by the ARI side only (the core has its own view)."""

    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}
        self._legs: dict[str, Leg] = {}  # by channel id
        self._agents: dict[str, Leg] = {}  # by agent: an agent rings or talks for one call

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
                if self._agents.get(leg.agent) is leg:
                    del self._agents[leg.agent]
        return record

    def add_leg(self, leg: Leg) -> Leg:
        record = self.calls[leg.call]
        record.legs[leg.agent] = leg
        self._legs[leg.channel] = leg
        self._agents[leg.agent] = leg
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
            if self._agents.get(leg.agent) is leg:
                del self._agents[leg.agent]
        return leg

    def leg_of_agent(self, agent: str) -> Leg | None:
        """The agent's latest leg (ringing or talking), for call control by agent id."""
        return self._agents.get(agent)

    def call_of_channel(self, channel: str) -> Call | None:
        """The call whose caller is `channel` (the call id is the caller channel id)."""
        return self.calls.get(channel)
