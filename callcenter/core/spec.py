"""What the routing core needs to know of the configuration, as plain frozen values.

The admin-edited YAML files (``callcenter.config``) are validated with pydantic and
then converted to these types, so the core never depends on how the files look and
stays cheap to construct in tests. All times are seconds (floats).

Conventions, chosen to match what admins already know:

* caller ``priority``: a higher number is served first (Asterisk's ``QUEUE_PRIO``);
* a member's ``penalty`` (tier level): a lower number is tried first (app_queue);
* an agent's per-queue ``priority``: 1 is the agent's first-choice queue
  (agent-centric routing: when the agent frees up, callers of the queues the
  agent ranks higher are taken first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Strategy(StrEnum):
    """How a queue chooses among the agents that could take a caller."""

    RINGALL = "ringall"  # ring every eligible agent of the best tier; first answer wins
    LEAST_RECENT = "leastrecent"  # the agent idle the longest
    FEWEST_CALLS = "fewestcalls"  # the agent who completed the fewest calls
    LEAST_TALK_TIME = "least_talk_time"  # the agent with the least talk time
    RANDOM = "random"
    WEIGHTED_RANDOM = "wrandom"  # random, in proportion to the member's weight
    RR_MEMORY = "rrmemory"  # round robin by agent id, resuming after the last agent rung
    RR_ORDERED = "rrordered"  # round robin in the queue's member order
    LINEAR = "linear"  # always the first free agent in member order
    TOP_DOWN = "top_down"  # tier by tier, and by position inside a tier


class EmptyCondition(StrEnum):
    """Member conditions that make a queue count as empty (app_queue's joinempty/leavewhenempty).

    A queue is empty when none of its members is in a condition *not* listed:
    ``join_empty: [paused, unavailable]`` refuses callers when every member is
    paused or logged out (or there are no members at all).
    """

    PAUSED = "paused"
    UNAVAILABLE = "unavailable"  # logged out, or the agent's phone is not reachable
    INUSE = "inuse"  # ringing or on a call
    WRAPUP = "wrapup"


class TargetKind(StrEnum):
    QUEUE = "queue"
    IVR = "ivr"
    AGENT = "agent"
    NUMBER = "number"  # dial out to a phone number
    VOICEMAIL = "voicemail"
    DIALPLAN = "dialplan"  # continue in the dialplan at context,exten,priority
    ANNOUNCEMENT = "announcement"  # play a prompt, then hang up
    HANGUP = "hangup"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a caller goes when leaving a queue (overflow, exit key, IVR option)."""

    kind: TargetKind
    value: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}" if self.value else str(self.kind)


@dataclass(frozen=True, slots=True)
class SkillStep:
    """From ``after`` seconds of waiting on, the caller needs an agent matching ``requirement``.

    A queue lists its steps by increasing ``after``; the steps relax the requirement
    as the caller waits. An empty requirement matches every member.
    """

    after: float
    requirement: str


@dataclass(frozen=True, slots=True)
class Member:
    """A queue-centric member entry: the queue lists the agent."""

    agent: str
    penalty: int = 0
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class PriorityRule:
    """Callers matching ``when`` (an expression over ``caller.*``) get at least ``priority``."""

    when: str
    priority: int


@dataclass(frozen=True, slots=True)
class Announcements:
    """What a waiting caller hears besides music on hold."""

    every: float | None = None  # position / expected-wait announcement period
    position: bool = False
    expected_wait: bool = False
    periodic_prompts: tuple[str, ...] = ()  # played in turn every `periodic_every` seconds
    periodic_every: float | None = None


@dataclass(frozen=True, slots=True)
class CallbackOffer:
    """Offer waiting callers a call back that keeps their place in line.

    The offer is made once, to a waiting caller; when it falls due while an agent
    rings for the caller, it is made when the caller is back in line after the
    retry pause. Callers without a number are offered it only with ``ask_number``.
    """

    after: float  # offer once the caller has waited this long
    key: str = "*"  # the DTMF key that accepts
    ask_number: bool = False  # callers without a number too: the IVR asks for one


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    strategy: Strategy = Strategy.LEAST_RECENT
    members: tuple[Member, ...] = ()
    members_by_skill: str = ""  # agents whose skills match this expression are members too
    skill_steps: tuple[SkillStep, ...] = ()
    tier_wait: float = 0.0  # >0: tier level L is offered callers who waited L * tier_wait
    weight: float = 1.0  # across queues, an agent weighs this queue's waits by it
    ring_timeout: float = 15.0
    retry: float = 5.0  # pause before offering a caller again after an agent did not answer
    wrapup: float = 0.0
    max_length: int = 0  # 0: unlimited
    join_empty: frozenset[EmptyCondition] = frozenset()
    leave_empty: frozenset[EmptyCondition] = frozenset()
    max_wait: float | None = None
    overflow: Target | None = None  # where callers go after max_wait (default: hang up)
    announcements: Announcements = Announcements()
    service_level: float = 20.0  # answered within this many seconds counts as in service level
    music_class: str = "default"
    record: bool = False
    accept: bool = False  # offers go to the agent's console first; the phone rings on accept
    priority_rules: tuple[PriorityRule, ...] = ()
    callback: CallbackOffer | None = None
    exit_key: str = ""  # a DTMF key that lets the caller leave the queue ...
    exit_target: Target | None = None  # ... to here
    dispositions: frozenset[str] = frozenset()
    handle_time: float = 180.0  # handle time assumed for expected-wait before calls are measured


@dataclass(frozen=True, slots=True)
class Membership:
    """An agent-centric entry: the agent lists the queue."""

    queue: str
    priority: int = 1
    delay: float = 0.0  # offered this queue's callers only once they waited this long
    penalty: int = 0


@dataclass(frozen=True, slots=True)
class AgentSpec:
    id: str
    name: str = ""
    endpoint: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    queues: tuple[Membership, ...] = ()
    wrapup: float | None = None  # overrides the queue's wrap-up time
    ring_no_answer_limit: int = 3  # consecutive unanswered offers before auto-pause; 0: never


@dataclass(frozen=True, slots=True)
class RoutingSpec:
    queues: Mapping[str, QueueSpec] = field(default_factory=dict)
    agents: Mapping[str, AgentSpec] = field(default_factory=dict)
    pause_reasons: frozenset[str] = frozenset()
    auto_pause_reason: str = "ring-no-answer"
