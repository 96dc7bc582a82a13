"""A callback, round trip: offered while waiting, accepted with the key (the number keyed in
when the caller id is withheld), confirmed, the caller hung up with the place kept; in
turn the agent is called first, then the customer, and both are bridged."""

from __future__ import annotations

from pathlib import Path

from sim import Answer, CallerId
from tests.engine.bridges import in_use
from tests.engine.conftest import Rig
from tests.engine.test_ivr_flow import started
from tests.engine.voice_rig import bridge_of, heard, voice_rig

OFFER = "sound:callcenter/callback-offer"


async def queued_in_billing(rig: Rig, number: str) -> str:
    caller = rig.ast.inject_caller("802", caller=CallerId("Wang", number), args=("inbound", "802"))
    await rig.until(lambda: bridge_of(rig, caller.id) == ("holding", True))
    await started(rig, caller.id, "digits:*")  # the offer says which key
    assert heard(rig, caller.id)[-2:] == [OFFER, "digits:*"]
    return caller.id


async def test_callback_keeps_the_place_and_calls_the_agent_then_the_customer(
    tmp_path: Path,
) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = await queued_in_billing(rig, "5550100")
        rig.ast.press(caller, "*")
        await rig.until(lambda: caller not in rig.ast.channels)  # hung up after the confirmation
        assert heard(rig, caller)[-3:] == [
            "sound:callcenter/callback-booked", "digits:5550100", "sound:vm-goodbye",
        ]  # fmt: skip
        await rig.until(lambda: not in_use(rig.ast))  # out of the holding bridge ...
        assert caller in rig.engine.calls.calls  # ... but the place is kept

        rig.ast.endpoints.set("PJSIP/1003", Answer(after=0.1))
        await rig.engine.login("1003")
        await rig.until(lambda: rig.originated("PJSIP/1003"))
        (leg,) = rig.originated("PJSIP/1003")
        # The agent's phone shows the customer's number; the agent is on the line first.
        dials = [e for e in rig.events("Dial") if e["peer"]["id"] == leg]
        assert dials[0]["peer"]["caller"]["number"] == "5550100"
        await rig.until(lambda: rig.originated("Local/5550100@callcenter-outbound"))
        customers = rig.originated("Local/5550100@callcenter-outbound")
        (customer,) = customers
        await rig.until(lambda: bridge_of(rig, customer) == ("mixing", False))
        assert rig.ast.channels[leg].bridge == rig.ast.channels[customer].bridge
        assert rig.ast.channels[customer].caller.number == "802"  # the center calls back

        rig.ast.remote_hangup(customer)
        await rig.until(lambda: leg not in rig.ast.channels)
        assert await rig.queue_log(caller) == [
            "ENTERQUEUE", "INFO", "CONNECT", "COMPLETECALLER",
        ]  # fmt: skip
        await rig.until(lambda: not rig.engine.calls.calls and not in_use(rig.ast))


async def test_withheld_number_is_keyed_in(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = await queued_in_billing(rig, "")
        rig.ast.press(caller, "*")
        await started(rig, caller, "sound:callcenter/callback-enter-number")
        rig.ast.press(caller, "5551234#")
        await rig.until(lambda: caller not in rig.ast.channels)
        assert "digits:5551234" in heard(rig, caller)
        lines = await rig.store.queue_log(call=caller)
        assert [(line.verb, line.data) for line in lines][-1] == ("INFO", ("CALLBACK", "5551234"))


async def test_a_number_too_short_is_refused_and_the_caller_stays(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = await queued_in_billing(rig, "")
        rig.ast.press(caller, "*")
        await started(rig, caller, "sound:callcenter/callback-enter-number")
        rig.ast.press(caller, "12#")
        await started(rig, caller, "sound:callcenter/callback-number-invalid")
        assert bridge_of(rig, caller) == ("holding", True)
        assert await rig.queue_log(caller) == ["ENTERQUEUE"]
        rig.ast.press(caller, "*")  # another try
        await started(rig, caller, "sound:callcenter/callback-enter-number", count=2)


async def test_customer_not_reached_ends_the_call_and_frees_the_agent(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = await queued_in_billing(rig, "5550199")
        rig.ast.press(caller, "*")
        await rig.until(lambda: caller not in rig.ast.channels)
        rig.ast.endpoints.set("Local/5550199@callcenter-outbound", Answer(after=60))
        rig.ast.endpoints.set("PJSIP/1003", Answer(after=0.05))
        await rig.engine.login("1003")
        await rig.until(lambda: rig.originated("Local/5550199@callcenter-outbound"))
        (customer,) = rig.originated("Local/5550199@callcenter-outbound")
        rig.ast.remote_hangup(customer)  # rejected before answering
        (leg,) = rig.originated("PJSIP/1003")
        await rig.until(lambda: leg not in rig.ast.channels)
        await rig.until(lambda: not rig.engine.calls.calls and not in_use(rig.ast))
        assert (await rig.queue_log(caller))[-1] == "COMPLETECALLER"
