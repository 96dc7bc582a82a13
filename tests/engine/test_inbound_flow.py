"""An inbound call through the engine and the simulated Asterisk: answered, queued with
music, an agent rung and bridged, hung up from either side, written to queue_log; with
the engine's ARI writes on the websocket and over HTTP (`either_rig`)."""

from __future__ import annotations

import pytest

from ari_app.engine.calls import new_leg_id
from sim import Answer, Busy, CallerId, NoAnswer, Unregistered
from tests.engine.bridges import in_use
from tests.engine.conftest import Rig
from tests.engine.marked import marked


@pytest.fixture
def rig(either_rig: Rig) -> Rig:
    return either_rig


def bridge_of(rig: Rig, channel: str) -> tuple[str, bool] | None:
    """The type of the bridge `channel` is in, and whether it plays music."""
    live = rig.ast.channels.get(channel)
    if live is None or live.bridge is None:
        return None
    bridge = rig.ast.bridges[live.bridge]
    return bridge.bridge_type, bridge.moh


def together(rig: Rig, a: str, b: str) -> bool:
    first, second = rig.ast.channels.get(a), rig.ast.channels.get(b)
    return bool(first and second and first.bridge and first.bridge == second.bridge)


async def test_caller_hears_music_then_is_bridged_with_the_agent_and_hangs_up(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.3))
    await rig.engine.login("1001")
    caller = rig.ast.inject_caller(
        "800", caller=CallerId("Ann", "5551234"), args=("inbound", "800"),
        variables={"CC_QUEUE": "sales", "CC_LANG": "zh"},
    )  # fmt: skip
    await rig.until(lambda: bridge_of(rig, caller.id) == ("holding", True))
    assert rig.ast.channels[caller.id].state == "Up"
    variables = rig.ast.channels[caller.id].variables
    place = marked(variables)
    assert (place.queue, place.priority) == ("sales", 0)
    assert place.entered > 1e9  # epoch seconds, for restart recovery
    await rig.until(lambda: rig.originated("PJSIP/1001"))
    (leg,) = rig.originated("PJSIP/1001")
    await rig.until(lambda: together(rig, caller.id, leg))
    assert bridge_of(rig, caller.id) == ("mixing", False)
    (start,) = rig.events("StasisStart", leg)
    assert start["args"] == ["agent", caller.id, "1001"]
    # Destroyed by the request after the swap into the mixing bridge: wait for it.
    await rig.until(lambda: not any(b.bridge_type == "holding" for b in in_use(rig.ast).values()))

    rig.ast.remote_hangup(caller.id)
    await rig.until(lambda: leg not in rig.ast.channels)
    assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    await rig.until(lambda: not in_use(rig.ast))  # the mixing bridge is destroyed too
    assert not rig.engine.calls.calls


async def test_agent_who_never_answers_is_passed_over_for_the_next(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    rig.ast.endpoints.set("PJSIP/1002", Answer(after=0.05))
    await rig.engine.login("1001")
    await rig.engine.login("1002")
    # No CC_QUEUE: the dialed number 800 leads to queue:sales.
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: rig.originated("PJSIP/1002"))
    (leg,) = rig.originated("PJSIP/1002")
    await rig.until(lambda: together(rig, caller.id, leg))
    assert len(rig.originated("PJSIP/1001")) == 1

    rig.ast.remote_hangup(leg)  # the agent ends the call: the caller is hung up
    await rig.until(lambda: caller.id not in rig.ast.channels)
    assert await rig.queue_log(caller.id) == [
        "ENTERQUEUE", "RINGNOANSWER", "CONNECT", "COMPLETEAGENT",
    ]  # fmt: skip


async def test_unregistered_agent_fails_at_once_and_the_next_is_rung(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Unregistered())
    rig.ast.endpoints.set("PJSIP/1002", Answer())
    await rig.engine.login("1001")
    await rig.engine.login("1002")
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: rig.originated("PJSIP/1002"))
    (leg,) = rig.originated("PJSIP/1002")
    await rig.until(lambda: together(rig, caller.id, leg))
    assert rig.originated("PJSIP/1001") == []  # 500 Allocation failed: no channel, no event
    assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "RINGNOANSWER", "CONNECT"]
    results = {(leg.agent, leg.result) for leg in await rig.store.legs(caller.id)}
    assert results == {("1001", "failed"), ("1002", "answered")}


async def test_caller_hanging_up_while_the_agent_rings_cancels_the_ring(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", NoAnswer())
    await rig.engine.login("1001")
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: rig.originated("PJSIP/1001"))
    (leg,) = rig.originated("PJSIP/1001")
    rig.ast.remote_hangup(caller.id)
    await rig.until(lambda: leg not in rig.ast.channels)
    assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "RINGCANCELED", "ABANDON"]
    assert str(rig.engine.router.agent_state("1001")) == "ready"


async def test_busy_agent_is_passed_over(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Busy())
    rig.ast.endpoints.set("PJSIP/1002", Answer())
    await rig.engine.login("1001")
    await rig.engine.login("1002")
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: rig.originated("PJSIP/1002"))
    (leg,) = rig.originated("PJSIP/1002")
    await rig.until(lambda: together(rig, caller.id, leg))
    assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "RINGNOANSWER", "CONNECT"]


def test_leg_ids_are_never_prefixes_of_each_other() -> None:
    ids = [new_leg_id() for _ in range(200)]
    assert not any(a != b and b.startswith(a) for a in ids for b in ids)
