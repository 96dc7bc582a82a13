"""Broker ACLs, on the embedded amqtt broker and on Mosquitto with deploy/mosquitto/.

Ordering through one broker is kept per publisher (QoS 1), so "the first message
the engine sees is A's own command" proves the forbidden one before it was dropped,
without sleeping.
"""

import asyncio
import contextlib

import aiomqtt
import pytest

from callcenter.bus import schemas, topics
from callcenter.bus.client import BusAccessDeniedError, BusClient
from callcenter.bus.schemas import AgentCommand, CommandAction
from callcenter.core.commands import AgentStateChanged, Ring
from callcenter.core.states import AgentState

from .conftest import Bus
from .test_roundtrip import next_message, unique

A, B = "1001", "1002"


async def test_agent_cannot_publish_to_another_agents_commands(bus: Bus, caplog):
    forged = AgentCommand(request_id=unique("r"), action=CommandAction.HANGUP)
    own = AgentCommand(request_id=unique("r"), action=CommandAction.PAUSE)
    async with bus.client("engine") as engine, bus.client(A) as console_a:
        await engine.subscribe("cc/v1/agents/+/cmd")
        await console_a.publish(topics.agent_cmd(B), forged)
        await console_a.publish(topics.agent_cmd(A), own)
        received = await next_message(engine)
    assert (received.topic.agent, received.message) == (A, own)
    if bus.name == "amqtt":
        assert f"bus ACL refused publish of 'cc/v1/agents/1002/cmd' by user '{A}'" in caplog.text


async def test_agent_cannot_fake_its_own_state_or_an_alert(bus: Bus):
    change = AgentStateChanged(A, AgentState.PAUSED, AgentState.READY, "forged")
    fake_state = schemas.agent_state_message(change, 1.0)
    fake_alert = schemas.AlertMessage(kind="surge", queue="sales", text="fake", at=1.0)
    own = AgentCommand(request_id=unique("r"), action=CommandAction.RESYNC)
    async with bus.client("supervisor") as wallboard, bus.client(A) as console_a:
        await wallboard.subscribe(topics.agent_state(A))
        await wallboard.subscribe(topics.ALERTS)
        await wallboard.subscribe(topics.agent_cmd(A))
        # drain whatever retained state other tests left
        await console_a.publish(topics.agent_state(A), fake_state, retain=False)
        await console_a.publish(topics.ALERTS, fake_alert)
        await console_a.publish(topics.agent_cmd(A), own)
        while True:
            received = await next_message(wallboard)
            if not received.retained:
                break
    assert received.message == own


async def test_agent_cannot_read_another_agents_offers_or_commands(bus: Bus):
    offer_b = schemas.offer_message(Ring(unique("c"), B, "PJSIP/1002", 15, "sales"), 1.0)
    offer_a = schemas.offer_message(Ring(unique("c"), A, "PJSIP/1001", 15, "sales"), 1.0)
    command_b = AgentCommand(request_id=unique("r"), action=CommandAction.LOGOUT)
    async with (
        bus.client("engine") as engine,
        bus.client(A) as console_a,
        bus.client(B) as console_b,
    ):
        snoops = (topics.agent_offer(B), topics.agent_cmd(B), "cc/v1/agents/+/offer", "#")
        for snoop in snoops:
            # Either the broker refuses the subscription or it never delivers.
            with contextlib.suppress(BusAccessDeniedError):
                await console_a.subscribe(snoop)
        await console_a.subscribe(topics.agent_offer(A))
        await engine.publish(topics.agent_offer(B), offer_b)
        await console_b.publish(topics.agent_cmd(B), command_b)
        await engine.publish(topics.agent_offer(A), offer_a)
        received = await next_message(console_a)
    assert received.message == offer_a


@pytest.mark.parametrize(
    "snoop", [topics.agent_offer(B), "cc/v1/agents/+/offer", topics.agent_cmd(B), "#"]
)
async def test_embedded_broker_refuses_snooping_subscriptions(amqtt_bus: Bus, snoop: str):
    # amqtt only: Mosquitto 2.0.11's acl_file grants any subscription and filters on
    # delivery instead, which the test above covers for both brokers.
    async with amqtt_bus.client(A) as console_a:
        with pytest.raises(BusAccessDeniedError):
            await console_a.subscribe(snoop)


@pytest.mark.parametrize(("user", "password"), [(A, "wrong"), (A, ""), ("", "")])
async def test_unknown_or_anonymous_users_are_refused(bus: Bus, user: str, password: str):
    settings = bus.settings(A)
    client = BusClient(
        type(settings)(settings.host, settings.port, user, password)  # no valid credentials
    )
    with pytest.raises(aiomqtt.MqttError):
        async with asyncio.timeout(5), client:
            pass
