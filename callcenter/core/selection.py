"""Choosing: which agents ring for a caller, and which caller an agent takes next.

Two directions, one rule of eligibility:

* a caller becomes routable (joins, is retried, waits long enough for more
  members): walk the queue's available members in strategy order and take the
  first eligible one (ringall: every eligible one of the best tier; random and
  weighted random: a draw among the eligible of the best tier);
* an agent becomes available: look at the first eligible caller of each of the
  agent's queues and take the best by the agent's queue priority, then caller
  priority, then waiting time weighted by the queue's weight.

After every event no available agent is eligible for a routable caller, so
either direction alone is fair: a caller that arrives finds only agents nobody
older could take, and an agent that frees up finds only callers nobody free
could take.

A member is eligible for a caller when the caller has waited the member's delay,
the member's tier is open (``tier_wait``), and the member's skills meet the
queue's requirement for the caller's waiting time; a caller that asked for one
agent (``Caller.wanted``) has only that agent eligible, until it stops waiting for it.

Rounds: a caller passes over the agents it rang without an answer in its current
round (``Caller.tried``) while any other eligible agent is free, in both
directions; when only tried agents are free, they are chosen again and the
router starts a new round. That is app_queue's ``try_calling()``: within one
round ``ring_one()`` -> ``find_best()`` only takes call attempts not yet made,
and after the round ``queue_exec()`` waits ``retry`` and starts a fresh one.
Passing over costs one step per tried agent in the index walk, never a scan.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from random import Random

from callcenter.core.agent import Agent, MemberInfo
from callcenter.core.line import Caller
from callcenter.core.queue import TIME_TOLERANCE, Queue
from callcenter.core.spec import Strategy

_SPREAD = (Strategy.RINGALL, Strategy.RANDOM, Strategy.WEIGHTED_RANDOM)
_DRAWS = 24
_LOWEST = float("-inf")


@dataclass(frozen=True, slots=True)
class Offer:
    """A caller and the agents to ring for it."""

    queue: Queue
    caller: Caller
    agents: list[Agent]


def eligible(queue: Queue, member: MemberInfo, agent: Agent, caller: Caller, now: float) -> bool:
    if caller.wanted and caller.wanted != agent.id:
        return False
    waited = now - caller.entered + TIME_TOLERANCE
    if waited < member.delay:
        return False
    tier_wait = queue.spec.tier_wait
    if tier_wait > 0 and member.penalty * tier_wait > waited:
        return False
    return queue.requirement(waited)(agent.spec.skills, caller.attributes)


def agents_for(
    queue: Queue, caller: Caller, agents: dict[str, Agent], now: float, rng: Random
) -> list[Agent]:
    """The agents to ring for ``caller`` now (empty: nobody eligible is free).

    Agents tried in this round come only when no other eligible agent is free.
    """
    if caller.wanted:  # one agent only: a look-up, not a walk of the free members
        agent = agents.get(caller.wanted)
        member = queue.members.get(caller.wanted)
        if agent is None or member is None or not agent.available:
            return []
        return [agent] if eligible(queue, member, agent, caller, now) else []
    if caller.tried:
        chosen = _choose(queue, caller, agents, now, rng, skip=caller.tried)
        if chosen:
            return chosen
    return _choose(queue, caller, agents, now, rng, skip=frozenset())


def _choose(
    queue: Queue,
    caller: Caller,
    agents: dict[str, Agent],
    now: float,
    rng: Random,
    skip: AbstractSet[str],
) -> list[Agent]:
    strategy = queue.spec.strategy
    members = queue.members
    if strategy not in _SPREAD:
        for key in queue.available_in_order():
            if key[3] in skip:
                continue
            agent = agents[key[3]]
            if eligible(queue, members[key[3]], agent, caller, now):
                return [agent]
        return []
    available = queue.available
    first = next(
        (
            key
            for key in available
            if key[3] not in skip and eligible(queue, members[key[3]], agents[key[3]], caller, now)
        ),
        None,
    )
    if first is None:
        return []
    tier = first[0]
    low = available.bisect_left((tier, _LOWEST, -1, ""))
    high = available.bisect_left((tier + 1, _LOWEST, -1, ""))
    if strategy is not Strategy.RINGALL:
        drawn = _draw(queue, caller, agents, now, rng, skip, low, high)
        if drawn is not None:
            return [drawn]
    chosen = [
        agents[key[3]]
        for key in available.islice(low, high)
        if key[3] not in skip and eligible(queue, members[key[3]], agents[key[3]], caller, now)
    ]
    if strategy is Strategy.RINGALL or len(chosen) <= 1:
        return chosen
    if strategy is Strategy.RANDOM:
        return [chosen[rng.randrange(len(chosen))]]
    weights = [members[agent.id].weight for agent in chosen]
    return rng.choices(chosen, weights=weights)


def _draw(
    queue: Queue,
    caller: Caller,
    agents: dict[str, Agent],
    now: float,
    rng: Random,
    skip: AbstractSet[str],
    low: int,
    high: int,
) -> Agent | None:
    """A random (or weighted random) eligible member of the tier, by rejection sampling.

    Draw a member uniformly, keep it with probability weight / heaviest weight, and
    only if eligible: exactly uniform (or proportional to weight) over the eligible
    members, at a constant expected cost when most of them are eligible. None after
    _DRAWS misses; the caller then draws from a full scan of the tier.
    """
    available, members = queue.available, queue.members
    weighted = queue.spec.strategy is Strategy.WEIGHTED_RANDOM
    heaviest = queue.heaviest_weight
    for _ in range(_DRAWS):
        agent_id = available[low + rng.randrange(high - low)][3]
        member = members[agent_id]
        if weighted and rng.random() * heaviest >= member.weight:
            continue
        if agent_id not in skip and eligible(queue, member, agents[agent_id], caller, now):
            return agents[agent_id]
    return None


def caller_for(
    agent: Agent, queues: dict[str, Queue], agents: dict[str, Agent], now: float, rng: Random
) -> Offer | None:
    """The caller ``agent`` should take now, across all the agent's queues, and who rings.

    Normally ``agent`` rings. When the caller already rang ``agent`` in this round
    and another eligible agent is free (several agents freed by one event), the
    caller goes to that agent instead: ``agent`` is passed over and looks again.
    """
    best: tuple[Queue, Caller] | None = None
    best_rank: tuple[int, int, float] | None = None
    for member in agent.by_priority:
        if best_rank is not None and member.priority > best_rank[0]:
            break  # queues the agent ranks lower cannot win
        queue = queues[member.queue]
        for caller in queue.line:
            if caller.routable(now) and eligible(queue, member, agent, caller, now):
                rank = (member.priority, -caller.priority, -caller.waited(now) * queue.spec.weight)
                if best_rank is None or rank < best_rank:
                    best, best_rank = (queue, caller), rank
                break  # the first eligible caller is this queue's best
    if best is None:
        return None
    queue, caller = best
    if agent.id in caller.tried:
        return Offer(queue, caller, agents_for(queue, caller, agents, now, rng))
    return Offer(queue, caller, [agent])
