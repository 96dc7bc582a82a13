"""The engine asks Asterisk for the events it reads and no others (ARI's eventFilter)."""

from __future__ import annotations

from ari_app.client import EVENT_TYPES
from ari_app.engine.app import ENGINE_EVENTS
from sim import Answer
from tests.engine.conftest import Rig
from tests.engine.test_inbound_flow import together


def test_the_engine_reads_only_event_types_the_client_knows() -> None:
    assert set(ENGINE_EVENTS) <= set(EVENT_TYPES)


async def test_a_call_is_served_without_the_events_the_engine_does_not_read(rig: Rig) -> None:
    allowed, disallowed = rig.ast.bus.filter_of("callcenter")
    assert allowed == []
    assert {"ChannelVarset", "ChannelEnteredBridge", "ChannelLeftBridge", "BridgeCreated"} <= set(
        disallowed
    )
    assert not set(disallowed) & ENGINE_EVENTS
    assert "RESTResponse" not in disallowed

    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    await rig.engine.login("1001")
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: rig.originated("PJSIP/1001"))
    (leg,) = rig.originated("PJSIP/1001")
    await rig.until(lambda: together(rig, caller.id, leg))
    rig.ast.remote_hangup(caller.id)
    await rig.until(lambda: not rig.ast.channels)
    # Asterisk raised bridge events for the call; its filter kept them off the socket.
    assert rig.events("ChannelEnteredBridge", caller.id)
    assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
