"""Agent call control against the simulated Asterisk: hang-up, hold, mute, DTMF, blind
transfers (queue, agent, number), and every refusal."""

from __future__ import annotations

import pytest

from ari_app.engine.control import ControlError
from sim import Answer, NoAnswer, Unregistered
from tests.engine.bridges import in_use
from tests.engine.conftest import Rig
from tests.engine.connected import bridge_of, connected_call, leftovers, together
from tests.engine.marked import marked_queue


def state(rig: Rig, agent: str) -> str:
    return str(rig.engine.router.agent_state(agent))


async def test_agent_hangs_up_from_the_console_and_the_call_completes(rig: Rig) -> None:
    caller, leg = await connected_call(rig)
    await rig.engine.control.hangup("1001")
    await rig.until(lambda: caller not in rig.ast.channels and leg not in rig.ast.channels)
    assert await rig.queue_log(caller) == ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    await rig.until(lambda: leftovers(rig) == ([], []))
    await rig.engine.idle()
    assert rig.engine.control.sessions == {}


async def test_hold_plays_music_to_the_caller_and_resume_brings_it_back(rig: Rig) -> None:
    caller, leg = await connected_call(rig)
    control = rig.engine.control
    with pytest.raises(ControlError, match="not on hold"):
        await control.resume("1001")
    await control.hold("1001")
    assert bridge_of(rig, caller) == ("holding", True)
    assert bridge_of(rig, leg) == ("mixing", False)  # the agent waits alone, hears nothing
    with pytest.raises(ControlError, match="already on hold"):
        await control.hold("1001")
    await control.resume("1001")
    assert together(rig, caller, leg)
    assert not any(b.bridge_type == "holding" for b in in_use(rig.ast).values())
    assert str(rig.engine.router.call_state(caller)) == "connected"  # the core saw nothing


async def test_mute_stops_what_the_agent_sends_and_unmute_restores_it(rig: Rig) -> None:
    caller, leg = await connected_call(rig)
    control = rig.engine.control
    await control.mute("1001")
    assert rig.ast.channels[leg].muted == {"in"}  # the agent still hears the caller
    assert rig.ast.channels[caller].muted == set()
    with pytest.raises(ControlError, match="already muted"):
        await control.mute("1001")
    await control.unmute("1001")
    assert rig.ast.channels[leg].muted == set()
    with pytest.raises(ControlError, match="not muted"):
        await control.unmute("1001")


async def test_dtmf_goes_to_the_caller_and_bad_digits_are_refused(rig: Rig) -> None:
    caller, leg = await connected_call(rig)
    control = rig.engine.control
    await control.dtmf("1001", "12w#*A")
    for bad in ("", "12Z", "1 2", "9" * 33, "1;Hangup"):
        with pytest.raises(ControlError, match="DTMF"):
            await control.dtmf("1001", bad)
    assert rig.ast.channels[caller].dtmf_sent == ["12w#*A"]
    assert rig.ast.channels[leg].dtmf_sent == []


async def test_an_agent_without_a_call_is_refused_everything(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1002", NoAnswer())
    await rig.engine.login("1002")
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: rig.originated("PJSIP/1002"))  # ringing is not talking
    control = rig.engine.control
    actions = (control.hangup, control.hold, control.resume, control.mute, control.unmute,
               control.complete_transfer, control.cancel_transfer, control.conference)  # fmt: skip
    for action in actions:
        with pytest.raises(ControlError, match="not on a call"):
            await action("1002")
        with pytest.raises(ControlError, match="not on a call"):
            await action("1003")  # logged out
    with pytest.raises(ControlError, match="not on a call"):
        await control.dtmf("1002", "1")
    with pytest.raises(ControlError, match="not on a call"):
        await control.transfer("1002", "queue", "support")
    assert caller.id in rig.ast.channels


async def test_an_agent_can_only_act_on_their_own_call(rig: Rig) -> None:
    first, first_leg = await connected_call(rig, "1001")
    second, second_leg = await connected_call(rig, "1002")
    control = rig.engine.control
    await control.hold("1002")
    await control.mute("1002")
    await control.dtmf("1002", "5")
    assert bridge_of(rig, second) == ("holding", True)
    assert together(rig, first, first_leg)  # untouched
    assert rig.ast.channels[first_leg].muted == set()
    assert rig.ast.channels[first].dtmf_sent == []
    await control.hangup("1001")
    await rig.until(lambda: first not in rig.ast.channels)
    assert second in rig.ast.channels
    assert second_leg in rig.ast.channels
    with pytest.raises(ControlError, match="not on a call"):
        await control.hold("1001")  # the first call is over: nothing to hold for 1001
    await control.resume("1002")
    assert together(rig, second, second_leg)


async def test_blind_transfer_to_a_queue_reenqueues_the_same_call(rig: Rig) -> None:
    caller, leg = await connected_call(rig, "1001")
    rig.ast.endpoints.set("PJSIP/1003", Answer(after=0.2))
    await rig.engine.control.transfer("1001", "queue", "support")
    assert leg not in rig.ast.channels  # the agent is freed at once
    assert bridge_of(rig, caller) == ("holding", True)  # waiting again, with music
    await rig.engine.login("1003")
    await rig.until(lambda: rig.originated("PJSIP/1003"))
    (second,) = rig.originated("PJSIP/1003")
    await rig.until(lambda: together(rig, caller, second))
    assert await rig.queue_log(caller) == [
        "ENTERQUEUE", "CONNECT", "BLINDTRANSFER", "ENTERQUEUE", "CONNECT",
    ]  # fmt: skip
    transfer = (await rig.store.queue_log(call=caller))[2]
    assert (transfer.queue, transfer.data[:2]) == ("sales", ("support", "queue"))
    assert marked_queue(rig.ast.channels[caller].variables) == "support"  # for a restart
    await rig.writer.flush()
    row = await rig.store.get_interaction(caller)
    assert row is not None
    assert (row.first_queue, row.queue) == ("sales", "support")
    await rig.engine.control.hangup("1003")  # the new agent controls the call now
    await rig.until(lambda: leftovers(rig) == ([], []))


async def test_blind_transfer_to_an_agent_bridges_the_caller_with_them(rig: Rig) -> None:
    caller, leg = await connected_call(rig, "1001")
    rig.ast.endpoints.set("PJSIP/1002", Answer(after=0.1))
    await rig.engine.login("1002")
    control = rig.engine.control
    await control.transfer("1001", "agent", "1002")
    assert leg not in rig.ast.channels
    assert bridge_of(rig, caller) == ("holding", True)  # music while 1002 rings
    await rig.until(lambda: rig.originated("PJSIP/1002"))
    (target,) = rig.originated("PJSIP/1002")
    assert target.startswith("cc-xfer-")
    await rig.until(lambda: together(rig, caller, target))
    await rig.until(lambda: not any(b.bridge_type == "holding" for b in in_use(rig.ast).values()))
    assert not rig.engine.reachability.reachable("1002")  # offered nothing meanwhile
    with pytest.raises(ControlError, match="not on a call"):
        await control.hold("1001")
    await control.hold("1002")  # 1002 controls the call now
    await control.resume("1002")
    await control.hangup("1002")
    await rig.until(lambda: leftovers(rig) == ([], []))
    assert rig.engine.reachability.reachable("1002")
    await rig.engine.idle()
    assert await rig.queue_log(caller) == ["ENTERQUEUE", "CONNECT", "BLINDTRANSFER"]


async def test_unanswered_agent_transfer_puts_the_caller_back_at_the_front(rig: Rig) -> None:
    rig.engine.control.ring_timeout = 1
    caller, _leg = await connected_call(rig, "1001")
    rig.ast.endpoints.set("PJSIP/1002", NoAnswer())
    await rig.engine.login("1002")
    await rig.engine.control.transfer("1001", "agent", "1002")
    await rig.engine.logout("1001")
    # 1002 rings for the transfer: offered nothing else, so this caller waits in line.
    waiting = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: waiting.id in rig.engine.router.line("sales"))
    (target,) = rig.originated("PJSIP/1002")
    await rig.until(lambda: caller in rig.engine.router.line("sales"), limit=4)
    assert target not in rig.ast.channels
    await rig.engine.idle()
    assert bridge_of(rig, caller) == ("holding", True)  # never left alone
    assert rig.engine.router.line("sales")[:2] == [caller, waiting.id]  # back at the front
    assert (await rig.queue_log(caller))[-1] == "ENTERQUEUE"
    assert rig.engine.control.sessions == {}


async def test_blind_transfer_to_a_number_continues_into_the_outbound_context(rig: Rig) -> None:
    caller, _leg = await connected_call(rig, "1001")
    await rig.engine.control.transfer("1001", "number", "+4930123456")
    (end,) = rig.events("StasisEnd", caller)
    dialplan = end["channel"]["dialplan"]
    assert (dialplan["context"], dialplan["exten"]) == ("callcenter-outbound", "+4930123456")
    await rig.until(lambda: leftovers(rig) == ([], []))
    assert await rig.queue_log(caller) == ["ENTERQUEUE", "CONNECT", "BLINDTRANSFER"]
    transfer = (await rig.store.queue_log(call=caller))[-1]
    # app_queue's exten|context|holdtime|calltime|origposition
    assert transfer.data[:2] == ("+4930123456", "callcenter-outbound")
    assert transfer.data[4] == "1"
    assert rig.engine.calls.calls == {}


async def test_transfers_that_make_no_sense_are_refused(rig: Rig) -> None:
    caller, leg = await connected_call(rig, "1001")
    control = rig.engine.control
    refusals = [
        ("voicemail", "1002", False, "not 'voicemail'"),
        ("queue", "nowhere", False, "unknown queue"),
        ("queue", "support", True, "cannot be consulted"),
        ("agent", "9999", False, "unknown agent"),
        ("agent", "1001", False, "themselves"),
        ("agent", "1002", False, "not available"),  # logged out
        ("number", "123;Hangup()", False, "digits"),
        ("number", "", False, "no transfer target"),
    ]
    for kind, target, attended, why in refusals:
        with pytest.raises(ControlError, match=why):
            await control.transfer("1001", kind, target, attended=attended)
    assert together(rig, caller, leg)  # nothing changed


async def test_an_agent_whose_phone_fails_at_once_leaves_the_caller_with_the_agent(
    rig: Rig,
) -> None:
    caller, leg = await connected_call(rig, "1001")
    rig.ast.endpoints.set("PJSIP/1002", Answer())
    await rig.engine.login("1002")
    rig.ast.endpoints.set("PJSIP/1002", Unregistered())  # gone since (no event: unsubscribed)
    with pytest.raises(ControlError, match="unreachable"):
        await rig.engine.control.transfer("1001", "agent", "1002")
    assert together(rig, caller, leg)
    assert rig.engine.reachability.reachable("1002")  # not held out of routing by us
