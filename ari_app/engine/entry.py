"""Where a caller goes on arrival, and how a caller enters a queue: pure functions.

The dialplan's AGI lookups leave what they found in CC_* channel variables and pass
them on as ``Stasis(callcenter,inbound,${EXTEN},CC_QUEUE=${CC_QUEUE},...)`` arguments
(asterisk-conf/extensions.conf; an older dialplan without them: the engine reads the
variables); the engine decides here, on its own clock (``moment``, from the engine's
``now``), never the wall clock:

* ``CC_QUEUE`` set: the dialplan already chose the queue; the caller joins it.
* otherwise the dialed number (``numbers:``): its ``target`` while its ``hours`` say
  open (holidays and make-up workdays included), its ``closed`` target otherwise; its
  ``announcement`` is heard first while switched on (an outage notice).

The executor does the reading and the sending; the IVR (ivr.py) runs menus and
announcements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from callcenter.config import Config, is_open
from callcenter.core.expression import Value
from callcenter.core.spec import Target, TargetKind

VARIABLES = ("CC_QUEUE", "CC_PRIORITY", "CC_VIP", "CC_LANG")
"""The channel variables read on arrival (a missing one is a 404, skipped)."""


def passed_variables(args: Sequence[str]) -> dict[str, str] | None:
    """The ``VARIABLES`` the dialplan passed as ``NAME=value`` Stasis arguments after the
    dialed number (``Stasis(callcenter,inbound,${EXTEN},CC_QUEUE=${CC_QUEUE},...)``,
    asterisk-conf/extensions.conf), the set ones only; None when it passed none (an
    older dialplan: the engine reads them with one GET each). Four requests fewer per
    call (bench/load.py); other arguments are ignored."""
    passed: dict[str, str] | None = None
    for arg in args:
        name, equals, value = arg.partition("=")
        if equals and name in VARIABLES:
            passed = {} if passed is None else passed
            if value:
                passed[name] = value
    return passed


VIP_PRIORITY = 10
"""A VIP's priority when the dialplan gave none (agi_scripts/enqueue.py's default)."""
MAX_PRIORITY = 1000


@dataclass(frozen=True, slots=True)
class Entry:
    queue: str
    priority: int = 0
    attributes: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Arrival:
    """What a caller who just arrived hears and where it goes."""

    target: Target | None
    """None: the number is not configured; the engine's fallback serves the caller."""
    open: bool = True
    lang: str | None = None
    notice: tuple[str, ...] = ()
    """Prompts of the number's announcement, heard first (empty when switched off)."""
    attributes: Mapping[str, Value] = field(default_factory=dict)
    """Caller attributes for the queue: the number's, then vip and lang."""
    priority: int = 0


def _flag(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes")


def _priority(text: str | None) -> int | None:
    try:
        return max(0, min(MAX_PRIORITY, int(text or "")))
    except ValueError:
        return None


def open_at(config: Config, hours: str | None, moment: dt.datetime) -> bool:
    """Whether the hours calendar ``hours`` says open at ``moment``; no calendar: open."""
    calendar = config.hours.get(hours or "")
    return calendar is None or is_open(calendar, config.holidays, moment)


def _caller(
    config: Config, exten: str, variables: Mapping[str, str]
) -> tuple[str | None, dict[str, Value], int]:
    """The caller's language, attributes and priority from the number and CC_* variables."""
    number = config.numbers.get(exten)
    lang = variables.get("CC_LANG") or (number.language if number is not None else None)
    base: dict[str, Value] = dict(number.attributes) if number is not None else {}
    vip = _flag(variables.get("CC_VIP")) or base.get("vip") is True
    priority = _priority(variables.get("CC_PRIORITY"))
    if priority is None:
        priority = VIP_PRIORITY if vip else 0
    attributes: dict[str, Value] = {**base, "vip": vip}
    if lang:
        attributes["lang"] = lang
    return lang, attributes, priority


def arrival_for(
    config: Config, exten: str, variables: Mapping[str, str], moment: dt.datetime
) -> Arrival:
    """Where a caller to ``exten`` goes at ``moment`` (aware), given its CC_* variables."""
    lang, attributes, priority = _caller(config, exten, variables)
    queue = variables.get("CC_QUEUE")
    if queue:
        return Arrival(Target(TargetKind.QUEUE, queue), True, lang, (), attributes, priority)
    number = config.numbers.get(exten)
    if number is None:
        return Arrival(None)
    opened = number.hours is None or open_at(config, number.hours, moment)
    target = number.target if opened else (number.closed or Target(TargetKind.HANGUP))
    announcement = config.announcements.get(number.announcement or "")
    playing = announcement is not None and announcement.playing_at(moment)
    notice = tuple(announcement.prompts) if announcement is not None and playing else ()
    return Arrival(target, opened, lang, notice, attributes, priority)


def entry_for(config: Config, exten: str, variables: Mapping[str, str]) -> Entry | None:
    """The queue a caller is in by its CC_* variables (restart recovery), or the dialed
    number's queue when the number leads straight to one; None otherwise."""
    number = config.numbers.get(exten)
    queue = variables.get("CC_QUEUE")
    if not queue and number is not None and number.target.kind is TargetKind.QUEUE:
        queue = number.target.value
    if not queue:
        return None
    _lang, attributes, priority = _caller(config, exten, variables)
    return Entry(queue, priority, attributes)
