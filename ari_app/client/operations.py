"""Every REST request the client can make, as data.

The resource classes (channels.py, bridges.py, ...) build their requests only from
these descriptors, and `AriRest.call` refuses a parameter an operation does not
declare; tests/ari/test_conformance.py checks each descriptor against Asterisk 22's
API description (path template, method, query vs body parameters).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class Operation:
    """One ARI REST operation: `path` is relative to `/ari`, with `{name}` placeholders."""

    name: str
    method: str
    path: str
    query: frozenset[str] = frozenset()
    body: frozenset[str] = frozenset()
    whole_body: str = ""
    """A body parameter that *is* the body (``eventFilter``'s ``filter``), not a key of it."""

    def url_path(self, params: dict[str, str]) -> str:
        # Ids are quoted whole: a device name such as `Custom:agent/1001` is one segment.
        return self.path.format(**{k: quote(v, safe="") for k, v in params.items()})


OPERATIONS: dict[str, Operation] = {}


def _op(name: str, method: str, path: str, query: str = "", body: str = "") -> Operation:
    op = Operation(name, method, path, frozenset(query.split()), frozenset(body.split()))
    OPERATIONS[name] = op
    return op


_ORIGINATE = "endpoint extension context priority label app appArgs callerId timeout"
_PLAY = "media lang offsetms skipms"
_RECORD = "name format maxDurationSeconds maxSilenceSeconds ifExists beep terminateOn"

CHANNELS_LIST = _op("channels.list", "GET", "/channels")
CHANNELS_GET = _op("channels.get", "GET", "/channels/{channelId}")
CHANNELS_ORIGINATE = _op(
    "channels.originate",
    "POST",
    "/channels",
    f"{_ORIGINATE} channelId otherChannelId originator formats",
    "variables",
)
CHANNELS_CREATE = _op(
    "channels.create",
    "POST",
    "/channels/create",
    "endpoint app appArgs channelId otherChannelId originator formats",
    "variables",
)
CHANNELS_HANGUP = _op("channels.hangup", "DELETE", "/channels/{channelId}", "reason reason_code")
CHANNELS_ANSWER = _op("channels.answer", "POST", "/channels/{channelId}/answer")
CHANNELS_RING = _op("channels.ring", "POST", "/channels/{channelId}/ring")
CHANNELS_RING_STOP = _op("channels.ring_stop", "DELETE", "/channels/{channelId}/ring")
CHANNELS_CONTINUE = _op(
    "channels.continue",
    "POST",
    "/channels/{channelId}/continue",
    "context extension priority label",
)
CHANNELS_MOVE = _op("channels.move", "POST", "/channels/{channelId}/move", "app appArgs")
CHANNELS_REDIRECT = _op("channels.redirect", "POST", "/channels/{channelId}/redirect", "endpoint")
CHANNELS_DIAL = _op("channels.dial", "POST", "/channels/{channelId}/dial", "caller timeout")
CHANNELS_DTMF = _op(
    "channels.dtmf", "POST", "/channels/{channelId}/dtmf", "dtmf before between duration after"
)
CHANNELS_MUTE = _op("channels.mute", "POST", "/channels/{channelId}/mute", "direction")
CHANNELS_UNMUTE = _op("channels.unmute", "DELETE", "/channels/{channelId}/mute", "direction")
CHANNELS_HOLD = _op("channels.hold", "POST", "/channels/{channelId}/hold")
CHANNELS_UNHOLD = _op("channels.unhold", "DELETE", "/channels/{channelId}/hold")
CHANNELS_MOH_START = _op("channels.moh_start", "POST", "/channels/{channelId}/moh", "mohClass")
CHANNELS_MOH_STOP = _op("channels.moh_stop", "DELETE", "/channels/{channelId}/moh")
CHANNELS_SILENCE_START = _op("channels.silence_start", "POST", "/channels/{channelId}/silence")
CHANNELS_SILENCE_STOP = _op("channels.silence_stop", "DELETE", "/channels/{channelId}/silence")
CHANNELS_PLAY = _op("channels.play", "POST", "/channels/{channelId}/play", f"{_PLAY} playbackId")
CHANNELS_PLAY_WITH_ID = _op(
    "channels.play_with_id", "POST", "/channels/{channelId}/play/{playbackId}", _PLAY
)
CHANNELS_RECORD = _op("channels.record", "POST", "/channels/{channelId}/record", _RECORD)
CHANNELS_SNOOP = _op(
    "channels.snoop", "POST", "/channels/{channelId}/snoop", "spy whisper app appArgs snoopId"
)
CHANNELS_SNOOP_WITH_ID = _op(
    "channels.snoop_with_id",
    "POST",
    "/channels/{channelId}/snoop/{snoopId}",
    "spy whisper app appArgs",
)
CHANNELS_VAR_GET = _op("channels.var_get", "GET", "/channels/{channelId}/variable", "variable")
CHANNELS_VAR_SET = _op(
    "channels.var_set", "POST", "/channels/{channelId}/variable", "variable value"
)

BRIDGES_LIST = _op("bridges.list", "GET", "/bridges")
BRIDGES_GET = _op("bridges.get", "GET", "/bridges/{bridgeId}")
BRIDGES_CREATE = _op("bridges.create", "POST", "/bridges", "type bridgeId name")
BRIDGES_CREATE_WITH_ID = _op("bridges.create_with_id", "POST", "/bridges/{bridgeId}", "type name")
BRIDGES_DESTROY = _op("bridges.destroy", "DELETE", "/bridges/{bridgeId}")
BRIDGES_ADD_CHANNEL = _op(
    "bridges.add_channel",
    "POST",
    "/bridges/{bridgeId}/addChannel",
    "channel role absorbDTMF mute inhibitConnectedLineUpdates",
)
BRIDGES_REMOVE_CHANNEL = _op(
    "bridges.remove_channel", "POST", "/bridges/{bridgeId}/removeChannel", "channel"
)
BRIDGES_MOH_START = _op("bridges.moh_start", "POST", "/bridges/{bridgeId}/moh", "mohClass")
BRIDGES_MOH_STOP = _op("bridges.moh_stop", "DELETE", "/bridges/{bridgeId}/moh")
BRIDGES_PLAY = _op("bridges.play", "POST", "/bridges/{bridgeId}/play", f"{_PLAY} playbackId")
BRIDGES_PLAY_WITH_ID = _op(
    "bridges.play_with_id", "POST", "/bridges/{bridgeId}/play/{playbackId}", _PLAY
)
BRIDGES_RECORD = _op("bridges.record", "POST", "/bridges/{bridgeId}/record", _RECORD)

PLAYBACKS_GET = _op("playbacks.get", "GET", "/playbacks/{playbackId}")
PLAYBACKS_STOP = _op("playbacks.stop", "DELETE", "/playbacks/{playbackId}")
PLAYBACKS_CONTROL = _op("playbacks.control", "POST", "/playbacks/{playbackId}/control", "operation")

RECORDINGS_LIVE_GET = _op("recordings.live_get", "GET", "/recordings/live/{recordingName}")
RECORDINGS_STOP = _op("recordings.stop", "POST", "/recordings/live/{recordingName}/stop")
RECORDINGS_CANCEL = _op("recordings.cancel", "DELETE", "/recordings/live/{recordingName}")
RECORDINGS_PAUSE = _op("recordings.pause", "POST", "/recordings/live/{recordingName}/pause")
RECORDINGS_UNPAUSE = _op("recordings.unpause", "DELETE", "/recordings/live/{recordingName}/pause")
RECORDINGS_MUTE = _op("recordings.mute", "POST", "/recordings/live/{recordingName}/mute")
RECORDINGS_UNMUTE = _op("recordings.unmute", "DELETE", "/recordings/live/{recordingName}/mute")
RECORDINGS_STORED_LIST = _op("recordings.stored_list", "GET", "/recordings/stored")
RECORDINGS_STORED_GET = _op("recordings.stored_get", "GET", "/recordings/stored/{recordingName}")
RECORDINGS_STORED_DELETE = _op(
    "recordings.stored_delete", "DELETE", "/recordings/stored/{recordingName}"
)
RECORDINGS_STORED_COPY = _op(
    "recordings.stored_copy",
    "POST",
    "/recordings/stored/{recordingName}/copy",
    "destinationRecordingName",
)

ENDPOINTS_LIST = _op("endpoints.list", "GET", "/endpoints")
ENDPOINTS_LIST_BY_TECH = _op("endpoints.list_by_tech", "GET", "/endpoints/{tech}")
ENDPOINTS_GET = _op("endpoints.get", "GET", "/endpoints/{tech}/{resource}")

DEVICE_STATES_LIST = _op("device_states.list", "GET", "/deviceStates")
DEVICE_STATES_GET = _op("device_states.get", "GET", "/deviceStates/{deviceName}")
DEVICE_STATES_UPDATE = _op(
    "device_states.update", "PUT", "/deviceStates/{deviceName}", "deviceState"
)
DEVICE_STATES_DELETE = _op("device_states.delete", "DELETE", "/deviceStates/{deviceName}")

APPLICATIONS_LIST = _op("applications.list", "GET", "/applications")
APPLICATIONS_GET = _op("applications.get", "GET", "/applications/{applicationName}")
APPLICATIONS_SUBSCRIBE = _op(
    "applications.subscribe", "POST", "/applications/{applicationName}/subscription", "eventSource"
)
APPLICATIONS_FILTER = Operation(
    "applications.filter", "PUT", "/applications/{applicationName}/eventFilter",
    body=frozenset({"filter"}), whole_body="filter",
)  # fmt: skip
OPERATIONS[APPLICATIONS_FILTER.name] = APPLICATIONS_FILTER
APPLICATIONS_UNSUBSCRIBE = _op(
    "applications.unsubscribe",
    "DELETE",
    "/applications/{applicationName}/subscription",
    "eventSource",
)

ASTERISK_PING = _op("asterisk.ping", "GET", "/asterisk/ping")
ASTERISK_INFO = _op("asterisk.info", "GET", "/asterisk/info", "only")
ASTERISK_VAR_GET = _op("asterisk.var_get", "GET", "/asterisk/variable", "variable")
ASTERISK_VAR_SET = _op("asterisk.var_set", "POST", "/asterisk/variable", "variable value")
