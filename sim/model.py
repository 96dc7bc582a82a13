"""The objects Asterisk keeps (channels, bridges, playbacks, recordings) and their JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sim.clock import Timer

Json = dict[str, Any]


def ari_time(when: datetime) -> str:
    """`2026-11-27T04:09:15.394+0000`, as every trace stamps times."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


@dataclass
class CallerId:
    name: str = ""
    number: str = ""

    def json(self) -> Json:
        return {"name": self.name, "number": self.number}

    @classmethod
    def parse(cls, text: str | None) -> CallerId:
        """`Support Queue <100>` -> name and number, as originate's callerId."""
        if not text:
            return cls()
        if "<" in text and text.rstrip().endswith(">"):
            name, _, number = text.rpartition("<")
            return cls(name.strip().strip('"'), number.rstrip().rstrip(">"))
        return cls("", text.strip())


@dataclass
class Dialplan:
    context: str
    exten: str
    priority: int = 1
    app_name: str = ""
    app_data: str = ""

    def json(self) -> Json:
        return {
            "context": self.context,
            "exten": self.exten,
            "priority": self.priority,
            "app_name": self.app_name,
            "app_data": self.app_data,
        }


@dataclass
class Channel:
    id: str
    name: str
    state: str
    creationtime: str
    dialplan: Dialplan
    caller: CallerId = field(default_factory=CallerId)
    connected: CallerId = field(default_factory=CallerId)
    app: str = ""
    """The Stasis app this channel belongs to (events go to its websocket)."""
    in_stasis: bool = False
    subscribed: bool = False
    """Events reach the app: while in Stasis for a dialplan or snoop channel, from
    creation to ChannelDestroyed for a channel originated with `app=` (README)."""
    originated: bool = False
    peer: Channel | None = None
    """The other half of a Local channel pair."""
    bridge: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    recording: str | None = None
    snoops: list[str] = field(default_factory=list)
    muted: set[str] = field(default_factory=set)
    """Directions muted by ARI (`in`: what the phone sends, `out`: what it hears)."""
    dtmf_sent: list[str] = field(default_factory=list)
    snooping: tuple[str, str, str] | None = None
    """A snoop channel's spied channel id, `spy` and `whisper` directions."""
    """Digits ARI sent toward the far end, one string per request (tests read it)."""
    timer: Timer | None = None
    """A pending ring outcome (answer or timeout) for an originated channel."""

    @property
    def tech(self) -> str:
        return self.name.split("/", 1)[0]

    def json(self) -> Json:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": self.caller.json(),
            "connected": self.connected.json(),
            "accountcode": "",
            "dialplan": self.dialplan.json(),
            "creationtime": self.creationtime,
            "language": "en",
        }


@dataclass
class Bridge:
    id: str
    bridge_type: str
    name: str
    creationtime: str
    channels: list[str] = field(default_factory=list)
    technology: str = ""
    moh: bool = False
    app: str = "callcenter"
    subscriptions: int = 0
    """The app is subscribed while > 0: each addChannel of a Stasis channel subscribes
    and each removeChannel unsubscribes; hang-ups do not (queue_moh_ring_answer.md: the
    holding bridge gave no BridgeDestroyed, the mixing bridge did)."""

    def __post_init__(self) -> None:
        self.technology = self.technology or self.settled_technology()

    def settled_technology(self) -> str:
        if self.bridge_type == "holding":
            return "holding_bridge"
        # Two parties share simple_bridge; a third turns it into softmix (snoop_whisper_barge).
        return "softmix" if len(self.channels) > 2 else "simple_bridge"

    def json(self) -> Json:
        return {
            "id": self.id,
            "technology": self.technology,
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "creationtime": self.creationtime,
            "video_mode": "talker",
        }


@dataclass
class Playback:
    id: str
    media_uri: str
    target_uri: str
    language: str = "en"
    state: str = "queued"
    timer: Timer | None = None
    after: list[str] = field(default_factory=list)
    """Media still to play after `media_uri` (a request with several media)."""

    def json(self) -> Json:
        data: Json = {
            "id": self.id,
            "media_uri": self.media_uri,
            "target_uri": self.target_uri,
            "language": self.language,
            "state": self.state,
        }
        if self.after:  # stasis_app_playback_to_json: only while another medium follows
            data["next_media_uri"] = self.after[0]
        return data


@dataclass
class Recording:
    name: str
    format: str
    target_uri: str
    started: float
    state: str = "queued"
    duration: int | None = None
    timer: Timer | None = None

    def json(self) -> Json:
        data: Json = {
            "name": self.name,
            "format": self.format,
            "state": self.state,
            "target_uri": self.target_uri,
        }
        if self.duration is not None:
            data["duration"] = self.duration
        return data
