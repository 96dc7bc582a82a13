"""Typed ARI events, and the parser that turns websocket messages into them.

Each event carries `server`, the name of the Asterisk it came from, so an engine
talking to several servers controls each call on the one it lives on. Unknown and
malformed messages are logged and dropped (`parse_event` returns None): one odd
message must never break the event stream.

Only the types somebody reads are typed (`EVENT_TYPES`): the engine's (a channel
entering or leaving the app, hanging up, a key, a failed dial, a finished prompt, an
endpoint's state, the app taken over) and the bridge, hold, playback and recording
events the tests on a real Asterisk wait for. A real call brings about as many again
that nobody reads: a `ChannelVarset` for every variable set (BRIDGEPEER, DIALSTATUS,
STASISSTATUS, ...), `ChannelDialplan`, `ChannelStateChange`, `ChannelConnectedLine`,
`ChannelCallerId`, `BridgeCreated`/`BridgeDestroyed` (45 events for one queued,
answered and recorded call in queue_moh_ring_answer.jsonl, 24 of them unread). Those
are dropped from their `type` alone, read off the raw text without decoding the JSON;
the others are decoded straight from the text into their model (pydantic's own JSON
parser: no intermediate dicts), which costs about what `json.loads` alone did.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from pydantic import ValidationError

from ari_app.client.models import (
    AriModel,
    Bridge,
    Channel,
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


class ChannelDestroyed(ChannelEvent):
    """Only for channels subscribed from creation (originated with app=); Q.850 `cause`."""

    cause: int = 0
    cause_txt: str = ""


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


class ChannelHold(ChannelEvent):
    """Only from a phone's re-INVITE; ARI's own hold emits none (sip_phone_hold.md)."""

    musicclass: str = ""


class ChannelUnhold(ChannelEvent):
    pass


class Dial(AriEvent):
    """Originate reports `dialstatus:""` first with only a `peer` (queue_moh_ring_answer.md);
    no-answer at the originate timeout gives no `Dial NOANSWER` (agent_no_answer.md)."""

    peer: Channel
    dialstatus: str = ""
    caller: Channel | None = None
    dialstring: str = ""
    forward: str = ""


class PlaybackEvent(AriEvent):
    playback: Playback


class PlaybackStarted(PlaybackEvent):
    """Usually arrives before the play request's response (ivr_playback_dtmf.md)."""


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


class ApplicationReplaced(AriEvent):
    """Another websocket took the app over; this one gets nothing more (reconnect.md)."""


EVENT_TYPES: Mapping[str, type[AriEvent]] = {
    cls.__name__: cls
    for cls in (
        StasisStart,
        StasisEnd,
        ChannelDestroyed,
        ChannelDtmfReceived,
        ChannelHangupRequest,
        ChannelEnteredBridge,
        ChannelLeftBridge,
        ChannelHold,
        ChannelUnhold,
        Dial,
        PlaybackStarted,
        PlaybackFinished,
        RecordingStarted,
        RecordingFinished,
        RecordingFailed,
        EndpointStateChange,
        ApplicationReplaced,
    )
}
"""Event classes by ARI `type`; other types (ChannelVarset, ChannelDialplan, ...) are dropped."""

ASTERISK_EVENT_TYPES = (
    "ApplicationMoveFailed", "ApplicationRegistered", "ApplicationReplaced",
    "ApplicationUnregistered", "BridgeAttendedTransfer", "BridgeBlindTransfer",
    "BridgeCreated", "BridgeDestroyed", "BridgeMerged", "BridgeVideoSourceChanged",
    "CallBroadcast", "CallClaimed", "ChannelCallerId", "ChannelConnectedLine",
    "ChannelCreated", "ChannelDestroyed", "ChannelDialplan", "ChannelDtmfReceived",
    "ChannelEnteredBridge", "ChannelHangupRequest", "ChannelHold", "ChannelLeftBridge",
    "ChannelStateChange", "ChannelTalkingFinished", "ChannelTalkingStarted",
    "ChannelToneDetected", "ChannelTransfer", "ChannelUnhold", "ChannelUserevent",
    "ChannelVarset", "ContactStatusChange", "DeviceStateChanged", "Dial",
    "EndpointStateChange", "PeerStatusChange", "PlaybackContinuing", "PlaybackFinished",
    "PlaybackStarted", "RESTResponse", "RecordingFailed", "RecordingFinished",
    "RecordingStarted", "StasisEnd", "StasisStart", "TextMessageReceived",
)  # fmt: skip
"""Every event type Asterisk 22's ARI describes (events.json, ``Event``'s subtypes;
tests/ari/test_events.py compares)."""


def unread_except(read: Collection[str]) -> tuple[str, ...]:
    """Asterisk's event types but ``read`` (and the answers to requests on the socket,
    which are not events to the client): what to ask Asterisk not to send at all
    (``eventFilter``, client.py)."""
    return tuple(sorted(set(ASTERISK_EVENT_TYPES) - set(read) - {"RESTResponse"}))


UNREAD_EVENT_TYPES = unread_except(EVENT_TYPES)
"""What no client reads: it would only be dropped here."""

_TYPE_KEY = '"type"'
_TYPE = re.compile(r'"type"\s*:\s*"([A-Za-z]+)"')
_unknown_seen: set[str] = set()


Sieve = Mapping[str, Callable[[str], bool]]
"""Per event type, a test on a message's raw text: a message of that type is decoded only
when it passes, the others are dropped unlogged. For a type Asterisk must send but most
of whose events nobody reads: ``Dial`` matters to the engine when a ring fails, not when
it starts or is answered (two of a call's eight events)."""


def parse_event(
    message: str | bytes | Mapping[str, Any], server: str, sieve: Sieve | None = None
) -> AriEvent | None:
    """The typed event for one websocket message, or None (logged) when it is unusable;
    None (not logged) when ``sieve`` has a test for its type that the text fails."""
    if isinstance(message, str) and message.count(_TYPE_KEY) == 1:
        # The type decided without decoding the JSON. A quote inside a JSON string is
        # escaped, so `"type"` is a whole key or a whole value, and only a key has a
        # colon after it: found once, followed by `:"Name"`, it is the event's own type
        # (or a nested key of an event without one, which is dropped either way). A
        # second `"type"` (a channel variable or a user event field so named, a caller
        # named so) or an escaped name takes the general way below.
        found = _TYPE.search(message)
        if found is not None:
            event_type = found.group(1)
            cls = EVENT_TYPES.get(event_type)
            if cls is None:
                _ignored(event_type, server)
                return None
            if sieve and (passes := sieve.get(event_type)) and not passes(message):
                return None
            return _from_text(cls, message, server)
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
        _ignored(event_type, server)
        return None
    try:
        return cls.model_validate({**data, "server": server})
    except ValidationError as exc:
        _malformed(event_type, server, exc)
        return None


def _from_text(cls: type[AriEvent], message: str, server: str) -> AriEvent | None:
    try:
        event = cls.model_validate_json(message)
    except ValidationError as exc:
        _malformed(cls.__name__, server, exc)
        return None
    # The server is ours, not Asterisk's: set once here, as the constructor would, on a
    # model frozen for everybody else (cheaper than a validated copy).
    event.__dict__["server"] = server
    return event


def _ignored(event_type: str, server: str) -> None:
    level = logging.DEBUG if event_type in _unknown_seen else logging.INFO
    _unknown_seen.add(event_type)
    log.log(level, "ari event ignored server=%s type=%s", server, event_type)


def _malformed(event_type: str, server: str, exc: ValidationError) -> None:
    errors = exc.errors(include_url=False, include_input=False)
    if any(error["type"] == "json_invalid" for error in errors):
        log.warning("ari event dropped server=%s reason=not-json", server)
    else:
        log.warning("ari event dropped server=%s type=%s reason=malformed errors=%s",
                    server, event_type, errors)  # fmt: skip
