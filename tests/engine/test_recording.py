"""On connect: the queue's recording policy (a bridge recording named after the call,
stopped at the end, its name kept for the interaction) and what the agent's phone shows."""

from __future__ import annotations

from pathlib import Path

from ari_app.engine.callbacks import caller_id
from sim import Answer, CallerId
from tests.engine.bridges import in_use
from tests.engine.voice_rig import bridge_of, voice_rig


def test_caller_id_keeps_callers_text_from_breaking_out() -> None:
    assert caller_id("Ann Lee", "5551234") == '"Ann Lee" <5551234>'
    assert caller_id('O\'Brien "VIP" <x> 张', "+86 138-0013") == '"O\'Brien VIP x 张" <+861380013>'
    assert caller_id("", "5551234") == "5551234"
    assert caller_id("", "") is None


async def test_recorded_queue_records_the_bridge_until_the_end(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
        await rig.engine.login("1001")
        caller = rig.ast.inject_caller("803", caller=CallerId('Zhang "Boss"', "5550123"),
                                       args=("inbound", "803"))  # fmt: skip
        await rig.until(lambda: rig.originated("PJSIP/1001"))
        (leg,) = rig.originated("PJSIP/1001")
        # The agent's phone shows the caller (originate callerId: caller and connected line).
        dials = [e for e in rig.events("Dial") if e["peer"]["id"] == leg]
        assert dials[0]["peer"]["caller"] == {"name": "Zhang Boss", "number": "5550123"}
        assert dials[0]["peer"]["connected"]["number"] == "5550123"
        await rig.until(lambda: rig.events("RecordingStarted"))
        (started,) = rig.events("RecordingStarted")
        mixing = rig.ast.channels[caller.id].bridge
        assert bridge_of(rig, caller.id) == ("mixing", False)
        assert started["recording"]["name"] == f"cc-{caller.id}"
        assert started["recording"]["target_uri"] == f"bridge:{mixing}"

        rig.ast.remote_hangup(caller.id)
        await rig.until(lambda: rig.events("RecordingFinished"))
        assert f"cc-{caller.id}" in rig.ast.media.stored
        await rig.until(lambda: not in_use(rig.ast))
        await rig.engine.idle()
        await rig.writer.flush()
        interaction = await rig.store.get_interaction(caller.id)
        assert interaction is not None
        assert interaction.recording_path == f"cc-{caller.id}"


async def test_unrecorded_queue_starts_no_recorder(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        rig.ast.endpoints.set("PJSIP/1002", Answer(after=0.05))
        await rig.engine.login("1002")
        caller = rig.ast.inject_caller("803", args=("inbound", "803"),
                                       variables={"CC_QUEUE": "support"})  # fmt: skip
        await rig.until(lambda: bridge_of(rig, caller.id) == ("mixing", False))
        (leg,) = rig.originated("PJSIP/1002")
        rig.ast.remote_hangup(leg)
        await rig.until(lambda: not in_use(rig.ast))
        assert rig.events("RecordingStarted") == []
        interaction = await rig.store.get_interaction(caller.id)
        assert interaction is None or interaction.recording_path is None
