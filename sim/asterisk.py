"""The simulated Asterisk: its channels and bridges, and how a channel lives and dies.

Theory of operation: REST handlers (channels.py, originate.py, bridges.py, media.py)
and test/load-generator hooks (`inject_caller`, `remote_hangup`, `press`) change this
state and emit events synchronously, so an event caused by a request is written to
the websocket before the REST response, as Asterisk mostly does (PlaybackStarted,
ChannelStateChange on answer). Anything that takes time is a callback on `clock`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from sim import endpoints as endpoint_state
from sim.agents import Answer, Endpoints, Policy, Unregistered
from sim.clock import Clock, RealClock
from sim.errors import AriError
from sim.events import EventBus
from sim.media import Media, Sounds
from sim.model import Bridge, CallerId, Channel, Dialplan, ari_time

CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}
# `soft: true` hang-up requests carry a soft-hangup flag in `cause`, not a Q.850 code
# (ivr_playback_dtmf.md): 32 = ARI DELETE, 16 = the dialplan of a Local half ended.
SOFT_EXPLICIT = 32
SOFT_APPUNLOAD = 16


class StasisUnavailableError(Exception):
    """No websocket holds the app: `Stasis()` fails and the call stays in the dialplan."""


class SimAsterisk:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        endpoints: Endpoints | None = None,
        sounds: Sounds | None = None,
        epoch: int = 1795753000,
        system_name: str = "",
    ) -> None:
        self.clock: Clock = clock or RealClock()
        self.endpoints = endpoints or Endpoints()
        self.bus = EventBus(self.clock)
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.globals: dict[str, str] = {}
        self.media = Media(self, sounds or Sounds())
        self.subscriptions: dict[str, set[str]] = {}
        """Event sources each app subscribed to (`endpoint:PJSIP/1001`, ...)."""
        self._registered: dict[str, Policy] = {}  # how an unregistered phone answered
        self.endpoints.on_change = lambda e, state: endpoint_state.state_changed(self, e, state)
        self._epoch = epoch
        self._prefix = f"{system_name}-" if system_name else ""
        self._unique = itertools.count(1)
        self._names: dict[str, itertools.count[int]] = {}

    # ids and names ----------------------------------------------------------------

    def new_id(self) -> str:
        """Asterisk's uniqueid: `<start epoch>.<counter>`, e.g. `1795753104.143`, prefixed
        `<systemname>-` when asterisk.conf sets one (`__ast_channel_alloc_ap`, main/channel.c)."""
        return f"{self._prefix}{self._epoch}.{next(self._unique)}"

    def name_suffix(self, tech: str) -> str:
        """The 8-hex-digit sequence in `PJSIP/1001-00000001` (one counter per tech)."""
        return f"{next(self._names.setdefault(tech, itertools.count(1))):08x}"

    def check_new_id(self, channel_id: str) -> None:
        # Asterisk compares a requested id with a prefix match, so `prefix-test-1` is
        # taken while `prefix-test-10` lives; GET/DELETE stay exact (errors.md).
        if any(existing.startswith(channel_id) for existing in self.channels):
            raise AriError(409, "Channel with given unique ID already exists")

    def now_text(self) -> str:
        return ari_time(self.clock.wall())

    # lookups ------------------------------------------------------------------------

    def channel(self, channel_id: str, message: str = "Channel not found") -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise AriError(404, message) from None

    def stasis_channel(self, channel_id: str) -> Channel:
        channel = self.channel(channel_id)
        if not channel.in_stasis:
            raise AriError(409, "Channel not in Stasis application")
        return channel

    def bridge(self, bridge_id: str) -> Bridge:
        try:
            return self.bridges[bridge_id]
        except KeyError:
            raise AriError(404, "Bridge not found") from None

    # events ---------------------------------------------------------------------------

    def emit(self, channel: Channel, type_: str, **fields: Any) -> None:
        if channel.subscribed:
            self.bus.emit(channel.app, type_, **fields, channel=channel.json())

    def set_state(self, channel: Channel, state: str) -> None:
        channel.state = state
        self.emit(channel, "ChannelStateChange")

    # lifecycle ------------------------------------------------------------------------

    def add(self, channel: Channel) -> Channel:
        self.channels[channel.id] = channel
        return channel

    def start_stasis(self, channel: Channel, app: str, args: Iterable[str]) -> None:
        channel.app = app
        channel.in_stasis = channel.subscribed = True
        data = ",".join([app, *args])
        channel.dialplan = Dialplan(
            channel.dialplan.context, channel.dialplan.exten, channel.dialplan.priority,
            "Stasis", data,
        )  # fmt: skip
        self.emit(channel, "StasisStart", args=list(args))

    def end_stasis(self, channel: Channel) -> None:
        if not channel.in_stasis:
            return
        self.leave_bridge(channel)
        self.media.stop_all(f"channel:{channel.id}")
        self.emit(channel, "StasisEnd")
        channel.in_stasis = False
        if channel.originated:
            # queue_moh_ring_answer: STASISSTATUS=SUCCESS right after StasisEnd.
            self.set_variable(channel, "STASISSTATUS", "SUCCESS")
        else:
            # A dialplan or snoop channel gets nothing after StasisEnd (README).
            channel.subscribed = False

    def set_variable(self, channel: Channel, name: str, value: str) -> None:
        channel.variables[name.lstrip("_")] = value
        self.emit(channel, "ChannelVarset", variable=name, value=value)

    def leave_bridge(self, channel: Channel) -> None:
        if channel.bridge is None:
            return
        bridge = self.bridges[channel.bridge]
        channel.bridge = None
        bridge.channels.remove(channel.id)
        if channel.subscribed or bridge.subscriptions > 0:
            self.bus.emit(
                channel.app, "ChannelLeftBridge", bridge=bridge.json(), channel=channel.json()
            )
        # The event still shows the old technology; it settles afterwards
        # (snoop_whisper_barge: softmix with 2 left, simple_bridge with 1).
        bridge.technology = bridge.settled_technology()

    def destroy(self, channel: Channel, cause: int) -> None:
        if self.channels.pop(channel.id, None) is None:
            return
        if channel.timer is not None:
            channel.timer.cancel()
        self.emit(channel, "ChannelDestroyed", cause=cause, cause_txt=CAUSE_TEXT.get(cause, ""))
        for snoop_id in channel.snoops:
            if snoop_id in self.channels:
                self.hangup(self.channels[snoop_id], {"cause": 16}, cause=16)

    def hangup(self, channel: Channel, request: Mapping[str, Any], *, cause: int) -> None:
        """Hang `channel` up: ChannelHangupRequest with `request`'s fields, leave Stasis,
        then destroy it (and the other Local half) with Q.850 `cause`."""
        if channel.id not in self.channels:
            return
        self.emit(channel, "ChannelHangupRequest", **request)
        self.end_stasis(channel)
        peer = channel.peer
        if peer is None or peer.id not in self.channels:
            self.destroy(channel, cause)
            return
        # queue_moh_ring_answer: after DELETE of `;1`, the `;2` half gets a hard request,
        # `;1` is destroyed, then `;2` gets the soft APPUNLOAD request and is destroyed.
        self.emit(peer, "ChannelHangupRequest", cause=cause)
        self.destroy(channel, cause)
        self.emit(peer, "ChannelHangupRequest", cause=SOFT_APPUNLOAD, soft=True)
        self.end_stasis(peer)
        self.destroy(peer, cause)

    # the outside world: callers and phones ------------------------------------------------

    def inject_caller(
        self,
        exten: str,
        *,
        caller: CallerId | None = None,
        variables: Mapping[str, str] | None = None,
        app: str = "callcenter",
        args: Iterable[str] = (),
        answered: bool = True,
        trunk: str | None = None,
        context: str = "from-test",
    ) -> Channel:
        """A call that reaches `Stasis(app)` from the dialplan after dialing `exten`.

        With `trunk`, the channel is `PJSIP/<trunk>-0000000N`; otherwise it is the `;2`
        half of `Local/<exten>@<context>`, as the traces' callers were (README), and the
        `;1` half exists outside the app (play/answer on it give 409, errors.md).
        `answered=False` enters Stasis in state Ring (hold_mute_variables_continue.md).
        """
        if not self.bus.connected(app):
            raise StasisUnavailableError(app)
        caller = caller or CallerId()
        now = self.now_text()
        if trunk is not None:
            name = f"PJSIP/{trunk}-{self.name_suffix('PJSIP')}"
            far: Channel | None = None
        else:
            base = f"Local/{exten}@{context}-{self.name_suffix('Local')}"
            far = Channel(
                self.new_id(), base + ";1", "Up" if answered else "Ringing", now,
                Dialplan(context, exten, 1, "AppDial2", "(Outgoing Line)"),
                CallerId(caller.name, caller.number), CallerId(caller.name, caller.number),
            )  # fmt: skip
            name = base + ";2"
        channel = Channel(
            self.new_id(), name, "Up" if answered else "Ring", now,
            Dialplan(context, exten, 3 if answered else 2),
            CallerId(caller.name, caller.number), CallerId(caller.name, caller.number),
        )  # fmt: skip
        if far is not None:
            far.peer, channel.peer = channel, far
            self.add(far)
        channel.variables.update(variables or {})
        self.add(channel)
        self.start_stasis(channel, app, args)
        return channel

    def press(self, channel_id: str, digits: str, duration_ms: int = 100) -> None:
        """The far end of `channel_id` sends DTMF: ChannelDtmfReceived per digit."""
        channel = self.channel(channel_id)
        for digit in digits:
            self.emit(channel, "ChannelDtmfReceived", digit=digit, duration_ms=duration_ms)

    def remote_hangup(self, channel_id: str) -> None:
        """The phone or the caller's side hangs up. A SIP BYE gives a ChannelHangupRequest
        without `cause` (README); a Local half torn down from the other side gets cause 16
        (queue_moh_ring_answer: the caller's AMI Hangup on `;1`)."""
        channel = self.channel(channel_id)
        request: dict[str, Any] = {} if channel.tech == "PJSIP" else {"cause": 16}
        self.hangup(channel, request, cause=16)

    def unregister(self, endpoint: str) -> None:
        """The phone goes away: `offline`, originate fails with 500 (agent_unreachable.md)."""
        policy = self.endpoints.policies.get(endpoint)
        if policy is not None and not isinstance(policy, Unregistered):
            self._registered[endpoint] = policy
        self.endpoints.set(endpoint, Unregistered())

    def register(self, endpoint: str, policy: Policy | None = None) -> None:
        """The phone registers (again): `online`, answering as `policy` or as before."""
        self.endpoints.set(endpoint, policy or self._registered.pop(endpoint, None) or Answer())

    def subscribed_ids(self, app: str) -> tuple[list[str], list[str]]:
        """Channel and bridge ids the app is subscribed to (GET /applications/{app})."""
        channels = [c.id for c in self.channels.values() if c.subscribed and c.app == app]
        bridges = [b.id for b in self.bridges.values() if b.subscriptions > 0]
        return channels, bridges
