"""Typed snapshots of ARI resources (channels, bridges, playbacks, ...), as Asterisk sends them.

Fields the engine does not read are ignored; fields Asterisk may leave out have defaults,
so a model built from a trace or a REST response never fails on a missing optional key.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class AriModel(BaseModel):
    """Frozen, and tolerant of fields a newer Asterisk adds."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class CallerId(AriModel):
    name: str = ""
    number: str = ""


class DialplanLocation(AriModel):
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""


class Channel(AriModel):
    """A channel snapshot. Snoop channels have an empty caller (snoop_whisper_barge.md)."""

    id: str
    name: str
    state: str
    protocol_id: str = ""
    caller: CallerId = CallerId()
    connected: CallerId = CallerId()
    accountcode: str = ""
    dialplan: DialplanLocation | None = None
    creationtime: str = ""
    language: str = ""
    channelvars: dict[str, str] | None = None


class Bridge(AriModel):
    """A bridge snapshot. `technology` changes (e.g. to softmix) as channels join."""

    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    creator: str = ""
    name: str = ""
    channels: tuple[str, ...] = ()
    creationtime: str = ""


class Playback(AriModel):
    id: str
    media_uri: str = ""
    target_uri: str = ""
    state: str = ""
    language: str = ""
    next_media_uri: str | None = None


class LiveRecording(AriModel):
    name: str
    format: str = ""
    target_uri: str = ""
    state: str = ""
    duration: int | None = None
    talking_duration: int | None = None
    silence_duration: int | None = None
    cause: str | None = None


class StoredRecording(AriModel):
    name: str
    format: str = ""


class Endpoint(AriModel):
    """An endpoint; `state` is `online`/`offline` (offline: not registered)."""

    technology: str
    resource: str
    state: str = ""
    channel_ids: tuple[str, ...] = ()


class DeviceState(AriModel):
    name: str
    state: str


class Application(AriModel):
    """A Stasis application and what it is subscribed to.

    While no websocket is connected the app stays registered and still lists its parked
    channels and bridges (reconnect.md).
    """

    name: str
    channel_ids: tuple[str, ...] = ()
    bridge_ids: tuple[str, ...] = ()
    endpoint_ids: tuple[str, ...] = ()
    device_names: tuple[str, ...] = ()
    events_allowed: tuple[dict[str, Any], ...] = ()
    """The app's event filter (``eventFilter``): ``{"type": ...}`` entries."""
    events_disallowed: tuple[dict[str, Any], ...] = ()


class Variable(AriModel):
    value: str
