"""What a caller hears from the engine: prompts played on the caller's channel, in turn.

One request plays everything asked for at once: ``media`` takes several URIs
(``allowMultiple`` in ari-api-docs/channels.json), played in turn as one playback, with
``PlaybackContinuing`` between them and one ``PlaybackFinished`` at the end (Asterisk's
res_stasis_playback.c; a medium that fails is skipped while another follows). Media
asked for meanwhile (waiting-room messages queue up) go in the next request. Each
playback has an id chosen by the engine (``playbackId``), so a ``PlaybackFinished`` that
overtakes the REST response (ivr_playback_dtmf.md: the events of a playback arrive
before its 201) still finds its speech. ``stop`` is ARI's ``DELETE /playbacks/{id}``,
after which Asterisk still sends ``PlaybackFinished`` with ``state:"done"`` (there is no
"stopped" state): the speech is already forgotten by then, so that event is dropped. A
missing sound file finishes with ``state:"failed"`` (errors.md): the speech goes on.

A caller waiting in the holding bridge hears prompts the same way: a playback on a
channel that is in a bridge is queued to that channel only (Asterisk's
``res_stasis_playback.c`` ``play_uri`` uses ``ast_bridge_channel_queue_playfile_sync``),
the channel is taken off the bridge's media while it plays and hears the music again
afterwards. The recorded traces only show playbacks on unbridged channels
(ivr_playback_dtmf.md); this rests on Asterisk's source, not on a trace.

Requests go through the call's chain of steps (the executor's), so a stop never
overtakes the play it stops.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from ari_app.client import AriError
from ari_app.client.channels import Channels
from ari_app.client.media import Playbacks

log = logging.getLogger(__name__)

Chain = Callable[[str, Callable[[], Awaitable[None]]], None]
"""Run a step on the call's chain (Executor._chain)."""


def new_playback_id() -> str:
    return f"cc-pb-{uuid.uuid4().hex}"


def sound(prompt: str) -> str:
    """A configured prompt name (``hotline/welcome``) as an ARI media URI."""
    return prompt if ":" in prompt else f"sound:{prompt}"


@dataclass(eq=False)
class Speech:
    call: str
    channel: str
    media: list[str]
    lang: str | None
    done: Callable[[], None] | None
    playing: str | None = None  # the playback id now playing
    stopped: bool = False
    ids: list[str] = field(default_factory=list)


class Voice:
    def __init__(
        self, channels: Channels, playbacks: Playbacks, chain: Chain, fail: Callable[[str], None]
    ) -> None:
        self.channels = channels
        self.playbacks = playbacks
        self._chain = chain
        self._fail = fail
        self._speech: dict[str, Speech] = {}  # by call
        self._by_playback: dict[str, Speech] = {}

    def play(
        self,
        call: str,
        channel: str,
        media: Sequence[str],
        lang: str | None = None,
        *,
        done: Callable[[], None] | None = None,
        interrupt: bool = True,
    ) -> None:
        """Play ``media`` (URIs) to the caller in turn, then call ``done`` (not when stopped).

        ``interrupt``: stop what the caller hears now; otherwise (waiting-room messages)
        the media follow what already plays."""
        current = self._speech.get(call)
        if current is not None and not interrupt and not current.stopped:
            current.media.extend(media)
            if done is not None:
                previous = current.done
                current.done = _both(previous, done)
            return
        self.stop(call)
        speech = Speech(call, channel, list(media), lang, done)
        self._speech[call] = speech
        self._chain(call, lambda: self._next(speech))

    def stop(self, call: str) -> None:
        """Barge-in: stop the caller's prompts; their ``done`` is not called."""
        speech = self._speech.pop(call, None)
        if speech is None:
            return
        speech.stopped = True
        speech.media.clear()
        self._chain(call, lambda: self._stop_playing(speech))

    def forget(self, call: str) -> None:
        """The caller is gone: nothing more is played or stopped."""
        speech = self._speech.pop(call, None)
        if speech is not None:
            speech.stopped = True
            for playback in speech.ids:
                self._by_playback.pop(playback, None)

    def speaking(self, call: str) -> bool:
        return call in self._speech

    def behind(self, call: str) -> bool:
        """Media already wait for what the caller hears now to finish."""
        speech = self._speech.get(call)
        return speech is not None and speech.playing is not None and bool(speech.media)

    def finished(self, playback: str) -> None:
        """``PlaybackFinished`` (done or failed): media queued meanwhile, or the end."""
        speech = self._by_playback.pop(playback, None)
        if speech is None or speech.stopped or speech.playing != playback:
            return
        speech.playing = None
        if speech.media:
            self._chain(speech.call, lambda: self._next(speech))
            return
        self._over(speech)

    async def _next(self, speech: Speech) -> None:
        if speech.stopped or speech.playing is not None:
            return
        if not speech.media:
            self._over(speech)
            return
        media, speech.media = speech.media, []
        playback = new_playback_id()
        speech.playing = playback
        speech.ids.append(playback)
        self._by_playback[playback] = speech  # before the request: its events may come first
        await self.channels.play(speech.channel, media, lang=speech.lang, playback_id=playback)

    def _over(self, speech: Speech) -> None:
        """Everything was heard: what comes next (a fault there fails this call only)."""
        if self._speech.get(speech.call) is speech:
            del self._speech[speech.call]
        if speech.done is None:
            return
        try:
            speech.done()
        except Exception:
            log.exception("after the prompts call=%s", speech.call)
            self._fail(speech.call)

    async def _stop_playing(self, speech: Speech) -> None:
        playback = speech.playing
        for played in speech.ids:
            self._by_playback.pop(played, None)
        if playback is None:
            return
        try:
            await self.playbacks.stop(playback)
        except AriError as exc:  # finished meanwhile: 404 Playback not found
            log.debug("stop of a finished playback call=%s playback=%s (%s)",
                      speech.call, playback, exc)  # fmt: skip


def _both(first: Callable[[], None] | None, second: Callable[[], None]) -> Callable[[], None]:
    if first is None:
        return second

    def both() -> None:
        first()
        second()

    return both
