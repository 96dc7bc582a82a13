"""REST operations on bridges."""

from __future__ import annotations

from collections.abc import Sequence

from ari_app.client import operations as ops
from ari_app.client.media import play_on, record_on
from ari_app.client.models import Bridge, LiveRecording, Playback
from ari_app.client.rest import RestApi


class Bridges:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def list(self) -> list[Bridge]:
        return [Bridge.model_validate(b) for b in await self._rest.call(ops.BRIDGES_LIST)]

    async def get(self, bridge_id: str) -> Bridge:
        return Bridge.model_validate(
            await self._rest.call(ops.BRIDGES_GET, {"bridgeId": bridge_id})
        )

    async def create(
        self,
        type: str | Sequence[str] | None = None,
        *,
        name: str | None = None,
        bridge_id: str | None = None,
    ) -> Bridge:
        """`type`: mixing, holding, dtmf_events, proxy_media, ... (comma-joined if several).
        A duplicate id is a 409, an unknown type a 500 (errors.md)."""
        query = {"type": type, "name": name, "bridgeId": bridge_id}
        return Bridge.model_validate(await self._rest.call(ops.BRIDGES_CREATE, query=query))

    async def destroy(self, bridge_id: str) -> None:
        """A holding bridge whose last channel was removed has already lost its app
        subscription: 204 but no BridgeDestroyed (queue_moh_ring_answer.md)."""
        await self._rest.call(ops.BRIDGES_DESTROY, {"bridgeId": bridge_id})

    async def add_channel(
        self,
        bridge_id: str,
        channel: str | Sequence[str],
        *,
        role: str | None = None,
        absorb_dtmf: bool | None = None,
        mute: bool | None = None,
        inhibit_connected_line_updates: bool | None = None,
    ) -> None:
        """Adding a channel that is in another bridge moves it (LeftBridge + EnteredBridge,
        errors.md); a channel not in Stasis is a 422."""
        query = {
            "channel": channel,
            "role": role,
            "absorbDTMF": absorb_dtmf,
            "mute": mute,
            "inhibitConnectedLineUpdates": inhibit_connected_line_updates,
        }
        await self._rest.call(ops.BRIDGES_ADD_CHANNEL, {"bridgeId": bridge_id}, query)

    async def remove_channel(self, bridge_id: str, channel: str | Sequence[str]) -> None:
        query = {"channel": channel}
        await self._rest.call(ops.BRIDGES_REMOVE_CHANNEL, {"bridgeId": bridge_id}, query)

    async def start_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        """No event either way; an unknown class is accepted (errors.md)."""
        query = {"mohClass": moh_class}
        await self._rest.call(ops.BRIDGES_MOH_START, {"bridgeId": bridge_id}, query)

    async def stop_moh(self, bridge_id: str) -> None:
        """409 `Bridge isn't playing music` when none plays (errors.md)."""
        await self._rest.call(ops.BRIDGES_MOH_STOP, {"bridgeId": bridge_id})

    async def play(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        *,
        lang: str | None = None,
        playback_id: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
    ) -> Playback:
        return await play_on(
            self._rest, ops.BRIDGES_PLAY, {"bridgeId": bridge_id}, media,
            lang=lang, playback_id=playback_id, offsetms=offsetms, skipms=skipms,
        )  # fmt: skip

    async def record(
        self,
        bridge_id: str,
        name: str,
        format: str,
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: str | None = None,
        beep: bool | None = None,
        terminate_on: str | None = None,
    ) -> LiveRecording:
        """Returns `state:"queued"`; RecordingStarted usually arrives before the response
        (queue_moh_ring_answer.md)."""
        return await record_on(
            self._rest, ops.BRIDGES_RECORD, {"bridgeId": bridge_id}, name, format,
            max_duration_seconds=max_duration_seconds, max_silence_seconds=max_silence_seconds,
            if_exists=if_exists, beep=beep, terminate_on=terminate_on,
        )  # fmt: skip
