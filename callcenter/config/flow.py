"""How a call enters: dialed numbers, IVR menus, and announcements played on the way.

Prompts are sound names without a language: Asterisk looks ``hotline/welcome`` up under
the channel's language (``sounds/zh/hotline/welcome.wav``, ``sounds/en/...``), so once the
caller has chosen a language every prompt follows it and one menu serves both.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from callcenter.config.models import Entry
from callcenter.config.values import (
    AttributeName,
    Campaign,
    Count,
    Dtmf,
    Flag,
    Label,
    Language,
    Moment,
    Name,
    PromptName,
    Scalar,
    Seconds,
    TargetText,
    at,
    not_allowed,
)
from callcenter.core.spec import Target, TargetKind


class LanguageChoice(Entry):
    prompt: PromptName
    """Asks for the language, e.g. hotline/choose-language (普通话请按1, for English press 2)."""
    keys: dict[Dtmf, Language] = Field(min_length=1)
    """Phone key: language, e.g. {1: zh, 2: en}."""
    default: Language
    """The language when the caller presses nothing."""


class IvrMenu(Entry):
    label: Label | None = None
    """What the menu is for, e.g. 热线主菜单 Hotline main menu."""
    announcement: Name | None = None
    """An announcement played before the menu while it is switched on (outage notices)."""
    language: LanguageChoice | None = None
    """Ask for the language first; the choice sets caller.lang and the prompts' language."""
    prompts: list[PromptName] = Field(min_length=1)
    """The menu prompts, played in turn."""
    options: dict[Dtmf, TargetText] = Field(min_length=1)
    """Phone key: target, e.g. {1: queue:sales, 2: ivr:hotline-support}."""
    timeout: Seconds = 5.0
    """Seconds to wait for a key after the prompts."""
    retries: Count = 2
    """How many times the menu is replayed after a wrong key or no key."""
    invalid_prompt: PromptName = "option-is-invalid"
    """Played after a key with no option."""
    timeout_prompt: PromptName | None = None
    """Played when no key was pressed (default: the menu is just replayed)."""
    after_retries: TargetText = Target(TargetKind.HANGUP)
    """Where callers go after the last retry, e.g. queue:service-desk."""


class Number(Entry):
    label: Label | None = None
    """What the number is, e.g. 央视一套晚间广告 CCTV-1 evening spot."""
    target: TargetText
    """Where calls to the number go, e.g. ivr:hotline-main."""
    campaign: Campaign | None = None
    """The advertising campaign the number belongs to, for per-campaign reports."""
    hours: Name | None = None
    """The hours calendar; outside it callers go to `closed`. Left out: always open."""
    closed: TargetText | None = None
    """Where callers go outside `hours`, e.g. voicemail:hotline."""
    announcement: Name | None = None
    """An announcement played first while it is switched on (outage notices)."""
    language: Language | None = None
    """The prompts' language before any choice, e.g. zh."""
    attributes: dict[AttributeName, Scalar] = Field(default_factory=dict)
    """Caller attributes set for every call to this number, usable as caller.<name> in rules."""

    @model_validator(mode="after")
    def _closed_with_hours(self) -> Number:
        if self.hours is not None and self.closed is None:
            raise at(("hours",), not_allowed("must come with closed: where callers go when closed"))
        return self


class Announcement(Entry):
    label: Label | None = None
    """What the announcement is, e.g. 停电应急公告 Outage notice."""
    prompts: list[PromptName] = Field(min_length=1)
    """The recordings played, in turn."""
    active: Flag = False
    """Switched on: played before the menus and numbers that name it (between start and end
    when given). `announcement:NAME` targets play it regardless."""
    start: Moment | None = None
    """When it starts playing, with the UTC offset, e.g. 2026-07-01 08:00:00+08:00."""
    end: Moment | None = None
    """When it stops playing (the published end of the outage)."""
    notice: Label | None = None
    """The published notice, shown to agents so they give the same answer (统一口径)."""

    @model_validator(mode="after")
    def _end_after_start(self) -> Announcement:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise at(("end",), not_allowed("must be after start"))
        return self

    def playing_at(self, moment: dt.datetime) -> bool:
        """Whether callers hear it before a menu or number at ``moment`` (aware datetime)."""
        started = self.start is None or self.start <= moment
        return self.active and started and (self.end is None or moment < self.end)
