"""Typed ARI events, and the parser that turns websocket messages into them.

Each event carries `server`, the name of the Asterisk it came from, so an engine
talking to several servers controls each call on the one it lives on. Unknown and
malformed messages are logged and dropped (`parse_event` returns None): one odd
message must never break the event stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError

from ari_app.client.models import (
    AriModel,
    Bridge,
    Channel,
    DeviceState,
    Endpoint,
    LiveRecording,
    Playback,
)

log = logging.getLogger(__name__)


class AriEvent(AriModel):
    type: str
    server: str = ""
    application: str = ""
    timestamp: str = ""
    asterisk_id: str = ""


class ChannelEvent(AriEvent):
    channel: Channel


class StasisStart(ChannelEvent):
    """A channel entered the app; `args` are Stasis() arguments or originate's appArgs."""

    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None


class StasisEnd(ChannelEvent):
    """A channel left the app.

    For a channel that entered from the dialplan nothing follows, not even
    ChannelDestroyed (queue_moh_ring_answer.md, hold_mute_variables_continue.md).
    """


class ChannelCreated(ChannelEvent):
    pass


class ChannelDestroyed(ChannelEvent):
    """Only for channels subscribed from creation (originated with app=); Q.850 `cause`."""

    cause: int = 0
    cause_txt: str = ""


class ChannelStateChange(ChannelEvent):
    pass


class ChannelDtmfReceived(ChannelEvent):
    digit: str
    duration_ms: int = 0


class ChannelHangupRequest(ChannelEvent):
    """With `soft`, `cause` is a soft-hangup flag (32 ARI DELETE, 16 dialplan ended), not
    Q.850; a SIP BYE gives no cause at all (README "Behaviour worth knowing")."""

    cause: int | None = None
    soft: bool = False


class ChannelEnteredBridge(AriEvent):
    bridge: Bridge
    channel: Channel | None = None


class ChannelLeftBridge(ChannelEvent):
    bridge: Bridge


class ChannelVarset(AriEvent):
    """`channel` is absent for a global variable."""

    variable: str
    value: str = ""
    channel: Channel | None = None


class ChannelCallerId(ChannelEvent):
    caller_presentation: int = 0
    caller_presentation_txt: str = ""


class ChannelConnectedLine(ChannelEvent):
    pass


class ChannelHold(ChannelEvent):
    """Only from a phone's re-INVITE; ARI's own hold emits none (sip_phone_hold.md)."""

    musicclass: str = ""


class ChannelUnhold(ChannelEvent):
    pass


class ChannelTalkingStarted(ChannelEvent):
    pass


class ChannelTalkingFinished(ChannelEvent):
    duration: int = 0


class ChannelUserevent(AriEvent):
    eventname: str
    userevent: dict[str, Any] = Field(default_factory=dict)
    channel: Channel | None = None


class Dial(AriEvent):
    """Originate reports `dialstatus:""` first with only a `peer` (queue_moh_ring_answer.md);
    no-answer at the originate timeout gives no `Dial NOANSWER` (agent_no_answer.md)."""

    peer: Channel
    dialstatus: str = ""
    caller: Channel | None = None
    dialstring: str = ""
    forward: str = ""


class BridgeEvent(AriEvent):
    bridge: Bridge


class BridgeCreated(BridgeEvent):
    pass


class BridgeDestroyed(BridgeEvent):
    pass


class BridgeMerged(BridgeEvent):
    bridge_from: Bridge


class PlaybackEvent(AriEvent):
    playback: Playback


class PlaybackStarted(PlaybackEvent):
    """Usually arrives before the play request's response (ivr_playback_dtmf.md)."""


class PlaybackContinuing(PlaybackEvent):
    pass


class PlaybackFinished(PlaybackEvent):
    """`state` is `done` (also when stopped) or `failed` (missing sound file, errors.md)."""


class RecordingEvent(AriEvent):
    recording: LiveRecording


class RecordingStarted(RecordingEvent):
    pass


class RecordingFinished(RecordingEvent):
    pass


class RecordingFailed(RecordingEvent):
    pass


class EndpointStateChange(AriEvent):
    endpoint: Endpoint


class DeviceStateChanged(AriEvent):
    device_state: DeviceState


class ApplicationReplaced(AriEvent):
    """Another websocket took the app over; this one gets nothing more (reconnect.md)."""


class ApplicationMoveFailed(ChannelEvent):
    destination: str = ""
    args: tuple[str, ...] = ()


EVENT_TYPES: Mapping[str, type[AriEvent]] = {
    cls.__name__: cls
    for cls in (
        StasisStart,
        StasisEnd,
        ChannelCreated,
        ChannelDestroyed,
        ChannelStateChange,
        ChannelDtmfReceived,
        ChannelHangupRequest,
        ChannelEnteredBridge,
        ChannelLeftBridge,
        ChannelVarset,
        ChannelCallerId,
        ChannelConnectedLine,
        ChannelHold,
        ChannelUnhold,
        ChannelTalkingStarted,
        ChannelTalkingFinished,
        ChannelUserevent,
        Dial,
        BridgeCreated,
        BridgeDestroyed,
        BridgeMerged,
        PlaybackStarted,
        PlaybackContinuing,
        PlaybackFinished,
        RecordingStarted,
        RecordingFinished,
        RecordingFailed,
        EndpointStateChange,
        DeviceStateChanged,
        ApplicationReplaced,
        ApplicationMoveFailed,
    )
}
"""Event classes by ARI `type`; other types (ChannelDialplan, ...) are dropped."""

_unknown_seen: set[str] = set()


def parse_event(message: str | bytes | Mapping[str, Any], server: str) -> AriEvent | None:
    """The typed event for one websocket message, or None (logged) when it is unusable."""
    data: Any = message
    if isinstance(message, str | bytes):
        try:
            data = json.loads(message)
        except ValueError:
            log.warning("ari event dropped server=%s reason=not-json", server)
            return None
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        log.warning("ari event dropped server=%s reason=no-type", server)
        return None
    event_type = data["type"]
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        level = logging.DEBUG if event_type in _unknown_seen else logging.INFO
        _unknown_seen.add(event_type)
        log.log(level, "ari event ignored server=%s type=%s", server, event_type)
        return None
    try:
        return cls.model_validate({**data, "server": server})
    except ValidationError as exc:
        log.warning(
            "ari event dropped server=%s type=%s reason=malformed errors=%s",
            server,
            event_type,
            exc.errors(include_url=False, include_input=False),
        )
        return None
