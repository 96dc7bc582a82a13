"""The caller's side of the IVR, as a small pure state machine (no I/O, no clock).

Theory of operation. A `MenuRun` guides one caller from a starting target to the
target the caller ends up at. It is fed three inputs and answers with steps:

* ``start()``: the caller arrives here (a dialed number, a closed line, a LeaveQueue);
* ``key(digit)``: a phone key (``ChannelDtmfReceived``);
* ``played()``: everything of the last `Play` has been heard;
* ``timed_out()``: the no-key timer of the last `Wait` ran out.

Steps: `Play` (stop whatever plays, then play these prompts in turn), `Stop` (barge-in:
a key stops the prompts), `Wait` (start the no-key timer), `Exit` (done: send the
caller to this target). At any moment a run is either playing, waiting for a key or
done, so a caller is never left in silence: the adapter only has to report what
happened. Inputs that do not fit the moment (a stale ``played``, a key after the exit)
are ignored and answered with no steps.

What a caller hears, in order, on entering a menu:

1. the menu's announcement while it is switched on (an outage notice), once per run,
   heard in full: keys are ignored, since the point is that every caller hears it;
2. the language choice, once per run (``LanguageChoice``): a listed key picks the
   language, no key picks the default, a wrong key replays it up to ``retries`` times;
3. the prompts, which a key interrupts. A listed key leads to its option (another menu
   is entered, anything else is the exit); a wrong key plays ``invalid_prompt``, no key
   plays ``timeout_prompt`` (if any), then the prompts again, up to ``retries`` times;
   after that the caller goes to ``after_retries``.

An ``announcement:NAME`` target plays the announcement in full, then hangs up. A run
enters at most `MAX_MENUS` menus: a caller going round and round the sub-menus is sent
to the last menu's ``after_retries`` (or hung up if that is a menu again), so any
sequence of keys and silences ends within a bounded number of inputs (tested by
property in tests/engine/test_ivr_machine.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from callcenter.config import Announcement, IvrMenu
from callcenter.core.spec import Target, TargetKind

MAX_MENUS = 20
"""Menus one caller may enter in one run before being sent on."""
HANGUP = Target(TargetKind.HANGUP)


@dataclass(frozen=True, slots=True)
class Play:
    """Stop what plays, then play ``prompts`` (sound names, without ``sound:``) in turn."""

    prompts: tuple[str, ...]
    lang: str | None
    interruptible: bool = True
    """A key stops it (barge-in); notices and announcements are heard in full."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Barge-in: stop the prompts now."""


@dataclass(frozen=True, slots=True)
class Wait:
    """Start the no-key timer; ``timed_out()`` when it runs out, unless a key comes first."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Exit:
    """Done: send the caller to ``target``; None: the menu is gone (a reload removed it),
    the engine's fallback serves the caller."""

    target: Target | None
    lang: str | None
    path: tuple[str, ...]
    """The menus entered and keys taken, e.g. ("hotline-main", "2", "hotline-support", "3")."""

    @property
    def path_text(self) -> str:
        return ">".join(self.path)


Step = Play | Stop | Wait | Exit


class Phase(Enum):
    NOTICE = "notice"  # the menu's announcement
    LANGUAGE = "language"
    MENU = "menu"
    ANNOUNCEMENT = "announcement"  # an announcement: target, then hang up
    DONE = "done"


class Mode(Enum):
    PLAYING = "playing"
    WAITING = "waiting"  # for a key, the timer running
    DONE = "done"


@dataclass
class MenuRun:
    menus: Mapping[str, IvrMenu]
    announcements: Mapping[str, Announcement]
    moment: dt.datetime
    """When the caller arrived (aware): decides whether announcements are switched on."""
    target: Target
    lang: str | None = None
    """The prompts' language before any choice (the number's ``language``)."""
    notice: tuple[str, ...] = ()
    """Prompts heard in full before anything else (the number's announcement)."""
    path: list[str] = field(default_factory=list)
    phase: Phase = Phase.MENU
    mode: Mode = Mode.PLAYING
    menu: str = ""
    attempts: int = 0
    entered: int = 0
    chosen_language: bool = False
    heard: set[str] = field(default_factory=set)  # announcements already heard in this run
    _after_notice: Target | None = None

    # -- inputs ----------------------------------------------------------------------------

    def start(self) -> list[Step]:
        if self.notice:
            self.phase, self._after_notice = Phase.NOTICE, self.target
            return [self._play(self.notice, interruptible=False)]
        return self._go(self.target)

    def key(self, digit: str) -> list[Step]:
        if self.mode is Mode.DONE or self.phase in (Phase.NOTICE, Phase.ANNOUNCEMENT):
            return []  # heard in full
        steps: list[Step] = [Stop()] if self.mode is Mode.PLAYING else []
        if self.phase is Phase.LANGUAGE:
            return steps + self._language_key(digit)
        return steps + self._menu_key(digit)

    def played(self) -> list[Step]:
        if self.mode is not Mode.PLAYING:
            return []
        if self.phase is Phase.NOTICE:
            target, self._after_notice = self._after_notice, None
            if self.menu and target is None:  # a menu's own notice: on into the menu
                return self._after_menu_notice()
            return self._go(target or HANGUP)
        if self.phase is Phase.ANNOUNCEMENT:
            return self._exit(HANGUP)
        self.mode = Mode.WAITING
        return [Wait(self._current().timeout)]

    def timed_out(self) -> list[Step]:
        if self.mode is not Mode.WAITING:
            return []
        menu = self._current()
        if self.phase is Phase.LANGUAGE:
            choice = menu.language
            self.lang = choice.default if choice is not None else self.lang
            return self._menu_start()
        return self._again(menu, menu.timeout_prompt)

    @property
    def done(self) -> bool:
        return self.mode is Mode.DONE

    # -- transitions -------------------------------------------------------------------------

    def _go(self, target: Target) -> list[Step]:
        if target.kind is TargetKind.IVR:
            return self._enter(target.value)
        if target.kind is TargetKind.ANNOUNCEMENT:
            announcement = self.announcements.get(target.value)
            if announcement is None:
                return self._exit(HANGUP)
            self.phase = Phase.ANNOUNCEMENT
            return [self._play(tuple(announcement.prompts), interruptible=False)]
        return self._exit(target)

    def _enter(self, name: str) -> list[Step]:
        menu = self.menus.get(name)
        if menu is None:
            return self._exit(None)
        self.entered += 1
        if self.entered > MAX_MENUS:
            last = self.menus.get(self.menu)
            after = last.after_retries if last is not None else HANGUP
            return self._exit(HANGUP if after.kind is TargetKind.IVR else after)
        self.menu, self.attempts = name, 0
        self.path.append(name)
        notice = self.announcements.get(menu.announcement or "")
        if notice is not None and name not in self.heard and notice.playing_at(self.moment):
            self.heard.add(name)
            self.phase = Phase.NOTICE
            return [self._play(tuple(notice.prompts), interruptible=False)]
        return self._after_menu_notice()

    def _after_menu_notice(self) -> list[Step]:
        choice = self._current().language
        if choice is not None and not self.chosen_language:
            self.chosen_language = True  # asked once per run, even if the menu is re-entered
            self.phase, self.attempts = Phase.LANGUAGE, 0
            return [self._play((choice.prompt,))]
        return self._menu_start()

    def _menu_start(self) -> list[Step]:
        self.phase, self.attempts = Phase.MENU, 0
        return [self._play(tuple(self._current().prompts))]

    def _language_key(self, digit: str) -> list[Step]:
        menu = self._current()
        choice = menu.language
        if choice is None:  # the config changed under the run; carry on with the menu
            return self._menu_start()
        if digit in choice.keys:
            self.lang = choice.keys[digit]
            return self._menu_start()
        self.attempts += 1
        if self.attempts > menu.retries:
            self.lang = choice.default
            return self._menu_start()
        return [self._play((menu.invalid_prompt, choice.prompt))]

    def _menu_key(self, digit: str) -> list[Step]:
        menu = self._current()
        option = menu.options.get(digit)
        if option is None:
            return self._again(menu, menu.invalid_prompt)
        self.path.append(digit)
        return self._go(option)

    def _again(self, menu: IvrMenu, prompt: str | None) -> list[Step]:
        self.attempts += 1
        if self.attempts > menu.retries:
            return self._go(menu.after_retries)
        before = (prompt,) if prompt else ()
        return [self._play((*before, *menu.prompts))]

    def _exit(self, target: Target | None) -> list[Step]:
        self.phase, self.mode = Phase.DONE, Mode.DONE
        return [Exit(target, self.lang, tuple(self.path))]

    # -- helpers -----------------------------------------------------------------------------

    def _play(self, prompts: tuple[str, ...], *, interruptible: bool = True) -> Play:
        self.mode = Mode.PLAYING
        return Play(prompts, self.lang, interruptible)

    def _current(self) -> IvrMenu:
        menu = self.menus.get(self.menu)
        if menu is None:
            raise LookupError(f"menu {self.menu!r} is not configured")
        return menu
