"""While waiting: the core's announcements and prompts played to the caller in the holding
bridge, numbers said as app_queue says them, and keys going to the core (exit key)."""

from __future__ import annotations

from pathlib import Path

from ari_app.engine.waiting import announcement_media, wait_media
from tests.engine.bridges import in_use
from tests.engine.marked import marked_queue
from tests.engine.test_ivr_flow import ended_at, started
from tests.engine.voice_rig import bridge_of, heard, played, queued, voice_rig


def test_position_and_wait_are_said_with_numbers() -> None:
    assert announcement_media(3, 250.0) == [
        "sound:queue-thereare", "number:3", "sound:queue-callswaiting",
        "sound:queue-holdtime", "number:4", "sound:queue-minutes", "sound:queue-thankyou",
    ]  # fmt: skip
    assert announcement_media(1, None) == ["sound:queue-youarenext", "sound:queue-thankyou"]
    assert wait_media(20.0) == [
        "sound:queue-holdtime", "sound:queue-less-than", "number:1", "sound:queue-minute",
    ]  # fmt: skip
    assert wait_media(70.0)[-2:] == ["number:1", "sound:queue-minute"]
    assert announcement_media(None, None) == []
    assert announcement_media(None, float("inf")) == []


async def test_waiting_caller_hears_position_and_prompts_without_leaving_the_music(
    tmp_path: Path,
) -> None:
    async with voice_rig(tmp_path) as rig:
        first = rig.ast.inject_caller("801", args=("inbound", "801"))
        await rig.until(lambda: bridge_of(rig, first.id) == ("holding", True))
        second = rig.ast.inject_caller("803", args=("inbound", "803"), variables={
            "CC_QUEUE": "support"})  # fmt: skip
        await started(rig, second.id, "sound:queue-callswaiting")
        # Played on the channel while it stays in the holding bridge with its music.
        assert bridge_of(rig, second.id) == ("holding", True)
        media = heard(rig, second.id)
        start = media.index("sound:queue-thereare")
        assert media[start : start + 3] == ["sound:queue-thereare", "number:2",
                                            "sound:queue-callswaiting"]  # fmt: skip
        # One announcement is one ARI request: one playback plays its media in turn.
        said = played(rig, second.id)[start : start + 3]
        assert len({event["playback"]["id"] for event in said}) == 1
        assert said[0]["playback"]["next_media_uri"] == "number:2"
        await started(rig, first.id, "sound:hotline/try-wechat-shop")
        assert "sound:queue-youarenext" in heard(rig, first.id)
        # The prompts follow the caller's language (the number's: en).
        assert {p["playback"]["language"] for p in played(rig, first.id)} == {"en"}


async def test_exit_key_leaves_the_queue_for_its_voicemail(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("803", args=("inbound", "803"), variables={
            "CC_QUEUE": "support"})  # fmt: skip
        await queued(rig, caller.id)
        rig.ast.press(caller.id, "5")  # not the exit key: nothing happens
        rig.ast.press(caller.id, "0")
        await rig.until(lambda: rig.events("StasisEnd", caller.id))
        assert ended_at(rig, caller.id) == ("callcenter-targets", "voicemail", 1)
        assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "EXITWITHKEY"]
        await rig.until(lambda: not in_use(rig.ast))
        assert not rig.engine.calls.calls


async def test_exit_key_to_a_menu_runs_it_and_queues_again(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("803", args=("inbound", "803"), variables={
            "CC_QUEUE": "billing"})  # fmt: skip
        await queued(rig, caller.id)
        rig.ast.press(caller.id, "9")  # billing's exit key: ivr:faults
        await started(rig, caller.id, "sound:utility/fault-menu")
        assert bridge_of(rig, caller.id) is None  # out of the music for the menu
        rig.ast.press(caller.id, "1")  # queue:support
        await rig.until(lambda: bridge_of(rig, caller.id) == ("holding", True))
        assert marked_queue(rig.ast.channels[caller.id].variables) == "support"
        log = await rig.queue_log(caller.id)
        assert log == ["ENTERQUEUE", "EXITWITHKEY", "ENTERQUEUE"]


async def test_exit_key_to_an_announcement_plays_it_then_hangs_up(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("805", args=("inbound", "805"))
        await queued(rig, caller.id)
        rig.ast.press(caller.id, "9")
        await rig.until(lambda: caller.id not in rig.ast.channels)
        assert heard(rig, caller.id)[-1] == "sound:hotline/closed-hours"
        await rig.until(lambda: not rig.engine.calls.calls and not in_use(rig.ast))


async def test_overflow_to_a_number_continues_in_the_dialplan(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("803", args=("inbound", "803"), variables={
            "CC_QUEUE": "overflowing"})  # fmt: skip
        await rig.until(lambda: rig.events("StasisEnd", caller.id))
        assert ended_at(rig, caller.id) == ("callcenter-targets", "number", 1)
        varset = {e["variable"]: e["value"] for e in rig.events("ChannelVarset", caller.id)}
        assert varset["CC_TARGET"] == "13800138000"
        assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "EXITWITHTIMEOUT"]


async def test_overflow_without_a_target_hangs_up(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("803", args=("inbound", "803"), variables={
            "CC_QUEUE": "dead-end"})  # fmt: skip
        await rig.until(lambda: caller.id not in rig.ast.channels)
        (request,) = [e for e in rig.events("ChannelHangupRequest", caller.id) if e.get("soft")]
        assert request["cause"] == 32  # the engine's DELETE, not a continue to the fallback
        assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "EXITWITHTIMEOUT"]
