"""A traffic scenario: one YAML file saying who calls when, and who answers, for a what-if run.

The file names the configuration it runs against (``config:``), the simulated day, the
callers (Poisson arrivals per dialed number or per queue, with a time-of-day profile; IVR
choices; patience; callback acceptance; language and flag shares) and the agents (shifts,
pauses, answer delay, talk and wrap-up times, missed offers). README.md, "What-if runs",
documents every key; ``scenarios/hotline-morning.yaml`` is a commented example.

It is read like the configuration itself (`callcenter.config.yaml_source`): unknown keys
are refused, and every problem is reported as ``file:line:column: key.path: message``, all
at once, in `ConfigErrors`. References into the configuration (dialed numbers, menus and
their keys, queues, agents, pause reasons) are checked by `check_against`.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from callcenter.config import Config, ConfigErrors, default_config_path
from callcenter.config.errors import ConfigError
from callcenter.config.explain import MISSING, Anchor, explain
from callcenter.config.models import Entry
from callcenter.config.sections import Origin
from callcenter.config.values import (
    AgentId,
    AttributeName,
    Dtmf,
    Language,
    Name,
    at,
    not_allowed,
)
from callcenter.config.yaml_source import Document, KeyPath, read_document
from callcenter.core.spec import TargetKind
from callcenter.traffic.distributions import DurationText, Exponential, Fixed

DAY = 86_400.0
_CLOCK = re.compile(r"([01]?[0-9]|2[0-4]):([0-5][0-9])")


def _clock(value: Any) -> float:
    """``"08:30"`` -> seconds after midnight (``24:00`` is midnight at the end of the day)."""
    match = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or (int(match[1]) == 24 and match[2] != "00"):
        raise not_allowed("must be a time of day like 08:30 (00:00 to 24:00)")
    return int(match[1]) * 3600.0 + int(match[2]) * 60.0


def _number(allowed: str, *, high: float | None = None, above: bool = False) -> BeforeValidator:
    def check(value: Any) -> Any:
        fine = isinstance(value, int | float) and not isinstance(value, bool)
        if not fine or not math.isfinite(value) or value < 0 or (above and value == 0):
            raise not_allowed(allowed)
        if high is not None and value > high:
            raise not_allowed(allowed)
        return float(value)

    return BeforeValidator(check)


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise not_allowed("must be a whole number, e.g. 1")
    return value


def _profile(allowed: str) -> PlainValidator:
    """One figure for the whole day, or ``{time: figure}`` from each time on: as sorted
    ``(seconds after midnight, figure)`` pairs (one figure: from midnight)."""

    def figure(value: Any, path: KeyPath) -> float:
        fine = isinstance(value, int | float) and not isinstance(value, bool)
        if not fine or not math.isfinite(value) or value < 0:
            raise at(path, not_allowed(allowed))
        return float(value)

    def check(value: Any) -> tuple[tuple[float, float], ...]:
        if isinstance(value, tuple):
            return value
        if not isinstance(value, dict):
            return ((0.0, figure(value, ())),)
        if not value:
            raise not_allowed(f"{allowed}, or a mapping of times to such figures")
        steps = {}
        for key, item in value.items():
            try:
                steps[_clock(key)] = figure(item, (key,))
            except PydanticCustomError as exc:
                if exc.type == "not_allowed" and "at" in (exc.context or {}):
                    raise
                raise at((key, "[key]"), exc) from None
        return tuple(sorted(steps.items()))

    return PlainValidator(check)


ClockTime = Annotated[float, PlainValidator(_clock)]
Profile = tuple[tuple[float, float], ...]
Share = Annotated[float, _number("must be a share from 0 to 1, e.g. 0.25", high=1.0)]
Volume = Annotated[float, _number("must be a number of calls, 0 or more")]
Minutes = Annotated[float, _number("must be a number of minutes greater than 0", above=True)]
Hours = Annotated[float, _number("must be a number of hours greater than 0", above=True)]
Seed = Annotated[int, PlainValidator(_seed)]
# Written bare, 4008201001 is a YAML number: taken as the text it was written as.
DialedNumber = Annotated[
    str, BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
]


class Day(Entry):
    start: ClockTime = 8 * 3600.0
    """When the simulated day starts, e.g. 08:00 (UTC, as in `callcenter report`)."""
    end: ClockTime | None = None
    """When callers stop arriving, e.g. 12:00; those still in line are served until they leave."""
    hours: Hours | None = None
    """Instead of end: how many hours callers arrive (may exceed 24 for long statistical runs)."""
    interval: Minutes = 30.0
    """Minutes per report row."""

    @model_validator(mode="after")
    def _one_end(self) -> Day:
        if (self.end is None) == (self.hours is None):
            raise at(("end",), not_allowed("must come alone: give either end or hours"))
        if self.end is not None and self.end <= self.start:
            raise at(("end",), not_allowed("must be after start"))
        return self

    @property
    def length(self) -> float:
        """Seconds during which callers arrive."""
        if self.hours is not None:
            return self.hours * 3600.0
        return (self.end or 0.0) - self.start


class Arrivals(Entry):
    number: DialedNumber = ""
    """The dialed number (from the configuration's numbers) callers ring: they follow its
    target, IVR menus included."""
    queue: Name = ""
    """Or: the queue callers join directly (transfers, a dialplan the simulation skips)."""
    numbers: list[DialedNumber] = Field(default_factory=list)
    """With queue: the dialed numbers recorded for these calls in the store (one at random)."""
    per_hour: (
        Annotated[Profile, _profile("must be a number of calls per hour, 0 or more")] | None
    ) = None
    """Calls per hour: one figure for the whole day, or {time: rate} from each time on
    (no calls before the first time), e.g. {"08:00": 60, "09:00": 120}."""
    daily: Volume | None = None
    """Instead of per_hour: the calls expected over the day (per 24 hours in longer runs),
    spread by shape."""
    shape: Annotated[Profile, _profile("must be a relative weight, 0 or more")] | None = None
    """With daily: relative weights from each time on, e.g. {"08:00": 1, "09:00": 2}
    (left out: flat)."""

    @model_validator(mode="after")
    def _one_each(self) -> Arrivals:
        if bool(self.number) == bool(self.queue):
            raise at(("number",), not_allowed("must come alone: give either number or queue"))
        if self.numbers and not self.queue:
            raise at(
                ("numbers",),
                not_allowed("must come with queue: a dialed number's calls are its own"),
            )
        if (self.per_hour is None) == (self.daily is None):
            raise at(("per_hour",), not_allowed("must come alone: give either per_hour or daily"))
        if self.shape is not None and self.daily is None:
            raise at(("shape",), not_allowed("must come with daily: per_hour is its own shape"))
        return self

    @property
    def source(self) -> str:
        return self.number or self.queue


class Callers(Entry):
    patience: DurationText | None = None
    """How long a caller waits in queue before hanging up, e.g. {exponential: 240};
    left out: callers never give up."""
    callback_acceptance: Share = 0.0
    """Share of callers offered a callback who take it."""
    languages: dict[Language, Share] = Field(default_factory=dict)
    """caller.lang shares, e.g. {zh: 0.8, en: 0.2}; also the key pressed at a language menu."""
    flags: dict[AttributeName, Share] = Field(default_factory=dict)
    """caller.NAME is true for this share of callers, e.g. {vip: 0.05}."""

    @model_validator(mode="after")
    def _languages_add_up(self) -> Callers:
        if self.languages and abs(sum(self.languages.values()) - 1.0) > 1e-6:
            raise at(("languages",), not_allowed("must be shares adding up to 1"))
        return self


class MenuChoices(Entry):
    choices: dict[Dtmf, Share] = Field(min_length=1)
    """Key: share of callers pressing it, e.g. {1: 0.5, 2: 0.3}; the rest press nothing valid
    and go to the menu's after_retries target."""
    time: DurationText = Fixed(0.0)
    """Seconds from entering the menu to the choice (prompts, hesitation)."""

    @model_validator(mode="after")
    def _at_most_one(self) -> MenuChoices:
        if sum(self.choices.values()) > 1.0 + 1e-9:
            raise at(("choices",), not_allowed("must be shares adding up to 1 at most"))
        return self


class Shift(Entry):
    agents: list[AgentId] = Field(min_length=1)
    """Agent ids from the configuration, e.g. [1001, 1002]."""
    start: ClockTime
    """Log in, e.g. 08:00 (every day of the run)."""
    end: ClockTime
    """Log out (after the call in progress), e.g. 12:00; before start: the next day."""


class Pause(Entry):
    agents: list[AgentId] = Field(min_length=1)
    """Agent ids from the configuration."""
    at: ClockTime
    """When the pause is asked for (taken after the call in progress), e.g. 10:00."""
    minutes: Minutes
    """How long the pause lasts once taken."""
    reason: Name
    """A pause reason of the configuration, e.g. break."""


class Agents(Entry):
    talk_time: DurationText
    """Seconds connected to the caller, e.g. {lognormal: {mean: 180, sd: 90}}."""
    talk_time_by_queue: dict[Name, DurationText] = Field(default_factory=dict)
    """Per queue, instead of talk_time, e.g. {complaints: {exponential: 420}}."""
    answer_delay: DurationText = Fixed(3.0)
    """Seconds a phone rings before the agent answers (past the queue's ring_timeout: missed)."""
    no_answer: Share = 0.0
    """Share of offers the agent lets ring out."""
    wrapup: DurationText | None = None
    """When agents end wrap-up, at most the configured wrap-up; left out: all of it."""
    auto_pause_return: DurationText = Exponential(120.0)
    """After a pause for missed offers (ring_no_answer_limit), when the agent comes back."""
    shifts: list[Shift] = Field(default_factory=list)
    """Who is logged in when; left out: every agent of the configuration, all the run."""
    pauses: list[Pause] = Field(default_factory=list)
    """Breaks, training, ... during shifts."""


class Scenario(Entry):
    config: str | None = None
    """The configuration directory, relative to this file (default: $CALLCENTER_CONFIG
    or queues/ in the current directory)."""
    seed: Seed = 1
    """Same file and seed: same callers, same choices, same results."""
    day: Day
    """The simulated day."""
    arrivals: list[Arrivals] = Field(min_length=1)
    """Who calls: one entry per dialed number (or queue)."""
    callers: Callers = Callers()
    """How callers behave."""
    ivr: dict[Name, MenuChoices] = Field(default_factory=dict)
    """Per IVR menu of the configuration, the keys callers press."""
    agents: Agents
    """How agents work."""


def load_scenario(path: str | os.PathLike[str]) -> tuple[Scenario, Document]:
    """Read and validate ``path``; `ConfigErrors` lists every problem with its position."""
    file = Path(path)
    document, errors = read_document(file, str(file))
    if document is None or errors:
        raise ConfigErrors(errors)
    if not isinstance(document.data, dict):
        raise ConfigErrors([document.error((), "must be a mapping with day, arrivals, agents")])
    try:
        return Scenario.model_validate(document.data), document
    except ValidationError as exc:
        raise ConfigErrors(_placed(document, exc)) from None


def config_path(scenario: Scenario, scenario_file: str | os.PathLike[str]) -> Path:
    """The configuration the scenario names (relative to its file), else the default one."""
    if scenario.config is None:
        return Path(default_config_path())
    return Path(scenario_file).parent / scenario.config


def _placed(document: Document, exc: ValidationError) -> list[ConfigError]:
    origin = Origin(document, ())

    def lookup(loc: KeyPath) -> Any:
        return document.lookup(loc) if document.has(loc) else MISSING

    errors = []
    for detail in exc.errors():
        problem = explain(detail, Scenario, lookup)
        if any(problem.path[:end] in document.refused for end in range(len(problem.path) + 1)):
            continue  # refused while reading (a YAML tag): said already
        if problem.anchor is Anchor.MAPPING:
            mark = document.key_mark(problem.path[:-1])
            errors.append(document.error(problem.path, problem.message, mark=mark))
        else:
            key = problem.anchor is Anchor.KEY
            errors.append(origin.error(problem.path, problem.message, key=key,
                                       offset=problem.offset))  # fmt: skip
    return errors


def check_against(scenario: Scenario, document: Document, config: Config) -> list[ConfigError]:
    """Every name the scenario uses that the configuration does not define."""
    errors: list[ConfigError] = []

    def unknown(path: KeyPath, what: str, known: Any) -> None:
        names = ", ".join(sorted(str(name) for name in known)[:8]) or "none"
        name = path[-1] if what.endswith("key") else document.lookup(path)
        message = f"no {what} {name!s} in the configuration (it has: {names})"
        mark = document.key_mark(path) if what.endswith("key") else None
        errors.append(document.error(path, message, mark=mark))

    for index, arrival in enumerate(scenario.arrivals):
        if arrival.number and arrival.number not in config.numbers:
            unknown(("arrivals", index, "number"), "dialed number", config.numbers)
        if arrival.queue and arrival.queue not in config.queues:
            unknown(("arrivals", index, "queue"), "queue", config.queues)
        for k, number in enumerate(arrival.numbers):
            if number not in config.numbers:
                unknown(("arrivals", index, "numbers", k), "dialed number", config.numbers)
    for name, menu in scenario.ivr.items():
        found = config.ivr.get(name)
        if found is None:
            unknown(("ivr", name), "IVR menu", config.ivr)
            continue
        for key in menu.choices:
            if key not in found.options:
                unknown(("ivr", name, "choices", key), f"option of menu {name} for the key",
                        found.options)  # fmt: skip
    for name in sorted(menus_reached(config, scenario) - set(scenario.ivr)):
        message = (f"callers reach the IVR menu {name}: say which keys they press "
                   f"under ivr.{name}.choices")  # fmt: skip
        errors.append(document.error(("ivr",), message, mark=document.key_mark(("ivr",))))
    for name in scenario.agents.talk_time_by_queue:
        if name not in config.queues:
            unknown(("agents", "talk_time_by_queue", name), "queue", config.queues)
    for kind in ("shifts", "pauses"):
        for index, entry in enumerate(getattr(scenario.agents, kind)):
            for k, agent in enumerate(entry.agents):
                if agent not in config.agents:
                    unknown(("agents", kind, index, "agents", k), "agent", config.agents)
    for index, pause in enumerate(scenario.agents.pauses):
        if pause.reason not in config.pause_reasons:
            unknown(("agents", "pauses", index, "reason"), "pause reason", config.pause_reasons)
    return errors


def menus_reached(config: Config, scenario: Scenario) -> set[str]:
    """IVR menus the scenario's callers can reach (a menu without choices sends them all on)."""
    seen: set[str] = set()
    todo = [
        config.numbers[a.number].target for a in scenario.arrivals if a.number in config.numbers
    ]
    while todo:
        target = todo.pop()
        if target.kind is TargetKind.IVR and target.value not in seen:
            seen.add(target.value)
            menu = config.ivr.get(target.value)
            if menu is not None:
                todo.extend([*menu.options.values(), menu.after_retries])
    return seen
