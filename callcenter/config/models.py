"""Queues, agents and pause reasons as admins write them (one model per YAML mapping).

Every field says in its docstring what it means; the defaults match the core's
`QueueSpec`/`AgentSpec`, so leaving a key out behaves as the routing core expects.
Checks that involve only one entry live here (``skill_steps`` start at 0, an exit key
needs an exit target); checks across entries live in `callcenter.config.references`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from callcenter.config.values import (
    AgentId,
    CallerPriority,
    CallerRule,
    Code,
    Count,
    Dtmf,
    Endpoint,
    Flag,
    Fraction,
    Label,
    MusicClass,
    Name,
    Penalty,
    PinHashText,
    Proficiency,
    PromptName,
    QueueRank,
    Requirement,
    Seconds,
    SecondsOrZero,
    SkillName,
    TargetText,
    Weight,
    at,
    not_allowed,
)
from callcenter.core.spec import EmptyCondition, Strategy


class Entry(BaseModel):
    """Every mapping in the files: unknown keys are errors, docstrings document the keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _shorthand(key: str) -> BeforeValidator:
    """Let a list item be just a name: ``- 1001`` means ``- {agent: 1001}``."""

    def expand(value: Any) -> Any:
        is_name = isinstance(value, str | int) and not isinstance(value, bool)
        return {key: value} if is_name else value

    return BeforeValidator(expand)


class PauseReason(Entry):
    label: Label
    """What agents and supervisors see, e.g. 培训 Training."""
    productive: Flag = False
    """Whether time in this pause counts as work (coaching, back-office) in reports."""
    max_duration: Seconds | None = None
    """Seconds after which supervisors are alerted that the agent is still paused."""
    on_ring_no_answer: Flag = False
    """The reason the engine pauses an agent with after `ring_no_answer_limit` missed offers."""


class QueueMember(Entry):
    agent: AgentId
    """The agent's id, as listed under `agents`."""
    penalty: Penalty = 0
    """Tier level: 0 is offered calls first, then 1, and so on (app_queue's penalty)."""
    weight: Weight = 1.0
    """The agent's share of calls under the `wrandom` strategy."""


class SkillStep(Entry):
    after: SecondsOrZero
    """From this many seconds of waiting on, `require` applies (the first step is at 0)."""
    require: Requirement
    """Which agents may take the caller, e.g. "product_support >= 3 and mandarin >= 2"."""


class WaitAnnouncements(Entry):
    every: Seconds | None = None
    """How often the caller hears the place in line and/or the expected wait."""
    position: Flag = False
    """Announce the caller's place in line."""
    expected_wait: Flag = False
    """Announce the expected wait."""
    periodic_prompts: tuple[PromptName, ...] = ()
    """Prompts played in turn while waiting (offers, self-service hints)."""
    periodic_every: Seconds | None = None
    """Seconds between two periodic prompts."""

    @model_validator(mode="after")
    def _periods_given(self) -> WaitAnnouncements:
        if (self.position or self.expected_wait) and self.every is None:
            raise at(("every",), not_allowed("must be given when position or expected_wait is on"))
        if self.periodic_prompts and self.periodic_every is None:
            raise at(("periodic_every",), not_allowed("must be given with periodic_prompts"))
        return self


class PriorityRule(Entry):
    when: CallerRule
    """Which callers, as an expression over caller.* only, e.g. "caller.vip == true"."""
    priority: CallerPriority
    """Their priority: higher numbers are served first (Asterisk's QUEUE_PRIO)."""


class CallbackOffer(Entry):
    after: SecondsOrZero
    """Offer a call back once the caller has waited this many seconds."""
    key: Dtmf = "*"
    """The phone key that accepts the offer."""
    ask_number: Flag = False
    """Offer it to callers whose number is unknown too: the IVR asks them for one."""


class Queue(Entry):
    label: Label | None = None
    """The name shown on wallboards and reports, e.g. 销售咨询 Sales."""
    strategy: Strategy = Strategy.LEAST_RECENT
    """How an agent is chosen among those free: ringall, leastrecent, fewestcalls, ..."""
    members: tuple[Annotated[QueueMember, _shorthand("agent")], ...] = ()
    """Agents listed by the queue: `- 1001` or `- {agent: 1001, penalty: 1, weight: 2}`."""
    members_by_skill: Requirement = ""
    """Agents whose skills match this expression are members too, e.g. "billing >= 1"."""
    skill_steps: tuple[SkillStep, ...] = ()
    """Skill requirements relaxed as the caller waits: [{after: 0, require: ...}, ...]."""
    tier_wait: SecondsOrZero = 0.0
    """Above 0: tier level L is offered callers who waited L times this many seconds."""
    weight: Weight = 1.0
    """For agents in several queues: how much this queue's waiting callers count."""
    ring_timeout: Seconds = 15.0
    """Seconds an agent's phone rings before the offer goes to someone else."""
    retry: SecondsOrZero = 5.0
    """Seconds before a caller is offered again after an agent did not answer."""
    wrapup: SecondsOrZero = 0.0
    """Seconds of after-call work before the agent gets the next call."""
    max_length: Count = 0
    """Most callers waiting at once; more are sent to `overflow`. 0: no limit."""
    join_empty: tuple[EmptyCondition, ...] = ()
    """Refuse new callers when every member is in one of these: paused, unavailable, ..."""
    leave_empty: tuple[EmptyCondition, ...] = ()
    """Send waiting callers to `overflow` when every member is in one of these."""
    max_wait: Seconds | None = None
    """Seconds a caller may wait before going to `overflow`."""
    overflow: TargetText | None = None
    """Where callers go after max_wait, when full or empty (default: hang up)."""
    announcements: WaitAnnouncements = WaitAnnouncements()
    """What waiting callers hear besides music on hold."""
    service_level: Seconds = 20.0
    """Calls answered within this many seconds count as within service level."""
    service_level_target: Fraction = 0.8
    """The share of calls to answer within `service_level`; the wallboard alerts below it."""
    music_class: MusicClass = "default"
    """The music-on-hold class (musiconhold.conf) callers hear while waiting."""
    record: Flag = False
    """Record every answered call of this queue."""
    accept: Flag = False
    """Agents accept each offer on their console (screen pop first, within `ring_timeout`);
    only then does their phone ring. Not accepted in time counts as not answered."""
    priority_rules: tuple[PriorityRule, ...] = ()
    """Caller priorities: [{when: "caller.vip == true", priority: 10}, ...]."""
    callback: CallbackOffer | None = None
    """Offer a call back that keeps the caller's place in line."""
    exit_key: Dtmf | None = None
    """A phone key that lets the caller leave the queue for `exit_target`."""
    exit_target: TargetText | None = None
    """Where the exit key leads, e.g. voicemail:hotline."""
    dispositions: dict[Code, Label] = Field(default_factory=dict)
    """Wrap-up codes for this queue only (code: label), besides the common ones."""
    handle_time: Seconds = 180.0
    """Handle time assumed for the expected wait until real calls have been measured."""

    @model_validator(mode="after")
    def _consistent(self) -> Queue:
        steps = self.skill_steps
        if steps and steps[0].after != 0:
            raise at(("skill_steps", 0, "after"), not_allowed("must be 0 for the first step"))
        for index in range(1, len(steps)):
            if steps[index].after <= steps[index - 1].after:
                rule = f"must be greater than the previous step's ({steps[index - 1].after:g})"
                raise at(("skill_steps", index, "after"), not_allowed(rule))
        if (self.exit_key is None) != (self.exit_target is None):
            missing = "exit_target" if self.exit_target is None else "exit_key"
            given = "exit_key" if missing == "exit_target" else "exit_target"
            raise at((given,), not_allowed(f"must come with {missing}"))
        if self.callback is not None and self.exit_key == self.callback.key:
            raise at(("exit_key",), not_allowed("must differ from the callback key"))
        return self


class AgentQueue(Entry):
    queue: Name
    """The queue's name, as listed under `queues`."""
    priority: QueueRank = 1
    """1 is the agent's first-choice queue: its callers are taken first."""
    delay: SecondsOrZero = 0.0
    """Offered this queue's callers only once they waited this many seconds."""
    penalty: Penalty = 0
    """Tier level in this queue: 0 is offered calls first."""


class Agent(Entry):
    name: Label
    """The agent's name as shown to supervisors, e.g. 张伟 Zhang Wei."""
    endpoint: Endpoint
    """The phone to ring, as Asterisk names it: TECH/resource, e.g. PJSIP/1001."""
    pin: PinHashText | None = None
    """Login PIN as a hash made by `callcenter config hash-pin` (never the PIN itself)."""
    skills: dict[SkillName, Proficiency] = Field(default_factory=dict)
    """Skill: proficiency from 1 (basic) to 5 (expert); skills must be declared."""
    queues: tuple[Annotated[AgentQueue, _shorthand("queue")], ...] = ()
    """Queues the agent serves: `- sales` or `- {queue: sales, priority: 2, delay: 30}`."""
    wrapup: SecondsOrZero | None = None
    """After-call work seconds for this agent, instead of the queue's."""
    ring_no_answer_limit: Count = 3
    """Unanswered offers in a row before the agent is paused; 0: never."""


class Script(Entry):
    label: Label
    """What agents pick the answer by, e.g. 退换货政策 Return policy."""
    text: Label
    """The agreed wording (统一口径): every agent reads the same answer."""
    queues: tuple[Name, ...] = ()
    """Queues whose agents see this answer; none listed: every queue."""


Skill = Label  # a skill is declared by name with a label: `billing: 电费 Billing`
Department = Label  # where complaint tickets go: `quality: 质量部 Quality department`
Disposition = Label  # a wrap-up code shared by every queue: `resolved: 已解决 Resolved`
