"""Playbacks and recordings, with durations on the simulator's clock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sim.errors import AriError
from sim.model import Playback, Recording

if TYPE_CHECKING:
    from sim.asterisk import SimAsterisk

# ARI's media schemes; any other starts and never finishes (errors.md: `bogus:thing`).
KNOWN_SCHEMES = {"sound", "recording", "number", "digits", "characters", "tone"}
FORMATS = {"wav", "gsm", "ulaw", "alaw", "sln", "g722", "wav16", "slin"}
IF_EXISTS = {"fail", "overwrite", "append"}


@dataclass
class Sounds:
    """How long each medium plays. `missing` sounds finish at once with `failed`
    (errors.md: a missing sound file gives PlaybackFinished `state:"failed"`)."""

    durations: dict[str, float] = field(default_factory=dict)
    default: float = 1.0
    missing: set[str] = field(default_factory=set)

    def duration(self, media: str) -> float:
        return self.durations.get(media, self.default)


class Media:
    def __init__(self, ast: SimAsterisk, sounds: Sounds) -> None:
        self._ast = ast
        self.sounds = sounds
        self.playbacks: dict[str, Playback] = {}
        self._queues: dict[str, list[Playback]] = {}
        self.live: dict[str, Recording] = {}
        self.stored: dict[str, str] = {}
        """Stored recording name -> format."""

    # playbacks ------------------------------------------------------------------------

    def play(
        self,
        target: str,
        app: str,
        media: str | None,
        playback_id: str | None,
        lang: str | None = None,
    ) -> Playback:
        if not media:
            raise AriError(500, "Failed to queue media for playback")
        # A duplicate playbackId is accepted (errors.md: lenient). The sound language is
        # `lang`, else the channel's (`language: en` in every trace). Several media come
        # comma-joined (`allowMultiple`) and play in turn in one playback.
        first, *after = [uri for uri in media.split(",") if uri] or [media]
        playback = Playback(playback_id or str(uuid.uuid4()), first, target, lang or "en")
        playback.after = after
        self.playbacks[playback.id] = playback
        queue = self._queues.setdefault(target, [])
        queue.append(playback)
        if len(queue) == 1:
            self._start(playback, app)
        # The response says `queued` although PlaybackStarted went out first
        # (ivr_playback_dtmf.md: the event arrived ~2 ms before the 201).
        return Playback(playback.id, first, target, playback.language, "queued", after=after)

    def _start(self, playback: Playback, app: str) -> None:
        playback.state = "playing"
        self._ast.bus.emit(app, "PlaybackStarted", playback=playback.json())
        scheme = playback.media_uri.partition(":")[0]
        if scheme not in KNOWN_SCHEMES:
            return
        failed = playback.media_uri in self.sounds.missing
        delay = 0 if failed else self.sounds.duration(playback.media_uri)
        playback.timer = self._ast.clock.call_later(
            delay, lambda: self._medium_done(playback, app, failed=failed)
        )

    def _medium_done(self, playback: Playback, app: str, *, failed: bool) -> None:
        """One medium is over: the next one (PlaybackContinuing, then PlaybackStarted
        again), or the end. As res_stasis_playback.c's play_on_channel: a medium that
        fails is skipped while another follows; the last one decides done or failed."""
        if not playback.after:
            self._finish(playback, app, "failed" if failed else "done")
            return
        playback.state = "continuing"
        self._ast.bus.emit(app, "PlaybackContinuing", playback=playback.json())
        playback.media_uri = playback.after.pop(0)
        self._start(playback, app)

    def _finish(self, playback: Playback, app: str, state: str) -> None:
        if self.playbacks.get(playback.id) is playback:
            del self.playbacks[playback.id]
        queue = self._queues.get(playback.target_uri, [])
        if playback not in queue:
            return
        was_playing = queue[0] is playback
        queue.remove(playback)
        if playback.timer is not None:
            playback.timer.cancel()
        if was_playing:
            playback.state = state
            self._ast.bus.emit(app, "PlaybackFinished", playback=playback.json())
            if queue:
                self._start(queue[0], app)
        if not queue:
            self._queues.pop(playback.target_uri, None)

    def get(self, playback_id: str) -> Playback:
        try:
            return self.playbacks[playback_id]
        except KeyError:
            raise AriError(404, "Playback not found") from None

    def stop(self, playback_id: str, app: str) -> None:
        # A stopped playback finishes `done`; there is no `stopped` state (ivr_playback_dtmf).
        self._finish(self.get(playback_id), app, "done")

    def control(self, playback_id: str, operation: str | None) -> None:
        playback = self.get(playback_id)
        if not operation:
            raise AriError(400, "Missing operation")
        if operation not in {"restart", "pause", "unpause", "reverse", "forward"}:
            raise AriError(400, f"Invalid operation {operation}")
        if operation in {"pause", "unpause"} and playback.state != "playing":
            raise AriError(409, f"Can only {operation} while media is playing")

    def stop_all(self, target: str) -> None:
        for playback in list(self._queues.get(target, [])):
            self._finish(playback, self._app_of(target), "done")

    def _app_of(self, target: str) -> str:
        kind, _, ident = target.partition(":")
        channel = self._ast.channels.get(ident) if kind == "channel" else None
        return channel.app if channel else "callcenter"

    # recordings -------------------------------------------------------------------------

    def record(
        self,
        target: str,
        app: str,
        name: str | None,
        fmt: str | None,
        if_exists: str | None,
        max_duration: float,
    ) -> Recording:
        if not fmt or fmt not in FORMATS or not name:
            raise AriError(422, "specified format is unknown on this system")
        if if_exists and if_exists not in IF_EXISTS:
            raise AriError(400, "ifExists invalid")
        exists = name in self.live or name in self.stored
        if exists and (if_exists or "fail") == "fail":
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        recording = Recording(name, fmt, target, self._ast.clock.now(), state="recording")
        self.live[name] = recording
        self._ast.bus.emit(app, "RecordingStarted", recording=recording.json())
        if max_duration > 0:
            recording.timer = self._ast.clock.call_later(
                max_duration, lambda: self._stop_recording(recording, app)
            )
        return Recording(name, fmt, target, recording.started, state="queued")

    def live_recording(self, name: str) -> Recording:
        try:
            return self.live[name]
        except KeyError:
            raise AriError(404, "Recording not found") from None

    def stop_recording(self, name: str, app: str) -> None:
        self._stop_recording(self.live_recording(name), app)

    def _stop_recording(self, recording: Recording, app: str) -> None:
        if self.live.get(recording.name) is not recording:
            return
        del self.live[recording.name]
        if recording.timer is not None:
            recording.timer.cancel()
        recording.state = "done"
        recording.duration = round(self._ast.clock.now() - recording.started)
        self.stored[recording.name] = recording.format
        kind, _, ident = recording.target_uri.partition(":")
        if kind == "channel" and ident in self._ast.channels:
            self._ast.channels[ident].recording = None
        self._ast.bus.emit(app, "RecordingFinished", recording=recording.json())

    def stored_recording(self, name: str) -> dict[str, str]:
        if name not in self.stored:
            raise AriError(404, "Recording not found")
        return {"name": name, "format": self.stored[name]}
