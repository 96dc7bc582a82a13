"""Who is a member of which queue: the configuration's three sources merged.

An agent is a member of a queue when the queue lists it (with a penalty and a
weight), when the agent lists the queue (with its own priority for that queue,
a delay and a penalty), or when its skills match the queue's
``members_by_skill``. A queue-side entry wins the penalty; the agent side
always gives priority and delay.
"""

from __future__ import annotations

from typing import Any

from callcenter.core.agent import Agent, MemberInfo
from callcenter.core.expression import compile_expression
from callcenter.core.queue import Queue
from callcenter.core.spec import RoutingSpec

Members = dict[str, dict[str, MemberInfo]]  # queue -> agent -> membership


def resolve_members(spec: RoutingSpec) -> Members:
    """Every queue's members, in the queue's member order (queue side first)."""
    merged: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in spec.queues}
    for name, queue_spec in spec.queues.items():
        for member in queue_spec.members:
            merged[name][member.agent] = {"penalty": member.penalty, "weight": member.weight}
        if queue_spec.members_by_skill:
            test = compile_expression(queue_spec.members_by_skill)
            for agent_spec in spec.agents.values():
                if test(agent_spec.skills, {}):
                    merged[name].setdefault(agent_spec.id, {})
    for agent_spec in spec.agents.values():
        for membership in agent_spec.queues:
            entry = merged[membership.queue].setdefault(agent_spec.id, {})
            entry.update(priority=membership.priority, delay=membership.delay)
            entry.setdefault("penalty", membership.penalty)
    members: Members = {}
    for name, entries in merged.items():
        known = [(a, e) for a, e in entries.items() if a in spec.agents]
        id_order = {a: i for i, a in enumerate(sorted(a for a, _ in known))}
        members[name] = {
            agent_id: MemberInfo(
                queue=name,
                agent=agent_id,
                penalty=entry.get("penalty", 0),
                weight=entry.get("weight", 1.0),
                priority=entry.get("priority", 1),
                delay=entry.get("delay", 0.0),
                order=order,
                id_order=id_order[agent_id],
            )
            for order, (agent_id, entry) in enumerate(known)
        }
    return members


def first_choices(spec: RoutingSpec) -> dict[str, str]:
    """Each agent's first-choice queue (``Agent.by_priority[0]``), for agents in a queue."""
    best: dict[str, MemberInfo] = {}
    for members in resolve_members(spec).values():
        for agent_id, info in members.items():
            if agent_id not in best or info.priority < best[agent_id].priority:
                best[agent_id] = info
    return {agent_id: info.queue for agent_id, info in best.items()}


def apply_members(spec: RoutingSpec, agents: dict[str, Agent], queues: dict[str, Queue]) -> None:
    """Give agents and queues the configuration's memberships.

    Each queue gets its members, a fresh index of the available ones and fresh
    condition counts; each agent its memberships, its first-choice queue first.
    Agents no longer configured are left in no queue.
    """
    for agent in agents.values():
        agent.memberships = {}
    for name, members in resolve_members(spec).items():
        queue = queues[name]
        queue.remove_all_available()
        queue.set_members(members)
        queue.conditions.clear()
        for agent_id, info in members.items():
            agents[agent_id].memberships[name] = info
    for agent in agents.values():
        agent.by_priority = tuple(sorted(agent.memberships.values(), key=lambda m: m.priority))
        for info in agent.by_priority:
            queue = queues[info.queue]
            queue.conditions[agent.condition] += 1
            if agent.available:
                queue.add_available(agent)
