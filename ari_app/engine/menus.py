"""The IVR on Asterisk: each caller's `MenuRun` (ivr.py) driven by ARI events.

A thin adapter: `Play` becomes playbacks on the caller's channel (`Voice`), `Stop`
stops them (barge-in), `Wait` an event-loop timer, and ``ChannelDtmfReceived``,
``PlaybackFinished`` and the timer come back as the run's inputs. `Exit` hands the
caller to ``on_exit`` (the executor sends it on). Everything runs on the event loop,
between two ARI events, so a run needs no lock; a fault in one run fails that call
only (``fail``: back to the dialplan).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from ari_app.engine.calls import Call
from ari_app.engine.ivr import Exit, MenuRun, Play, Step, Stop, Wait
from ari_app.engine.voice import Voice, sound
from callcenter.config import Config
from callcenter.core.spec import Target

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Running:
    record: Call
    run: MenuRun
    timer: asyncio.TimerHandle | None = None


class Menus:
    def __init__(
        self,
        voice: Voice,
        on_exit: Callable[[Call, Exit], None],
        fail: Callable[[str], None],
    ) -> None:
        self.voice = voice
        self._on_exit = on_exit
        self._fail = fail
        self._runs: dict[str, _Running] = {}

    def start(
        self,
        record: Call,
        config: Config,
        target: Target,
        now: float,
        *,
        lang: str | None = None,
        notice: tuple[str, ...] = (),
    ) -> None:
        """Guide the caller from ``target`` (an ``ivr:`` or ``announcement:`` target, or
        any target after a ``notice``) to where the menus lead."""
        if record.gone or record.leaving:
            return
        previous = self._runs.pop(record.id, None)
        if previous is not None:
            self._cancel_timer(previous)
        moment = dt.datetime.fromtimestamp(now, dt.UTC)
        run = MenuRun(config.ivr, config.announcements, moment, target, lang, notice)
        running = self._runs[record.id] = _Running(record, run)
        log.info("ivr start call=%s target=%s lang=%s", record.id, target, lang or "-")
        self._feed(running, run.start)

    def running(self, call: str) -> bool:
        return call in self._runs

    def key(self, call: str, digit: str) -> bool:
        """A key of a caller in the menus; False when the caller is not in one."""
        running = self._runs.get(call)
        if running is None:
            return False
        self._feed(running, lambda: running.run.key(digit))
        return True

    def forget(self, call: str) -> None:
        """The caller left (hung up, failed): no more prompts, no timer."""
        running = self._runs.pop(call, None)
        if running is not None:
            self._cancel_timer(running)
            self.voice.forget(call)

    # -- the run's inputs and steps ---------------------------------------------------------

    def _feed(self, running: _Running, step: Callable[[], list[Step]]) -> None:
        call = running.record.id
        if self._runs.get(call) is not running:
            return  # a late playback or timer of a run that ended
        self._cancel_timer(running)
        try:
            steps = step()
            for each in steps:
                self._carry_out(running, each)
        except Exception:
            log.exception("ivr failed call=%s", call)
            self.forget(call)
            self._fail(call)

    def _carry_out(self, running: _Running, step: Step) -> None:
        record = running.record
        match step:
            case Play(prompts=prompts, lang=lang):
                media = [sound(p) for p in prompts]
                self.voice.play(record.id, record.channel, media, lang,
                                done=lambda: self._feed(running, running.run.played))  # fmt: skip
            case Stop():
                self.voice.stop(record.id)
            case Wait(seconds=seconds):
                loop = asyncio.get_running_loop()
                running.timer = loop.call_later(
                    seconds, lambda: self._feed(running, running.run.timed_out)
                )
            case Exit():
                self._runs.pop(record.id, None)
                log.info("ivr exit call=%s target=%s lang=%s path=%s", record.id,
                         step.target, step.lang or "-", step.path_text)  # fmt: skip
                self._on_exit(record, step)

    @staticmethod
    def _cancel_timer(running: _Running) -> None:
        if running.timer is not None:
            running.timer.cancel()
            running.timer = None
