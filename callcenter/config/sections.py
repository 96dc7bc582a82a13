"""The top-level sections of the files, and `Config`: all of them merged and validated.

Every section is a mapping of names to entries. Files may split a section any way they
like (``queues:`` in ``hotline/queues.yaml`` and in ``utility/queues.yaml``); a name may be
defined only once across all files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from callcenter.config.calendars import HolidayCalendar, Hours
from callcenter.config.convert import to_routing_spec
from callcenter.config.errors import ConfigError, render_value
from callcenter.config.flow import Announcement, IvrMenu, Number
from callcenter.config.models import (
    Agent,
    Department,
    Disposition,
    PauseReason,
    Queue,
    Script,
    Skill,
)
from callcenter.config.targets import NAME
from callcenter.config.values import (
    AGENT_ID,
    AGENT_ID_RULE,
    CODE,
    CODE_RULE,
    NAME_RULE,
    SKILL_NAME,
    SKILL_RULE,
)
from callcenter.config.yaml_source import Document, KeyPath

if TYPE_CHECKING:
    from callcenter.core.spec import RoutingSpec


@dataclass(frozen=True, slots=True)
class Section:
    """One top-level key: what an entry looks like and what its names look like."""

    key: str
    noun: str  # one entry, in messages: "queue", "IVR menu"
    model: Any  # the entry's type: a model, or Label for `name: label` sections
    names: re.Pattern[str]
    names_rule: str
    adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapter", TypeAdapter(self.model))


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an entry is defined: which file, and its key path (``("queues", "sales")``)."""

    document: Document
    path: KeyPath

    @property
    def place(self) -> str:
        return self.document.place(self.document.key_mark(self.path))

    def error(self, subpath: KeyPath, message: str, *, key: bool = False,
              offset: int | None = None) -> ConfigError:  # fmt: skip
        """A problem at ``subpath`` of this entry: its key's position, its value's, or a
        character of the value (``offset``)."""
        path = (*self.path, *subpath)
        document = self.document
        if key:
            mark = document.key_mark(path)
        elif offset is not None:
            mark = document.text_mark(path, offset)
        else:
            mark = document.value_mark(path)
        return document.error(path, message, mark=mark)

    def refuse(self, subpath: KeyPath, why: str, *, key: bool = False,
               offset: int | None = None) -> ConfigError:  # fmt: skip
        """``<value as written> is not allowed: <why>`` at ``subpath`` of this entry."""
        path = (*self.path, *subpath)
        shown = render_value(path[-1] if key else self.document.lookup(path))
        return self.error(subpath, f"{shown} is not allowed: {why}", key=key, offset=offset)


@dataclass(slots=True)
class Sources:
    """Where every name is defined, including entries that failed validation (so that a
    reference to a broken queue is not also reported as a reference to a missing one)."""

    declared: dict[str, dict[str, Origin]] = field(
        default_factory=lambda: {key: {} for key in SECTIONS}
    )

    def origin(self, section: str, name: str) -> Origin:
        return self.declared[section][name]


_NUMBER = re.compile(r"\+?[0-9]{2,20}")
SECTIONS: dict[str, Section] = {
    section.key: section
    for section in (
        Section("skills", "skill", Skill, SKILL_NAME, SKILL_RULE),
        Section("pause_reasons", "pause reason", PauseReason, CODE, CODE_RULE),
        Section("dispositions", "disposition", Disposition, CODE, CODE_RULE),
        Section("queues", "queue", Queue, NAME, NAME_RULE),
        Section("agents", "agent", Agent, AGENT_ID, AGENT_ID_RULE),
        Section("hours", "hours calendar", Hours, NAME, NAME_RULE),
        Section("holidays", "holiday calendar", HolidayCalendar, NAME, NAME_RULE),
        Section("ivr", "IVR menu", IvrMenu, NAME, NAME_RULE),
        Section("numbers", "number", Number, _NUMBER,
                "must be the dialed number in digits, e.g. '4008001001' (quote leading zeros)"),
        Section("announcements", "announcement", Announcement, NAME, NAME_RULE),
        Section("scripts", "scripted answer", Script, NAME, NAME_RULE),
        Section("departments", "department", Department, CODE, CODE_RULE),
    )
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Config:
    """A validated configuration: every section by name, every reference checked."""

    skills: Mapping[str, Skill] = field(default_factory=dict)
    pause_reasons: Mapping[str, PauseReason] = field(default_factory=dict)
    dispositions: Mapping[str, Disposition] = field(default_factory=dict)
    queues: Mapping[str, Queue] = field(default_factory=dict)
    agents: Mapping[str, Agent] = field(default_factory=dict)
    hours: Mapping[str, Hours] = field(default_factory=dict)
    holidays: Mapping[str, HolidayCalendar] = field(default_factory=dict)
    ivr: Mapping[str, IvrMenu] = field(default_factory=dict)
    numbers: Mapping[str, Number] = field(default_factory=dict)
    announcements: Mapping[str, Announcement] = field(default_factory=dict)
    scripts: Mapping[str, Script] = field(default_factory=dict)
    departments: Mapping[str, Department] = field(default_factory=dict)

    def routing_spec(self) -> RoutingSpec:
        """What the routing core needs of this configuration."""
        return to_routing_spec(self)

    def summary(self) -> str:
        """``9 queues, 24 agents, 6 IVR menus, 8 numbers``."""
        counts = ((self.queues, "queue"), (self.agents, "agent"), (self.ivr, "IVR menu"),
                  (self.numbers, "number"))  # fmt: skip
        return ", ".join(f"{len(items)} {noun}{'s' * (len(items) != 1)}" for items, noun in counts)
