"""From validated entries to the routing core's spec: defaults agree, every field carries over."""

from __future__ import annotations

from callcenter.config import Agent, Config, Queue
from callcenter.config.convert import agent_spec, queue_spec, to_routing_spec
from callcenter.config.models import PauseReason
from callcenter.core.spec import (
    AgentSpec,
    Announcements,
    CallbackOffer,
    EmptyCondition,
    Member,
    Membership,
    PriorityRule,
    QueueSpec,
    SkillStep,
    Strategy,
    Target,
    TargetKind,
)


def test_a_queue_with_no_keys_is_the_cores_default_queue() -> None:
    assert queue_spec("sales", Queue(), {}) == QueueSpec("sales")


def test_an_agent_with_only_the_required_keys_is_the_cores_default_agent() -> None:
    agent = Agent(name="A", endpoint="PJSIP/1001")
    assert agent_spec("1001", agent) == AgentSpec("1001", "A", "PJSIP/1001")


def test_every_queue_field_carries_over() -> None:
    queue = Queue.model_validate({
        "strategy": "wrandom",
        "members": [1001, {"agent": "1002", "penalty": 1, "weight": 2}],
        "members_by_skill": " sales >= 1 ",
        "skill_steps": [{"after": 0, "require": "sales >= 3"}, {"after": 30, "require": ""}],
        "tier_wait": 10, "weight": 2, "ring_timeout": 20, "retry": 3, "wrapup": 15,
        "max_length": 9, "join_empty": ["paused"], "leave_empty": ["paused", "unavailable"],
        "max_wait": 120, "overflow": "voicemail:sales",
        "announcements": {"every": 30, "position": True, "periodic_prompts": ["a", "b"],
                          "periodic_every": 40},
        "service_level": 30, "music_class": "vip", "record": True,
        "priority_rules": [{"when": "caller.vip == true", "priority": 7}],
        "callback": {"after": 60, "key": "#", "ask_number": True},
        "exit_key": 0, "exit_target": "hangup",
        "dispositions": {"sold": "Sold"}, "handle_time": 200,
    })  # fmt: skip
    assert queue_spec("sales", queue, {"resolved": "Resolved"}) == QueueSpec(
        name="sales",
        strategy=Strategy.WEIGHTED_RANDOM,
        members=(Member("1001"), Member("1002", 1, 2.0)),
        members_by_skill="sales >= 1",
        skill_steps=(SkillStep(0, "sales >= 3"), SkillStep(30, "")),
        tier_wait=10, weight=2, ring_timeout=20, retry=3, wrapup=15, max_length=9,
        join_empty=frozenset({EmptyCondition.PAUSED}),
        leave_empty=frozenset({EmptyCondition.PAUSED, EmptyCondition.UNAVAILABLE}),
        max_wait=120, overflow=Target(TargetKind.VOICEMAIL, "sales"),
        announcements=Announcements(30, True, False, ("a", "b"), 40),
        service_level=30, music_class="vip", record=True,
        priority_rules=(PriorityRule("caller.vip == true", 7),),
        callback=CallbackOffer(60, "#", ask_number=True),
        exit_key="0", exit_target=Target(TargetKind.HANGUP),
        dispositions=frozenset({"sold", "resolved"}), handle_time=200,
    )  # fmt: skip


def test_every_agent_field_carries_over() -> None:
    agent = Agent.model_validate({
        "name": "张伟", "endpoint": "PJSIP/1001", "skills": {"sales": 4},
        "queues": ["sales", {"queue": "support", "priority": 2, "delay": 30, "penalty": 1}],
        "wrapup": 12, "ring_no_answer_limit": 0,
    })  # fmt: skip
    assert agent_spec("1001", agent) == AgentSpec(
        "1001", "张伟", "PJSIP/1001", {"sales": 4},
        (Membership("sales"), Membership("support", 2, 30, 1)), 12, 0,
    )  # fmt: skip


def test_the_marked_pause_reason_is_the_auto_pause_reason() -> None:
    config = Config(pause_reasons={
        "break": PauseReason(label="Break"),
        "missed": PauseReason(label="Missed", on_ring_no_answer=True),
    })  # fmt: skip
    spec = to_routing_spec(config)
    assert spec.pause_reasons == frozenset({"break", "missed"})
    assert spec.auto_pause_reason == "missed"
