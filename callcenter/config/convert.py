"""From the validated files to the routing core's `RoutingSpec`.

Only routing concerns cross over: queues, agents and pause reasons. Numbers, menus,
calendars and announcements stay in `Config` for the parts that run before a caller
joins a queue.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from callcenter.core import spec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from callcenter.config.models import Agent, CallbackOffer, Queue
    from callcenter.config.sections import Config

# Used when no pause reason is marked `on_ring_no_answer` (no agent auto-pauses then).
DEFAULT_AUTO_PAUSE_REASON = spec.RoutingSpec().auto_pause_reason


def queue_spec(name: str, queue: Queue, common_dispositions: Mapping[str, str]) -> spec.QueueSpec:
    waiting = queue.announcements
    return spec.QueueSpec(
        name=name,
        strategy=queue.strategy,
        members=tuple(spec.Member(m.agent, m.penalty, m.weight) for m in queue.members),
        members_by_skill=queue.members_by_skill.strip(),
        skill_steps=tuple(spec.SkillStep(s.after, s.require.strip()) for s in queue.skill_steps),
        tier_wait=queue.tier_wait,
        weight=queue.weight,
        ring_timeout=queue.ring_timeout,
        retry=queue.retry,
        wrapup=queue.wrapup,
        max_length=queue.max_length,
        join_empty=frozenset(queue.join_empty),
        leave_empty=frozenset(queue.leave_empty),
        max_wait=queue.max_wait,
        overflow=queue.overflow,
        announcements=spec.Announcements(
            every=waiting.every,
            position=waiting.position,
            expected_wait=waiting.expected_wait,
            periodic_prompts=tuple(waiting.periodic_prompts),
            periodic_every=waiting.periodic_every,
        ),
        service_level=queue.service_level,
        music_class=queue.music_class,
        record=queue.record,
        accept=queue.accept,
        priority_rules=tuple(
            spec.PriorityRule(rule.when.strip(), rule.priority) for rule in queue.priority_rules
        ),
        callback=_callback(queue.callback),
        exit_key=queue.exit_key or "",
        exit_target=queue.exit_target,
        dispositions=frozenset(common_dispositions) | frozenset(queue.dispositions),
        handle_time=queue.handle_time,
    )


def _callback(offer: CallbackOffer | None) -> spec.CallbackOffer | None:
    return spec.CallbackOffer(offer.after, offer.key, offer.ask_number) if offer else None


def agent_spec(agent_id: str, agent: Agent) -> spec.AgentSpec:
    return spec.AgentSpec(
        id=agent_id,
        name=agent.name,
        endpoint=agent.endpoint,
        skills=MappingProxyType(dict(agent.skills)),
        queues=tuple(
            spec.Membership(q.queue, q.priority, q.delay, q.penalty) for q in agent.queues
        ),
        wrapup=agent.wrapup,
        ring_no_answer_limit=agent.ring_no_answer_limit,
    )


def to_routing_spec(config: Config) -> spec.RoutingSpec:
    """The routing core's view of ``config``."""
    auto_pause = next(
        (code for code, reason in config.pause_reasons.items() if reason.on_ring_no_answer),
        DEFAULT_AUTO_PAUSE_REASON,
    )
    return spec.RoutingSpec(
        queues=MappingProxyType(
            {name: queue_spec(name, q, config.dispositions) for name, q in config.queues.items()}
        ),
        agents=MappingProxyType({aid: agent_spec(aid, a) for aid, a in config.agents.items()}),
        pause_reasons=frozenset(config.pause_reasons),
        auto_pause_reason=auto_pause,
    )
