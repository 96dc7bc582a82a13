"""The engine's desk on Mosquitto set up from deploy/mosquitto/ (as production runs it):
login, retained state, the offer, and one agent unable to act for another."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

from callcenter.bus import schemas, topics
from callcenter.core.states import AgentState
from sim import Answer, NoAnswer
from tests.bus.conftest import PASSWORDS, mosquitto_server
from tests.engine.bus_rig import BusRig, bus_rig
from tests.engine.conftest import until
from tests.engine.test_bus import connect_a_call

__all__ = ["mosquitto_server"]  # the fixture, from the bus tests


@pytest.fixture
async def rig(tmp_path: Path, mosquitto_server: tuple[str, int]) -> AsyncIterator[BusRig]:
    host, port = mosquitto_server
    async with bus_rig(tmp_path, external=(host, port, dict(PASSWORDS))) as built:
        yield built


async def test_login_offer_and_another_agents_topic_on_mosquitto(rig: BusRig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    async with rig.console("1001") as ann, rig.console("1002") as bob:
        await ann.watch(topics.agent_offer("1001"))
        assert not (await ann.command("login", pin="0000")).ok
        assert (await ann.command("login", pin="1234")).ok
        # Bob's publish on Ann's command topic is dropped by Mosquitto's ACL.
        sneaky = schemas.AgentCommand(request_id="sneaky", action=schemas.CommandAction.LOGOUT)
        await bob.client.publish(topics.agent_cmd("1001"), sneaky)
        await bob.client._client.publish(topics.agent_cmd("1002"), b"{not json", qos=1)
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        offer = await ann.next(lambda r: isinstance(r.message, schemas.OfferMessage))
        assert isinstance(offer, schemas.OfferMessage)
        assert (offer.call, offer.queue) == (caller.id, "sales")
        await until(lambda: rig.engine.router.agent_state("1001") is AgentState.RINGING)
    async with rig.console("1002") as late:
        await late.watch(topics.agent_state("1002"))
        assert (await late.command("resync")).ok
        state = await late.next(lambda r: True)
        assert isinstance(state, schemas.AgentStateMessage)
        assert (state.agent, state.state) == ("1002", AgentState.LOGGED_OUT)
    assert rig.engine.router.agent_state("1001") is AgentState.RINGING  # not logged out


async def test_retained_state_goes_at_qos_0_and_call_events_at_qos_1(rig: BusRig) -> None:
    # Every new link republishes each retained topic's latest value (desk.py), so QoS 1's
    # resending would add nothing to agent states; nothing republishes call events.
    # (On Mosquitto: the embedded amqtt delivers at the subscription's QoS whatever the
    # publisher's.)
    user, password = "supervisor", PASSWORDS["supervisor"]
    seen: dict[topics.TopicKind, set[int]] = {}
    async with aiomqtt.Client(rig.bus.host, rig.bus.port, username=user, password=password) as raw:
        await raw.subscribe(f"{topics.PREFIX}/agents/+/state", qos=1)
        await raw.subscribe(f"{topics.PREFIX}/calls/+/events", qos=1)
        rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
        await rig.engine.login("1001")
        await connect_a_call(rig)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                async for message in raw.messages:  # a subscriber gets min(its, the sender's)
                    topic = topics.parse(message.topic.value)
                    if topic is not None and not message.retain:  # live, not the kept copy
                        seen.setdefault(topic.kind, set()).add(message.qos)
    assert seen == {topics.TopicKind.AGENT_STATE: {0}, topics.TopicKind.CALL_EVENTS: {1}}
