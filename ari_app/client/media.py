"""REST operations on playbacks and recordings."""

from __future__ import annotations

from collections.abc import Sequence

from ari_app.client import operations as ops
from ari_app.client.models import LiveRecording, Playback, StoredRecording
from ari_app.client.operations import Operation
from ari_app.client.rest import RestApi


async def play_on(
    rest: RestApi,
    operation: Operation,
    target: dict[str, str],
    media: str | Sequence[str],
    *,
    lang: str | None,
    playback_id: str | None,
    offsetms: int | None,
    skipms: int | None,
) -> Playback:
    """A playback on a channel or a bridge: the same parameters for both."""
    query = {
        "media": media,
        "lang": lang,
        "playbackId": playback_id,
        "offsetms": offsetms,
        "skipms": skipms,
    }
    return Playback.model_validate(await rest.call(operation, target, query))


async def record_on(
    rest: RestApi,
    operation: Operation,
    target: dict[str, str],
    name: str,
    format: str,
    *,
    max_duration_seconds: int | None,
    max_silence_seconds: int | None,
    if_exists: str | None,
    beep: bool | None,
    terminate_on: str | None,
) -> LiveRecording:
    """A live recording of a channel or a bridge: the same parameters for both."""
    query = {
        "name": name,
        "format": format,
        "maxDurationSeconds": max_duration_seconds,
        "maxSilenceSeconds": max_silence_seconds,
        "ifExists": if_exists,
        "beep": beep,
        "terminateOn": terminate_on,
    }
    return LiveRecording.model_validate(await rest.call(operation, target, query))


class Playbacks:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def get(self, playback_id: str) -> Playback:
        data = await self._rest.call(ops.PLAYBACKS_GET, {"playbackId": playback_id})
        return Playback.model_validate(data)

    async def stop(self, playback_id: str) -> None:
        """The playback then finishes with `state:"done"` (ivr_playback_dtmf.md)."""
        await self._rest.call(ops.PLAYBACKS_STOP, {"playbackId": playback_id})

    async def control(self, playback_id: str, operation: str) -> None:
        """restart, pause, unpause, reverse, forward."""
        query = {"operation": operation}
        await self._rest.call(ops.PLAYBACKS_CONTROL, {"playbackId": playback_id}, query)


class Recordings:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def get_live(self, name: str) -> LiveRecording:
        data = await self._rest.call(ops.RECORDINGS_LIVE_GET, {"recordingName": name})
        return LiveRecording.model_validate(data)

    async def stop(self, name: str) -> None:
        """Stop and keep; RecordingFinished follows (queue_moh_ring_answer.md)."""
        await self._rest.call(ops.RECORDINGS_STOP, {"recordingName": name})

    async def cancel(self, name: str) -> None:
        """Stop and discard."""
        await self._rest.call(ops.RECORDINGS_CANCEL, {"recordingName": name})

    async def pause(self, name: str) -> None:
        await self._rest.call(ops.RECORDINGS_PAUSE, {"recordingName": name})

    async def unpause(self, name: str) -> None:
        await self._rest.call(ops.RECORDINGS_UNPAUSE, {"recordingName": name})

    async def mute(self, name: str) -> None:
        await self._rest.call(ops.RECORDINGS_MUTE, {"recordingName": name})

    async def unmute(self, name: str) -> None:
        await self._rest.call(ops.RECORDINGS_UNMUTE, {"recordingName": name})

    async def list_stored(self) -> list[StoredRecording]:
        data = await self._rest.call(ops.RECORDINGS_STORED_LIST)
        return [StoredRecording.model_validate(r) for r in data]

    async def get_stored(self, name: str) -> StoredRecording:
        data = await self._rest.call(ops.RECORDINGS_STORED_GET, {"recordingName": name})
        return StoredRecording.model_validate(data)

    async def delete_stored(self, name: str) -> None:
        await self._rest.call(ops.RECORDINGS_STORED_DELETE, {"recordingName": name})

    async def copy_stored(self, name: str, destination: str) -> StoredRecording:
        query = {"destinationRecordingName": destination}
        data = await self._rest.call(ops.RECORDINGS_STORED_COPY, {"recordingName": name}, query)
        return StoredRecording.model_validate(data)
