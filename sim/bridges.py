"""REST operations on bridges: holding and mixing, add/remove, music on hold, destroy."""

from __future__ import annotations

import uuid
from typing import Any

from sim.asterisk import SimAsterisk
from sim.errors import AriError
from sim.model import Bridge, CallerId

TYPES = {"mixing", "holding"}


def create(ast: SimAsterisk, p: dict[str, Any], bridge_id: str | None = None) -> Bridge:
    wanted = bridge_id or p.get("bridgeId")
    if wanted and wanted in ast.bridges:
        raise AriError(409, f"Bridge with id '{wanted}' already exists")
    kinds = set(str(p.get("type") or "mixing").split(","))
    kind = "holding" if "holding" in kinds else "mixing"
    if not kinds & TYPES and not kinds <= {"dtmf_events", "proxy_media", "video_sfu"}:
        raise AriError(500, "Unable to create bridge. Possible duplicate bridge id '(null)'")
    bridge = Bridge(wanted or str(uuid.uuid4()), kind, p.get("name") or "", ast.now_text())
    # No event: the app is not subscribed to a bridge until a channel joins it.
    ast.bridges[bridge.id] = bridge
    return bridge


def add_channels(ast: SimAsterisk, bridge_id: str, p: dict[str, Any]) -> None:
    bridge = ast.bridge(bridge_id)
    if not p.get("channel"):
        raise AriError(400, "Missing parameter channel")
    ids = str(p["channel"]).split(",")
    for channel_id in ids:
        if channel_id not in ast.channels:
            raise AriError(400, "Channel not found")
        channel = ast.channels[channel_id]
        if not channel.in_stasis:
            raise AriError(422, "Channel not in Stasis application")
        if channel.recording:
            raise AriError(409, f"Channel {channel_id} currently recording")
    for channel_id in ids:
        channel = ast.channels[channel_id]
        # Already in a bridge (this one or another): LeftBridge then EnteredBridge (errors.md).
        ast.leave_bridge(channel)
        channel.bridge = bridge.id
        bridge.app = channel.app
        bridge.channels.append(channel.id)
        bridge.subscriptions += 1
        ast.bus.emit(
            channel.app, "ChannelEnteredBridge", bridge=bridge.json(), channel=channel.json()
        )
        bridge.technology = bridge.settled_technology()
    if bridge.bridge_type == "mixing" and len(bridge.channels) == 2:
        # Two parties see each other as connected line (snoop_whisper_barge GET).
        first, second = (ast.channels[c] for c in bridge.channels)
        for channel, other in ((first, second), (second, first)):
            channel.connected = CallerId(other.caller.name, other.caller.number)
            ast.emit(channel, "ChannelConnectedLine")


def remove_channel(ast: SimAsterisk, bridge_id: str, p: dict[str, Any]) -> None:
    bridge = ast.bridge(bridge_id)
    if not p.get("channel"):
        raise AriError(400, "Missing parameter channel")
    for channel_id in str(p["channel"]).split(","):
        channel = ast.channels.get(channel_id)
        if channel is None:
            raise AriError(400, "Channel not found")
        if channel.bridge != bridge.id:
            raise AriError(422, "Channel not in this bridge")
        ast.leave_bridge(channel)
        bridge.subscriptions = max(0, bridge.subscriptions - 1)


def destroy(ast: SimAsterisk, bridge_id: str) -> None:
    bridge = ast.bridge(bridge_id)
    for channel_id in list(bridge.channels):
        ast.leave_bridge(ast.channels[channel_id])
    ast.media.stop_all(f"bridge:{bridge.id}")
    del ast.bridges[bridge.id]
    if bridge.subscriptions > 0:
        ast.bus.emit(bridge.app, "BridgeDestroyed", bridge=bridge.json())


def moh(ast: SimAsterisk, bridge_id: str, start: bool) -> None:
    bridge = ast.bridge(bridge_id)
    # No event either way; the Announcer channel is invisible (queue_moh_ring_answer.md).
    if not start and not bridge.moh:
        raise AriError(409, "Bridge isn't playing music")
    bridge.moh = start
