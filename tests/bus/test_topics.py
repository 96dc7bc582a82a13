import pytest

from callcenter.bus import topics
from callcenter.bus.topics import Role, Topic, TopicKind

A, B = "1001", "1002"


def test_every_builder_parses_back_to_its_kind_and_ids():
    assert topics.parse(topics.agent_state(A)) == Topic(TopicKind.AGENT_STATE, agent=A)
    assert topics.parse(topics.agent_offer(A)) == Topic(TopicKind.AGENT_OFFER, agent=A)
    assert topics.parse(topics.agent_cmd(A)) == Topic(TopicKind.AGENT_CMD, agent=A)
    assert topics.parse(topics.agent_reply(A, "r1")) == Topic(
        TopicKind.AGENT_REPLY, agent=A, request_id="r1"
    )
    assert topics.parse(topics.queue_stats("sales")) == Topic(TopicKind.QUEUE_STATS, queue="sales")
    assert topics.parse(topics.call_events("1700000000.12")) == Topic(
        TopicKind.CALL_EVENTS, call="1700000000.12"
    )
    assert topics.parse(topics.ALERTS) == Topic(TopicKind.ALERTS)


def test_the_tree_is_versioned():
    assert topics.agent_state(A) == "cc/v1/agents/1001/state"
    assert topics.parse("cc/v2/agents/1001/state") is None


@pytest.mark.parametrize("bad", ["", "+", "#", "a/b", "$SYS", "x+y", "a#", " 1001", "é"])
def test_ids_that_could_escape_their_subtree_are_refused(bad):
    with pytest.raises(ValueError, match="invalid"):
        topics.agent_cmd(bad)


@pytest.mark.parametrize(
    "topic",
    ["cc/v1/agents/1001", "cc/v1/agents/1001/cmd/x", "cc/v1/agents/+/cmd", "cc/v1/queues/q/x", ""],
)
def test_foreign_topics_do_not_parse(topic):
    assert topics.parse(topic) is None


def test_command_agent_is_taken_from_the_topic():
    assert topics.command_agent("cc/v1/agents/1002/cmd") == B
    assert topics.command_agent(topics.agent_offer(B)) is None


def test_an_agent_publishes_only_its_own_commands():
    assert topics.may_publish(Role.AGENT, A, topics.agent_cmd(A))
    assert not topics.may_publish(Role.AGENT, A, topics.agent_cmd(B))
    assert not topics.may_publish(Role.AGENT, A, topics.agent_state(A))
    assert not topics.may_publish(Role.AGENT, A, topics.agent_reply(A, "r"))
    assert not topics.may_publish(Role.AGENT, "+", "cc/v1/agents/+/cmd")
    assert not topics.may_publish(Role.SUPERVISOR, "supervisor", topics.ALERTS)
    assert topics.may_publish(Role.ENGINE, "engine", topics.agent_offer(B))


@pytest.mark.parametrize(
    ("topic_filter", "allowed"),
    [
        ("cc/v1/agents/1001/state", True),
        ("cc/v1/agents/1001/offer", True),
        ("cc/v1/agents/1001/reply/+", True),
        ("cc/v1/agents/1001/#", True),
        ("cc/v1/agents/1001/cmd", False),
        ("cc/v1/agents/1002/offer", False),
        ("cc/v1/agents/+/offer", False),
        ("cc/v1/agents/#", False),
        ("cc/#", False),
        ("#", False),
        ("cc/v1/queues/sales/stats", False),
    ],
)
def test_an_agent_subscribes_only_inside_its_own_subtree(topic_filter, allowed):
    assert topics.may_subscribe(Role.AGENT, A, topic_filter) is allowed


def test_delivery_check_keeps_other_agents_topics_away():
    assert topics.may_receive(Role.AGENT, A, topics.agent_offer(A))
    assert not topics.may_receive(Role.AGENT, A, topics.agent_offer(B))
    assert not topics.may_receive(Role.AGENT, A, topics.agent_cmd(A))
    assert topics.may_receive(Role.SUPERVISOR, "supervisor", topics.agent_offer(B))


def test_roles_come_from_the_user_name():
    kinds = {"engines": frozenset({"engine"}), "supervisors": frozenset({"boss"})}
    assert topics.role_of("engine", **kinds) is Role.ENGINE
    assert topics.role_of("boss", **kinds) is Role.SUPERVISOR
    assert topics.role_of("1001", **kinds) is Role.AGENT
