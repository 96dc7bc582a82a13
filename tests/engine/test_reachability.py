"""An agent whose phone is not registered is not offered calls; registering again restores
the offers. Endpoint states come from GET /endpoints on connect and EndpointStateChange
events after it, for the agents' endpoints the engine subscribed to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.config import load_config
from sim import Answer, Endpoints, Unregistered
from tests.engine.conftest import Rig
from tests.engine.connected import LinkedRig, linked_rig, together


@pytest.fixture
async def phones(tmp_path: Path) -> AsyncIterator[LinkedRig]:
    """The engine rig, with 1001 unregistered and 1002 registered before it connects."""
    endpoints = Endpoints({"PJSIP/1001": Unregistered(), "PJSIP/1002": Answer()})
    async with linked_rig(tmp_path, endpoints) as rig:
        yield rig


def reachable(rig: Rig, agent: str) -> bool:
    return rig.engine.router.agents[agent].reachable


async def test_the_engine_watches_each_agent_endpoint(phones: LinkedRig) -> None:
    # Only the agents' endpoints that exist (1003's is unknown to this Asterisk).
    assert phones.ast.subscriptions["callcenter"] == {"endpoint:PJSIP/1001", "endpoint:PJSIP/1002"}
    assert not reachable(phones, "1001")  # offline on connect
    assert reachable(phones, "1002")
    assert reachable(phones, "1003")


async def test_unregistered_agent_is_not_offered_until_the_phone_registers(
    phones: LinkedRig,
) -> None:
    rig = phones
    await rig.engine.login("1001")
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: caller.id in rig.engine.router.line("sales"))
    await rig.engine.idle()
    assert rig.originated("PJSIP/1001") == []  # not even tried: no RINGNOANSWER to count
    assert str(rig.engine.router.call_state(caller.id)) == "waiting"
    rig.ast.register("PJSIP/1001", Answer())
    await rig.until(lambda: rig.originated("PJSIP/1001"))
    (leg,) = rig.originated("PJSIP/1001")
    await rig.until(lambda: together(rig, caller.id, leg))
    (change,) = rig.events("EndpointStateChange")
    assert change["endpoint"] == {
        "technology": "PJSIP", "resource": "1001", "state": "online", "channel_ids": [],
    }  # fmt: skip
    assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "CONNECT"]


async def test_a_phone_going_away_stops_the_offers(phones: LinkedRig) -> None:
    rig = phones
    await rig.engine.login("1002")
    rig.ast.unregister("PJSIP/1002")
    await rig.until(lambda: not reachable(rig, "1002"))
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: caller.id in rig.engine.router.line("sales"))
    await rig.engine.idle()
    assert rig.originated("PJSIP/1002") == []
    rig.ast.register("PJSIP/1002")  # answers as it did before it went away
    await rig.until(lambda: rig.originated("PJSIP/1002"))
    await rig.until(lambda: together(rig, caller.id, rig.originated("PJSIP/1002")[0]))


async def test_states_changed_while_disconnected_are_read_on_reconnect(phones: LinkedRig) -> None:
    rig = phones
    await rig.drop_link()
    rig.ast.register("PJSIP/1001")  # nobody connected: these events are lost
    rig.ast.unregister("PJSIP/1002")
    assert rig.events("EndpointStateChange") == []
    await rig.restore_link()
    await rig.until(lambda: reachable(rig, "1001") and not reachable(rig, "1002"))


async def test_a_reload_watches_new_agents_phones(phones: LinkedRig, tmp_path: Path) -> None:
    rig = phones
    rig.ast.endpoints.set("PJSIP/1004", Unregistered())
    conf = tmp_path / "conf"
    text = (conf / "center.yaml").read_text(encoding="utf-8")
    extra = '  "1004": {name: Di, endpoint: PJSIP/1004}\n'
    text = text.replace("ivr:\n", extra + "ivr:\n", 1)
    (conf / "center.yaml").write_text(text, encoding="utf-8")
    await rig.engine.apply_config(load_config(conf))
    await rig.engine.idle()
    assert "endpoint:PJSIP/1004" in rig.ast.subscriptions["callcenter"]
    assert not reachable(rig, "1004")
    rig.ast.register("PJSIP/1004")
    await rig.until(lambda: reachable(rig, "1004"))
