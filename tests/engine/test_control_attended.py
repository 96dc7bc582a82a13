"""Attended transfers and three-way conferences, and hang-ups from every side during them:
nobody stranded, no channel or bridge left behind in the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.engine.control import ControlError
from sim import Answer, Endpoints, NoAnswer
from tests.engine.bridges import in_use
from tests.engine.conftest import Rig
from tests.engine.connected import (
    bridge_of,
    connected_call,
    leftovers,
    linked_rig,
    mixing_members,
    together,
)


async def consulting(rig: Rig, *, after: float = 0.0) -> tuple[str, str, str]:
    """1001 talks with a caller and consults 1002, who answers: (caller, leg, target)."""
    caller, leg = await connected_call(rig, "1001")
    rig.ast.endpoints.set("PJSIP/1002", Answer(after=after))
    await rig.engine.login("1002")
    await rig.engine.control.transfer("1001", "agent", "1002", attended=True)
    assert bridge_of(rig, caller) == ("holding", True)  # the caller hears music meanwhile
    await rig.until(lambda: rig.originated("PJSIP/1002"))
    (target,) = rig.originated("PJSIP/1002")
    return caller, leg, target


async def test_complete_hands_the_caller_to_the_target_and_frees_the_agent(rig: Rig) -> None:
    caller, leg, target = await consulting(rig)
    await rig.until(lambda: together(rig, leg, target))  # agent and target talk
    assert bridge_of(rig, caller) == ("holding", True)
    await rig.engine.control.complete_transfer("1001")
    assert together(rig, caller, target)
    assert leg not in rig.ast.channels
    assert not any(b.bridge_type == "holding" for b in in_use(rig.ast).values())
    assert await rig.queue_log(caller) == ["ENTERQUEUE", "CONNECT", "ATTENDEDTRANSFER"]
    assert str(rig.engine.router.agent_state("1001")) != "on_call"
    transfer = (await rig.store.queue_log(call=caller))[-1]
    mixing = rig.ast.channels[caller].bridge
    assert transfer.data[:2] == ("BRIDGE", mixing)  # log_attended_transfer(): bridge merge
    await rig.engine.control.hangup("1002")  # now 1002's call
    await rig.until(lambda: leftovers(rig) == ([], []))


async def test_cancel_hangs_up_the_target_and_brings_the_caller_back(rig: Rig) -> None:
    caller, leg, target = await consulting(rig)
    await rig.until(lambda: together(rig, leg, target))
    await rig.engine.control.cancel_transfer("1001")
    assert target not in rig.ast.channels
    assert together(rig, caller, leg)
    assert mixing_members(rig, caller) == {caller, leg}
    assert not any(b.bridge_type == "holding" for b in in_use(rig.ast).values())
    assert rig.engine.reachability.reachable("1002")
    with pytest.raises(ControlError, match="no transfer in progress"):
        await rig.engine.control.cancel_transfer("1001")


async def test_refusals_during_a_consult(rig: Rig) -> None:
    caller, leg, target = await consulting(rig, after=5)  # still ringing
    control = rig.engine.control
    with pytest.raises(ControlError, match="not answered"):
        await control.complete_transfer("1001")
    with pytest.raises(ControlError, match="not answered"):
        await control.conference("1001")
    with pytest.raises(ControlError, match="complete or cancel"):
        await control.resume("1001")
    with pytest.raises(ControlError, match="already in progress"):
        await control.transfer("1001", "queue", "support")
    await control.cancel_transfer("1001")  # while it rings
    await rig.until(lambda: target not in rig.ast.channels)
    assert together(rig, caller, leg)


async def test_conference_puts_three_parties_in_one_softmix_bridge(rig: Rig) -> None:
    caller, leg, target = await consulting(rig)
    await rig.until(lambda: together(rig, leg, target))
    await rig.engine.control.conference("1001")
    assert together(rig, caller, leg, target)
    bridge = rig.ast.bridges[rig.ast.channels[caller].bridge or ""]
    assert bridge.technology == "softmix"  # snoop_whisper_barge.md: 3 parties
    with pytest.raises(ControlError, match="already in a conference"):
        await rig.engine.control.conference("1001")
    # The agent leaves the conference: caller and target go on together.
    await rig.engine.control.hangup("1001")
    await rig.until(lambda: rig.engine.calls.leg_of_agent("1001") is None)  # event seen
    await rig.engine.idle()
    assert leg not in rig.ast.channels
    assert together(rig, caller, target)
    assert await rig.queue_log(caller) == ["ENTERQUEUE", "CONNECT", "ATTENDEDTRANSFER"]
    rig.ast.remote_hangup(caller)
    await rig.until(lambda: leftovers(rig) == ([], []))
    await rig.engine.idle()
    assert rig.engine.control.sessions == {}
    assert rig.engine.calls.calls == {}


async def test_target_hanging_up_during_the_consult_returns_the_caller(rig: Rig) -> None:
    caller, leg, target = await consulting(rig)
    await rig.until(lambda: together(rig, leg, target))
    rig.ast.remote_hangup(target)
    await rig.until(lambda: together(rig, caller, leg))
    await rig.engine.idle()
    assert not any(b.bridge_type == "holding" for b in in_use(rig.ast).values())
    await rig.engine.control.hold("1001")  # business as usual
    await rig.engine.control.resume("1001")


async def test_target_hanging_up_in_a_conference_leaves_caller_and_agent(rig: Rig) -> None:
    caller, leg, target = await consulting(rig)
    await rig.until(lambda: together(rig, leg, target))
    await rig.engine.control.conference("1001")
    rig.ast.remote_hangup(target)
    await rig.until(lambda: target not in rig.ast.channels)
    await rig.engine.idle()
    assert together(rig, caller, leg)
    assert mixing_members(rig, caller) == {caller, leg}
    await rig.engine.control.hangup("1001")
    await rig.until(lambda: leftovers(rig) == ([], []))


async def test_caller_hanging_up_during_the_consult_cleans_everything(rig: Rig) -> None:
    caller, _leg, target = await consulting(rig)
    await rig.until(lambda: target in rig.ast.channels)
    rig.ast.remote_hangup(caller)
    await rig.until(lambda: leftovers(rig) == ([], []))
    await rig.engine.idle()
    assert rig.engine.control.sessions == {}
    assert rig.engine.calls.calls == {}
    assert rig.engine.reachability.reachable("1002")
    assert await rig.queue_log(caller) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]


async def test_agent_hanging_up_during_the_consult_completes_the_transfer(rig: Rig) -> None:
    caller, leg, target = await consulting(rig)
    await rig.until(lambda: together(rig, leg, target))
    rig.ast.remote_hangup(leg)
    await rig.until(lambda: together(rig, caller, target))
    assert await rig.queue_log(caller) == ["ENTERQUEUE", "CONNECT", "ATTENDEDTRANSFER"]
    rig.ast.remote_hangup(target)  # then the target ends the call: the caller goes too
    await rig.until(lambda: leftovers(rig) == ([], []))


async def test_agent_hanging_up_while_the_target_rings_hands_over_on_answer(rig: Rig) -> None:
    caller, leg, target = await consulting(rig, after=0.5)
    rig.ast.remote_hangup(leg)
    await rig.until(lambda: leg not in rig.ast.channels)
    assert bridge_of(rig, caller) == ("holding", True)  # music until the target answers
    await rig.until(lambda: together(rig, caller, target))
    await rig.engine.control.hangup("1002")
    await rig.until(lambda: leftovers(rig) == ([], []))


async def test_unanswered_consult_brings_the_caller_back(rig: Rig) -> None:
    rig.engine.control.ring_timeout = 1
    caller, leg = await connected_call(rig, "1001")
    rig.ast.endpoints.set("PJSIP/1002", NoAnswer())
    await rig.engine.login("1002")
    await rig.engine.control.transfer("1001", "agent", "1002", attended=True)
    await rig.until(lambda: rig.originated("PJSIP/1002"))
    (target,) = rig.originated("PJSIP/1002")
    await rig.until(lambda: target not in rig.ast.channels, limit=4)
    await rig.until(lambda: together(rig, caller, leg))


async def test_attended_transfer_to_a_number_rings_it_through_the_outbound_context(
    rig: Rig,
) -> None:
    caller, leg = await connected_call(rig, "1001")
    await rig.engine.control.transfer("1001", "number", "5550000", attended=True)
    await rig.until(lambda: rig.originated("Local/5550000@callcenter-outbound"))
    (target,) = rig.originated("Local/5550000@callcenter-outbound")
    await rig.until(lambda: together(rig, leg, target))
    await rig.engine.control.complete_transfer("1001")
    assert together(rig, caller, target)
    assert leg not in rig.ast.channels
    rig.ast.remote_hangup(caller)
    await rig.until(lambda: leftovers(rig) == ([], []))


async def test_target_gone_while_the_engine_was_disconnected_is_noticed_on_reconnect(
    tmp_path: Path,
) -> None:
    endpoints = Endpoints({"PJSIP/1001": Answer(), "PJSIP/1002": Answer()})
    async with linked_rig(tmp_path, endpoints) as rig:
        caller, leg, target = await consulting(rig)
        await rig.until(lambda: together(rig, leg, target))
        await rig.drop_link()
        rig.ast.remote_hangup(target)  # its events are lost (reconnect.md)
        await rig.restore_link()
        await rig.until(lambda: together(rig, caller, leg))  # back with the agent
        assert rig.engine.reachability.reachable("1002")
        await rig.engine.control.hangup("1001")
        await rig.until(lambda: leftovers(rig) == ([], []))
