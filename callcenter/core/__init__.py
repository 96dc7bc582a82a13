"""The pure routing core: ``Router.handle(event) -> list[Command]``.

No I/O, no clock, no hidden randomness (tests/test_core_purity.py enforces it).
"""

from callcenter.core import commands, events
from callcenter.core.expression import Expression, ExpressionError, compile_expression
from callcenter.core.router import Router, RoutingError
from callcenter.core.spec import (
    AgentSpec,
    Announcements,
    CallbackOffer,
    EmptyCondition,
    Member,
    Membership,
    PriorityRule,
    QueueSpec,
    RoutingSpec,
    SkillStep,
    Strategy,
    Target,
    TargetKind,
)
from callcenter.core.states import AgentState, CallState, IllegalTransitionError
from callcenter.core.timers import TimerKey, TimerKind

__all__ = [
    "AgentSpec",
    "AgentState",
    "Announcements",
    "CallState",
    "CallbackOffer",
    "EmptyCondition",
    "Expression",
    "ExpressionError",
    "IllegalTransitionError",
    "Member",
    "Membership",
    "PriorityRule",
    "QueueSpec",
    "Router",
    "RoutingError",
    "RoutingSpec",
    "SkillStep",
    "Strategy",
    "Target",
    "TargetKind",
    "TimerKey",
    "TimerKind",
    "commands",
    "compile_expression",
    "events",
]
