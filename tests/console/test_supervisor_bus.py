"""Supervisor commands on both brokers (embedded amqtt, and Mosquitto with the shipped
deploy/mosquitto/ ACL): a supervisor writes only its own command topic, an agent none.

Ordering through one broker is kept per publisher (QoS 1), so "the first command the
engine sees is the allowed one" proves the forbidden ones published before it were
dropped, without sleeping.
"""

from __future__ import annotations

from callcenter.bus import topics
from callcenter.bus.schemas import SupervisorAction, SupervisorCommand
from tests.bus.conftest import Bus
from tests.bus.test_roundtrip import next_message, unique


async def test_only_a_supervisor_commands_on_its_own_topic(bus: Bus) -> None:
    forged = SupervisorCommand(request_id=unique("r"), action=SupervisorAction.FORCE_LOGOUT,
                               params={"agent": "1002"})  # fmt: skip
    listen = {"agent": "1001", "mode": "listen", "endpoint": "PJSIP/2001"}
    own = SupervisorCommand(request_id=unique("r"), action=SupervisorAction.MONITOR,
                            params=listen)  # fmt: skip
    async with (
        bus.client("engine") as engine,
        bus.client("1001") as agent,
        bus.client("supervisor") as supervisor,
    ):
        await engine.subscribe(f"{topics.PREFIX}/supervisors/+/cmd")
        await agent.publish(topics.supervisor_cmd("supervisor"), forged)  # an agent: dropped
        await supervisor.publish(topics.supervisor_cmd("boss"), forged)  # another's: dropped
        await supervisor.publish(topics.supervisor_cmd("supervisor"), own)
        received = await next_message(engine)
    assert (received.topic.supervisor, received.message) == ("supervisor", own)


def test_supervisor_topics_parse_and_rules() -> None:
    cmd = topics.parse(topics.supervisor_cmd("boss"))
    reply = topics.parse(topics.supervisor_reply("boss", "r1"))
    assert cmd == topics.Topic(topics.TopicKind.SUPERVISOR_CMD, supervisor="boss")
    assert reply == topics.Topic(topics.TopicKind.SUPERVISOR_REPLY, supervisor="boss",
                                 request_id="r1")  # fmt: skip
    assert topics.parse("cc/v1/supervisors/boss/cmd/extra") is None
    role = topics.Role.SUPERVISOR
    assert topics.may_publish(role, "boss", topics.supervisor_cmd("boss"))
    assert not topics.may_publish(role, "boss", topics.supervisor_cmd("other"))
    assert not topics.may_publish(role, "boss", topics.agent_cmd("1001"))
    assert not topics.may_publish(topics.Role.AGENT, "1001", topics.supervisor_cmd("1001"))
