"""The bus's versioned topic tree: builders, a parser, and who may touch what.

Every topic starts with ``cc/v1``; a breaking change to a payload moves the whole
tree to ``cc/v2`` so old and new consoles can share one broker during an upgrade.

::

    cc/v1/agents/{agent}/state        retained   agent state for consoles
    cc/v1/agents/{agent}/offer                   screen pop of an offered call
    cc/v1/agents/{agent}/cmd                     console -> engine (only that agent)
    cc/v1/agents/{agent}/reply/{id}              engine -> console replies
    cc/v1/queues/{queue}/stats        retained   waiting, longest wait, SL, agents
    cc/v1/calls/{call}/events                    call lifecycle (supervisor)
    cc/v1/alerts                                 surge, SL below target
    cc/v1/supervisors/{sup}/cmd                  supervisor console -> engine
    cc/v1/supervisors/{sup}/reply/{id}           engine -> supervisor console

Identifiers that go into a topic level are checked: MQTT gives ``/``, ``+``, ``#``
and a leading ``$`` a meaning, so an id containing them could escape its own
subtree (an agent called ``+`` would read everyone's offers).

The access rules (:func:`may_publish`, :func:`may_subscribe`, :func:`may_receive`)
are used by the embedded broker's ACL plugin and are the same rules as
``deploy/mosquitto/acl``; the engine applies :func:`command_agent` again on
every command it receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "cc/v1"
ALERTS = f"{PREFIX}/alerts"

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}")


class TopicKind(StrEnum):
    AGENT_STATE = "agent_state"
    AGENT_OFFER = "agent_offer"
    AGENT_CMD = "agent_cmd"
    AGENT_REPLY = "agent_reply"
    QUEUE_STATS = "queue_stats"
    CALL_EVENTS = "call_events"
    ALERTS = "alerts"
    SUPERVISOR_CMD = "supervisor_cmd"
    SUPERVISOR_REPLY = "supervisor_reply"


RETAINED = frozenset({TopicKind.AGENT_STATE, TopicKind.QUEUE_STATS})
"""Kinds published with the retain flag: a late subscriber gets the current value at once."""


class Role(StrEnum):
    """Who a bus user is; the broker user name decides it (see :func:`role_of`)."""

    ENGINE = "engine"  # publishes everything, reads commands
    SUPERVISOR = "supervisor"  # reads the whole tree, publishes its own cmd topic
    AGENT = "agent"  # its own subtree only


def valid_id(value: str) -> bool:
    """True if ``value`` can be one topic level (agent, queue, call or request id)."""
    return _ID.fullmatch(value) is not None


def _checked(value: str, what: str) -> str:
    if not valid_id(value):
        raise ValueError(f"invalid {what} id for a topic: {value!r}")
    return value


def agent_state(agent: str) -> str:
    return f"{PREFIX}/agents/{_checked(agent, 'agent')}/state"


def agent_offer(agent: str) -> str:
    return f"{PREFIX}/agents/{_checked(agent, 'agent')}/offer"


def agent_cmd(agent: str) -> str:
    return f"{PREFIX}/agents/{_checked(agent, 'agent')}/cmd"


def agent_reply(agent: str, request_id: str) -> str:
    return f"{PREFIX}/agents/{_checked(agent, 'agent')}/reply/{_checked(request_id, 'request')}"


def agent_subtree(agent: str) -> str:
    """Filter for everything addressed to one agent (what its console subscribes to)."""
    return f"{PREFIX}/agents/{_checked(agent, 'agent')}/#"


def queue_stats(queue: str) -> str:
    return f"{PREFIX}/queues/{_checked(queue, 'queue')}/stats"


def call_events(call: str) -> str:
    return f"{PREFIX}/calls/{_checked(call, 'call')}/events"


def supervisor_cmd(supervisor: str) -> str:
    return f"{PREFIX}/supervisors/{_checked(supervisor, 'supervisor')}/cmd"


def supervisor_reply(supervisor: str, request_id: str) -> str:
    sup = _checked(supervisor, "supervisor")
    return f"{PREFIX}/supervisors/{sup}/reply/{_checked(request_id, 'request')}"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: its kind and the ids in it ("" where a kind has none)."""

    kind: TopicKind
    agent: str = ""
    queue: str = ""
    call: str = ""
    request_id: str = ""
    supervisor: str = ""


def parse(topic: str) -> Topic | None:
    """The :class:`Topic` for a concrete topic name, or None if it is not ours."""
    if topic == ALERTS:
        return Topic(TopicKind.ALERTS)
    levels = topic.split("/")
    if len(levels) < 5 or "/".join(levels[:2]) != PREFIX or not valid_id(levels[3]):
        return None
    branch, ident, rest = levels[2], levels[3], levels[4:]
    if branch == "agents":
        if rest == ["state"]:
            return Topic(TopicKind.AGENT_STATE, agent=ident)
        if rest == ["offer"]:
            return Topic(TopicKind.AGENT_OFFER, agent=ident)
        if rest == ["cmd"]:
            return Topic(TopicKind.AGENT_CMD, agent=ident)
        if len(rest) == 2 and rest[0] == "reply" and valid_id(rest[1]):
            return Topic(TopicKind.AGENT_REPLY, agent=ident, request_id=rest[1])
    elif branch == "queues" and rest == ["stats"]:
        return Topic(TopicKind.QUEUE_STATS, queue=ident)
    elif branch == "calls" and rest == ["events"]:
        return Topic(TopicKind.CALL_EVENTS, call=ident)
    elif branch == "supervisors":
        if rest == ["cmd"]:
            return Topic(TopicKind.SUPERVISOR_CMD, supervisor=ident)
        if len(rest) == 2 and rest[0] == "reply" and valid_id(rest[1]):
            return Topic(TopicKind.SUPERVISOR_REPLY, supervisor=ident, request_id=rest[1])
    return None


def command_agent(topic: str) -> str | None:
    """The agent a command on ``topic`` acts for, or None if ``topic`` is not a cmd topic.

    The engine treats this agent, and only this agent, as the actor: a command on
    ``cc/v1/agents/1001/cmd`` can only touch 1001's own calls and state, whatever the
    payload says. With the broker ACLs, only user 1001 can publish there.
    """
    parsed = parse(topic)
    return parsed.agent if parsed and parsed.kind is TopicKind.AGENT_CMD else None


# --- access rules ---------------------------------------------------------------


def role_of(username: str | None, *, engines: frozenset[str], supervisors: frozenset[str]) -> Role:
    """The role of a broker user; every other named user is an agent of that id."""
    if username in engines:
        return Role.ENGINE
    if username in supervisors:
        return Role.SUPERVISOR
    return Role.AGENT


def _in_own_subtree(agent: str | None, topic_or_filter: str) -> bool:
    if not agent or not valid_id(agent):
        return False
    levels = topic_or_filter.split("/")
    # The first four levels must be literal, so no wildcard can widen the subtree.
    return len(levels) >= 5 and levels[:4] == ["cc", "v1", "agents", agent]


def may_publish(role: Role, username: str | None, topic: str) -> bool:
    """Agents and supervisors publish only to their own cmd topic; the engine anywhere."""
    if role is Role.ENGINE:
        return topic == ALERTS or topic.startswith(PREFIX + "/")
    if role is Role.SUPERVISOR:
        return username is not None and valid_id(username) and topic == supervisor_cmd(username)
    if role is Role.AGENT:
        return username is not None and valid_id(username) and topic == agent_cmd(username)
    return False


def may_subscribe(role: Role, username: str | None, topic_filter: str) -> bool:
    """Agents subscribe only inside their own subtree, and not to their cmd topic."""
    if role in (Role.ENGINE, Role.SUPERVISOR):
        return topic_filter in (ALERTS, "#", "cc/#") or topic_filter.startswith(PREFIX + "/")
    levels = topic_filter.split("/")
    if levels[4:] == ["cmd"]:
        return False
    return _in_own_subtree(username, topic_filter)


def may_receive(role: Role, username: str | None, topic: str) -> bool:
    """Delivery check (defence in depth): agents receive only their own, non-cmd topics."""
    if role in (Role.ENGINE, Role.SUPERVISOR):
        return True
    parsed = parse(topic)
    return (
        parsed is not None
        and parsed.kind is not TopicKind.AGENT_CMD
        and parsed.agent == username
        and _in_own_subtree(username, topic)
    )
