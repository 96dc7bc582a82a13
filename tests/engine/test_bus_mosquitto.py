"""The engine's desk on Mosquitto set up from deploy/mosquitto/ (as production runs it):
login, retained state, the offer, and one agent unable to act for another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.bus import schemas, topics
from callcenter.core.states import AgentState
from sim import NoAnswer
from tests.bus.conftest import PASSWORDS, mosquitto_server
from tests.engine.bus_rig import BusRig, bus_rig
from tests.engine.conftest import until

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
