"""What-if staffing: ``--staff sales=12`` runs the day with 12 agents serving sales.

The configuration names its agents, and most serve several queues, so a head count per
queue is reached by changing who works, never by editing a queue alone:

* fewer agents than the queue has staffed: the staffed members with the highest ids stay
  home, for every queue they serve (the summary names them);
* more: copies of the queue's first staffed member (first in its member list, else the
  lowest id) join, with the same skills, queues, tier and shifts, named ``<id>x<n>``.

Each override is applied in turn, on the plan the previous one left.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from callcenter.core.router import Router
from callcenter.core.spec import Member, QueueSpec, RoutingSpec
from callcenter.traffic.simulation import Shift


class StaffingError(ValueError):
    """An override that cannot be applied (unknown queue, no member to copy)."""


@dataclass(frozen=True, slots=True)
class Plan:
    spec: RoutingSpec
    shifts: Mapping[str, list[Shift]]
    changes: tuple[str, ...] = ()  # what the overrides did, for the summary


def parse_staffing(text: str) -> tuple[str, int]:
    """``sales=12`` -> ``("sales", 12)``."""
    queue, sep, count = text.partition("=")
    if not sep or not queue or not count.isdigit():
        raise StaffingError(f"{text!r}: write QUEUE=AGENTS, e.g. sales=12")
    return queue, int(count)


def members_of(spec: RoutingSpec, queue: str) -> list[str]:
    """The queue's members as the core resolves them (listed, agent-side, by skill), in the
    queue's member order."""
    members = Router(spec).queues[queue].members
    return sorted(members, key=lambda agent: members[agent].order)


def apply_staffing(plan: Plan, overrides: Mapping[str, int]) -> Plan:
    for queue, count in overrides.items():
        plan = _staff(plan, queue, count)
    return plan


def _staff(plan: Plan, queue: str, count: int) -> Plan:
    spec = plan.spec
    if queue not in spec.queues:
        raise StaffingError(f"--staff {queue}={count}: no queue {queue} in the configuration")
    members = members_of(spec, queue)
    staffed = [agent for agent in members if plan.shifts.get(agent)]
    if len(staffed) > count:
        home = sorted(staffed, key=_id_order)[count:]
        shifts = {a: s for a, s in plan.shifts.items() if a not in home}
        change = f"{queue}: {len(staffed)} -> {count} agents ({', '.join(home)} not working)"
        return Plan(spec, shifts, (*plan.changes, change))
    if len(staffed) == count:
        return plan
    if not members:
        raise StaffingError(f"--staff {queue}={count}: queue {queue} has no member to copy")
    template = staffed[0] if staffed else min(members, key=_id_order)
    agents, queues = dict(spec.agents), dict(spec.queues)
    shifts = dict(plan.shifts)
    model = spec.agents[template]
    copies: list[str] = []
    number = 0
    while len(copies) < count - len(staffed):
        number += 1
        name = f"{template}x{number}"
        if name in agents:
            continue
        copies.append(name)
        agents[name] = dataclasses.replace(model, id=name, name=f"{model.name} ({name})")
        shifts[name] = list(plan.shifts.get(template) or _whole_run(plan))
        for queue_name, queue_spec in queues.items():
            queues[queue_name] = _with_copy(queue_spec, template, name)
    change = (
        f"{queue}: {len(staffed)} -> {count} agents (copies of {template}: {', '.join(copies)})"
    )
    new_spec = dataclasses.replace(spec, agents=agents, queues=queues)
    return Plan(new_spec, shifts, (*plan.changes, change))


def _with_copy(queue: QueueSpec, template: str, name: str) -> QueueSpec:
    listed = [member for member in queue.members if member.agent == template]
    if not listed:
        return queue
    copy = Member(name, listed[0].penalty, listed[0].weight)
    return dataclasses.replace(queue, members=(*queue.members, copy))


def _whole_run(plan: Plan) -> list[Shift]:
    starts = [shift.start for shifts in plan.shifts.values() for shift in shifts]
    return [Shift(min(starts, default=0.0), None)]


def _id_order(agent: str) -> tuple[int, str]:
    """1002 before 1010 before 'lead': numeric ids by value."""
    return (int(agent), agent) if agent.isdigit() else (1 << 62, agent)


__all__ = ["Plan", "StaffingError", "apply_staffing", "members_of", "parse_staffing"]
