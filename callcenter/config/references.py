"""Checks across entries: every name an entry uses is defined, and nothing is defined twice.

Runs on the entries that passed validation, but looks names up among *all* entries
defined (`Sources.declared`), so a queue with a typo in its ring timeout is not also
reported as missing by every agent that serves it.
"""

from __future__ import annotations

import difflib
from typing import Any

from callcenter.config.errors import ConfigError
from callcenter.config.expressions import compile_checked, name_offsets
from callcenter.config.models import Agent, Queue
from callcenter.config.sections import SECTIONS, Config, Origin, Sources
from callcenter.config.targets import REFERENCED_SECTION
from callcenter.config.yaml_source import KeyPath
from callcenter.core.spec import Target


def check_references(config: Config, sources: Sources) -> list[ConfigError]:
    """Every problem between entries of ``config``, placed by ``sources``."""
    checker = _Checker(config, sources)
    for name, queue in config.queues.items():
        checker.queue(sources.origin("queues", name), queue)
    for agent_id, agent in config.agents.items():
        checker.agent(sources.origin("agents", agent_id), agent)
    for name, hours in config.hours.items():
        origin = sources.origin("hours", name)
        for index, calendar in enumerate(hours.holidays):
            checker.name(origin, ("holidays", index), "holidays", calendar)
    for name, menu in config.ivr.items():
        origin = sources.origin("ivr", name)
        checker.optional_name(origin, ("announcement",), "announcements", menu.announcement)
        for key, target in menu.options.items():
            checker.target(origin, ("options", key), target)
        checker.target(origin, ("after_retries",), menu.after_retries)
    for number, entry in config.numbers.items():
        origin = sources.origin("numbers", number)
        checker.target(origin, ("target",), entry.target)
        checker.target(origin, ("closed",), entry.closed)
        checker.optional_name(origin, ("hours",), "hours", entry.hours)
        checker.optional_name(origin, ("announcement",), "announcements", entry.announcement)
    for name, script in config.scripts.items():
        origin = sources.origin("scripts", name)
        for index, queue_name in enumerate(script.queues):
            checker.name(origin, ("queues", index), "queues", queue_name)
    checker.shared_endpoints()
    checker.ring_no_answer_reason()
    checker.queue_dispositions()
    return checker.errors


class _Checker:
    def __init__(self, config: Config, sources: Sources) -> None:
        self.config = config
        self.sources = sources
        self.errors: list[ConfigError] = []

    def _undefined(self, section: str, name: str) -> str | None:
        """None if ``name`` is defined in ``section``; otherwise what to tell the admin."""
        declared = self.sources.declared[section]
        if name in declared:
            return None
        close = difflib.get_close_matches(name, list(declared), n=1)
        hint = f'did you mean "{close[0]}"?' if close else f"define it under {section}:"
        return f'there is no {SECTIONS[section].noun} "{name}"; {hint}'

    def name(self, origin: Origin, subpath: KeyPath, section: str, name: str) -> None:
        problem = self._undefined(section, name)
        if problem:
            self.errors.append(origin.refuse(subpath, problem))

    def optional_name(self, origin: Origin, subpath: KeyPath, section: str,
                      name: str | None) -> None:  # fmt: skip
        if name is not None:
            self.name(origin, subpath, section, name)

    def target(self, origin: Origin, subpath: KeyPath, target: Target | None) -> None:
        section = REFERENCED_SECTION.get(target.kind) if target is not None else None
        if target is not None and section is not None:
            self.name(origin, subpath, section, target.value)

    def expression(self, origin: Origin, subpath: KeyPath, source: str) -> None:
        """Bare names in a requirement are skills, and must be declared."""
        offsets = name_offsets(source)
        for skill in sorted(compile_checked(source).skills, key=lambda s: offsets.get(s, 0)):
            problem = self._undefined("skills", skill)
            if problem:
                self.errors.append(origin.refuse(subpath, problem, offset=offsets.get(skill, 0)))

    def _listed_twice(self, origin: Origin, subpath: KeyPath, first: dict[str, int],
                      name: str, index: int) -> None:  # fmt: skip
        if name in first:
            why = f"{name} is listed already, as {subpath[0]}[{first[name]}]"
            self.errors.append(origin.refuse(subpath, why))
        first.setdefault(name, index)

    def _item(self, origin: Origin, listing: str, index: int, key: str) -> KeyPath:
        """The path to a list item's name: the item itself when written as shorthand."""
        item: Any = origin.document.lookup((*origin.path, listing, index))
        return (listing, index, key) if isinstance(item, dict) else (listing, index)

    def queue(self, origin: Origin, queue: Queue) -> None:
        seen: dict[str, int] = {}
        for index, member in enumerate(queue.members):
            subpath = self._item(origin, "members", index, "agent")
            self.name(origin, subpath, "agents", member.agent)
            self._listed_twice(origin, subpath, seen, member.agent, index)
        self.expression(origin, ("members_by_skill",), queue.members_by_skill)
        for index, step in enumerate(queue.skill_steps):
            self.expression(origin, ("skill_steps", index, "require"), step.require)
        self.target(origin, ("overflow",), queue.overflow)
        self.target(origin, ("exit_target",), queue.exit_target)

    def agent(self, origin: Origin, agent: Agent) -> None:
        for skill in agent.skills:
            problem = self._undefined("skills", skill)
            if problem:
                self.errors.append(origin.refuse(("skills", skill), problem, key=True))
        seen: dict[str, int] = {}
        for index, membership in enumerate(agent.queues):
            subpath = self._item(origin, "queues", index, "queue")
            self.name(origin, subpath, "queues", membership.queue)
            self._listed_twice(origin, subpath, seen, membership.queue, index)

    def shared_endpoints(self) -> None:
        """Two agents on one phone would both be offered the same ringing call."""
        first: dict[str, str] = {}
        for agent_id, agent in self.config.agents.items():
            other = first.setdefault(agent.endpoint.lower(), agent_id)
            if other != agent_id:
                place = self.sources.origin("agents", other).place
                why = f"agent {other} has the same endpoint (at {place})"
                origin = self.sources.origin("agents", agent_id)
                self.errors.append(origin.refuse(("endpoint",), why))

    def ring_no_answer_reason(self) -> None:
        """Agents who let offers ring out are paused with one, and only one, reason."""
        flagged = [code for code, r in self.config.pause_reasons.items() if r.on_ring_no_answer]
        for code in flagged[1:]:
            place = self.sources.origin("pause_reasons", flagged[0]).place
            why = f"only one pause reason may be used for it; {flagged[0]} is (at {place})"
            origin = self.sources.origin("pause_reasons", code)
            self.errors.append(origin.refuse(("on_ring_no_answer",), why))
        pausing = [a for a, agent in self.config.agents.items() if agent.ring_no_answer_limit > 0]
        if flagged or not pausing:
            return
        message = (
            "no pause reason has on_ring_no_answer: true; the engine needs one to pause agents "
            "who let calls ring out (or give every agent ring_no_answer_limit: 0)"
        )
        reasons = self.sources.declared["pause_reasons"]
        if reasons:
            document = next(iter(reasons.values())).document
            mark = document.key_mark(("pause_reasons",))
            self.errors.append(document.error(("pause_reasons",), message, mark=mark))
        else:
            origin = self.sources.origin("agents", pausing[0])
            self.errors.append(origin.error((), message, key=True))

    def queue_dispositions(self) -> None:
        common = self.sources.declared["dispositions"]
        for name, queue in self.config.queues.items():
            for code in queue.dispositions:
                if code in common:
                    why = f"disposition '{code}' is defined twice: here and at {common[code].place}"
                    origin = self.sources.origin("queues", name)
                    self.errors.append(origin.error(("dispositions", code), why, key=True))
