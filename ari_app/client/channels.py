"""REST operations on channels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ari_app.client import operations as ops
from ari_app.client.media import play_on, record_on
from ari_app.client.models import Channel, LiveRecording, Playback, Variable
from ari_app.client.rest import RestApi


def join_args(args: str | Sequence[str] | None) -> str | None:
    """Stasis arguments as ARI wants them: one comma-separated string."""
    if args is None or isinstance(args, str):
        return args
    return ",".join(args)


def _vars(variables: Mapping[str, str] | None) -> dict[str, dict[str, str]] | None:
    # Originate variables go in the JSON body as {"variables": {...}} (paramType body).
    return {"variables": dict(variables)} if variables else None


class Channels:
    def __init__(self, rest: RestApi) -> None:
        self._rest = rest

    async def list(self) -> list[Channel]:
        return [Channel.model_validate(c) for c in await self._rest.call(ops.CHANNELS_LIST)]

    async def get(self, channel_id: str) -> Channel:
        data = await self._rest.call(ops.CHANNELS_GET, {"channelId": channel_id})
        return Channel.model_validate(data)

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: str | Sequence[str] | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        caller_id: str | None = None,
        ring_timeout: int | None = None,
        variables: Mapping[str, str] | None = None,
        originator: str | None = None,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        formats: str | None = None,
    ) -> Channel:
        """Dial `endpoint`. An unregistered endpoint fails at once with
        AllocationFailedError (agent_unreachable.md); no answer within `ring_timeout`
        seconds ends with ChannelDestroyed cause 19 on both Local halves and no
        `Dial NOANSWER` (agent_no_answer.md). A `channel_id` that is a prefix of a live
        channel's id is rejected with 409 (errors.md)."""
        query = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": join_args(app_args),
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "callerId": caller_id,
            "timeout": ring_timeout,
            "originator": originator,
            "context": context,
            "extension": extension,
            "priority": priority,
            "formats": formats,
        }
        data = await self._rest.call(ops.CHANNELS_ORIGINATE, query=query, body=_vars(variables))
        return Channel.model_validate(data)

    async def create(
        self,
        endpoint: str,
        app: str,
        *,
        app_args: str | Sequence[str] | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        query = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": join_args(app_args),
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
        }
        data = await self._rest.call(ops.CHANNELS_CREATE, query=query, body=_vars(variables))
        return Channel.model_validate(data)

    async def hangup(
        self, channel_id: str, reason: str | None = None, reason_code: str | None = None
    ) -> None:
        """`reason` is ARI's name (normal, busy, noanswer, ...); a bad one is a 400."""
        query = {"reason": reason, "reason_code": reason_code}
        await self._rest.call(ops.CHANNELS_HANGUP, {"channelId": channel_id}, query)

    async def answer(self, channel_id: str) -> None:
        await self._rest.call(ops.CHANNELS_ANSWER, {"channelId": channel_id})

    async def ring(self, channel_id: str) -> None:
        await self._rest.call(ops.CHANNELS_RING, {"channelId": channel_id})

    async def ring_stop(self, channel_id: str) -> None:
        await self._rest.call(ops.CHANNELS_RING_STOP, {"channelId": channel_id})

    async def continue_in_dialplan(
        self,
        channel_id: str,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        """Leave Stasis: only StasisEnd follows, even for a nonexistent context, where the
        call is then hung up (hold_mute_variables_continue.md, errors.md)."""
        query = {"context": context, "extension": extension, "priority": priority, "label": label}
        await self._rest.call(ops.CHANNELS_CONTINUE, {"channelId": channel_id}, query)

    async def move(
        self, channel_id: str, app: str, app_args: str | Sequence[str] | None = None
    ) -> None:
        query = {"app": app, "appArgs": join_args(app_args)}
        await self._rest.call(ops.CHANNELS_MOVE, {"channelId": channel_id}, query)

    async def redirect(self, channel_id: str, endpoint: str) -> None:
        """On a Local channel this returns 204 and does nothing; on PJSIP it sends a REFER
        (transfer_redirect.md)."""
        query = {"endpoint": endpoint}
        await self._rest.call(ops.CHANNELS_REDIRECT, {"channelId": channel_id}, query)

    async def dial(
        self, channel_id: str, caller: str | None = None, ring_timeout: int | None = None
    ) -> None:
        query = {"caller": caller, "timeout": ring_timeout}
        await self._rest.call(ops.CHANNELS_DIAL, {"channelId": channel_id}, query)

    async def send_dtmf(
        self,
        channel_id: str,
        dtmf: str,
        *,
        before: int | None = None,
        between: int | None = None,
        duration: int | None = None,
        after: int | None = None,
    ) -> None:
        query = {
            "dtmf": dtmf,
            "before": before,
            "between": between,
            "duration": duration,
            "after": after,
        }
        await self._rest.call(ops.CHANNELS_DTMF, {"channelId": channel_id}, query)

    async def mute(self, channel_id: str, direction: str | None = None) -> None:
        """`direction` in/out/both (Asterisk's default: both). No event follows."""
        query = {"direction": direction}
        await self._rest.call(ops.CHANNELS_MUTE, {"channelId": channel_id}, query)

    async def unmute(self, channel_id: str, direction: str | None = None) -> None:
        query = {"direction": direction}
        await self._rest.call(ops.CHANNELS_UNMUTE, {"channelId": channel_id}, query)

    async def hold(self, channel_id: str) -> None:
        """Indicates hold toward the channel; no ChannelHold event follows
        (hold_mute_variables_continue.md). Start MOH separately for music."""
        await self._rest.call(ops.CHANNELS_HOLD, {"channelId": channel_id})

    async def unhold(self, channel_id: str) -> None:
        await self._rest.call(ops.CHANNELS_UNHOLD, {"channelId": channel_id})

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        query = {"mohClass": moh_class}
        await self._rest.call(ops.CHANNELS_MOH_START, {"channelId": channel_id}, query)

    async def stop_moh(self, channel_id: str) -> None:
        await self._rest.call(ops.CHANNELS_MOH_STOP, {"channelId": channel_id})

    async def start_silence(self, channel_id: str) -> None:
        await self._rest.call(ops.CHANNELS_SILENCE_START, {"channelId": channel_id})

    async def stop_silence(self, channel_id: str) -> None:
        await self._rest.call(ops.CHANNELS_SILENCE_STOP, {"channelId": channel_id})

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        lang: str | None = None,
        playback_id: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
    ) -> Playback:
        """Start a playback. PlaybackStarted usually arrives before this returns; an
        unknown media scheme starts and never finishes (errors.md)."""
        return await play_on(
            self._rest, ops.CHANNELS_PLAY, {"channelId": channel_id}, media,
            lang=lang, playback_id=playback_id, offsetms=offsetms, skipms=skipms,
        )  # fmt: skip

    async def record(
        self,
        channel_id: str,
        name: str,
        format: str,
        *,
        max_duration_seconds: int | None = None,
        max_silence_seconds: int | None = None,
        if_exists: str | None = None,
        beep: bool | None = None,
        terminate_on: str | None = None,
    ) -> LiveRecording:
        return await record_on(
            self._rest, ops.CHANNELS_RECORD, {"channelId": channel_id}, name, format,
            max_duration_seconds=max_duration_seconds, max_silence_seconds=max_silence_seconds,
            if_exists=if_exists, beep=beep, terminate_on=terminate_on,
        )  # fmt: skip

    async def snoop(
        self,
        channel_id: str,
        app: str,
        *,
        spy: str | None = None,
        whisper: str | None = None,
        app_args: str | Sequence[str] | None = None,
        snoop_id: str | None = None,
    ) -> Channel:
        """A `Snoop/<id>-N` channel that enters `app` with StasisStart at once (returns 200,
        snoop_whisper_barge.md). spy/whisper: none, in, out, both."""
        query = {"spy": spy, "whisper": whisper, "app": app, "appArgs": join_args(app_args)}
        if snoop_id is None:
            data = await self._rest.call(ops.CHANNELS_SNOOP, {"channelId": channel_id}, query)
        else:
            params = {"channelId": channel_id, "snoopId": snoop_id}
            data = await self._rest.call(ops.CHANNELS_SNOOP_WITH_ID, params, query)
        return Channel.model_validate(data)

    async def get_variable(self, channel_id: str, variable: str) -> str:
        """A missing variable raises AriNotFoundError (`Provided variable was not found`)."""
        query = {"variable": variable}
        data = await self._rest.call(ops.CHANNELS_VAR_GET, {"channelId": channel_id}, query)
        return Variable.model_validate(data).value

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        """Emits ChannelVarset, sometimes only after a later request's response
        (hold_mute_variables_continue.md)."""
        query = {"variable": variable, "value": value}
        await self._rest.call(ops.CHANNELS_VAR_SET, {"channelId": channel_id}, query)
