"""IVR menus run by the engine on the simulated Asterisk: prompts as channel playbacks,
keys as ChannelDtmfReceived, barge-in, timeouts, retries, language, sub-menus, and every
kind of option (tests/engine/voice_rig.py has the menus)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sim import Answer, CallerId
from tests.engine.bridges import in_use
from tests.engine.conftest import Rig
from tests.engine.marked import marked_queue
from tests.engine.voice_rig import bridge_of, heard, played, voice_rig

MENU = ["sound:hotline/welcome", "sound:hotline/main-menu"]
LANGUAGE = "sound:hotline/choose-language"


async def started(rig: Rig, channel: str, media: str, count: int = 1) -> None:
    await rig.until(lambda: heard(rig, channel).count(media) >= count)


def ended_at(rig: Rig, channel: str) -> tuple[str, str, int]:
    """Where the caller continued in the dialplan (its StasisEnd's dialplan location)."""
    (end,) = rig.events("StasisEnd", channel)
    dialplan = end["channel"]["dialplan"]
    return dialplan["context"], dialplan["exten"], dialplan["priority"]


async def test_language_choice_then_barge_in_to_a_queue_with_the_path(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.2))
        await rig.engine.login("1001")
        caller = rig.ast.inject_caller("800", caller=CallerId("Li", "5550001"),
                                       args=("inbound", "800"))  # fmt: skip
        await started(rig, caller.id, LANGUAGE)
        assert played(rig, caller.id)[0]["playback"]["language"] == "zh"  # the number's
        await rig.until(lambda: rig.events("PlaybackFinished"))
        rig.ast.press(caller.id, "2")  # English
        await started(rig, caller.id, MENU[0])
        rig.ast.press(caller.id, "1")  # during the welcome: barge-in
        await rig.until(lambda: bridge_of(rig, caller.id) == ("holding", True))
        assert heard(rig, caller.id) == [LANGUAGE, MENU[0]]  # the main-menu prompt never started
        assert [p["playback"]["language"] for p in played(rig, caller.id)] == ["zh", "en"]
        variables = rig.ast.channels[caller.id].variables
        assert marked_queue(variables) == "sales"
        assert (variables["CC_LANG"], variables["CHANNEL(language)"]) == ("en", "en")
        await rig.until(lambda: rig.originated("PJSIP/1001"))
        caller_state = rig.engine.router.calls.get(caller.id)
        assert caller_state is None or caller_state.attributes["ivr_path"] == "main>1"
        (leg,) = rig.originated("PJSIP/1001")
        await rig.until(lambda: bridge_of(rig, leg) == ("mixing", False))
        assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "CONNECT"]
        interaction = await rig.store.get_interaction(caller.id)
        assert interaction is not None
        assert interaction.ivr_path == "main>1"


async def test_wrong_keys_use_up_the_retries_then_after_retries(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await started(rig, caller.id, LANGUAGE)
        rig.ast.press(caller.id, "1")
        await started(rig, caller.id, MENU[1])
        rig.ast.press(caller.id, "8")  # no such option
        await started(rig, caller.id, MENU[0], count=2)
        assert heard(rig, caller.id)[-2:] == ["sound:option-is-invalid", MENU[0]]
        rig.ast.press(caller.id, "#")  # wrong again: retries (1) used up
        await rig.until(lambda: bridge_of(rig, caller.id) == ("holding", True))
        assert marked_queue(rig.ast.channels[caller.id].variables) == "support"
        assert await rig.queue_log(caller.id) == ["ENTERQUEUE"]


async def test_silence_takes_the_default_language_and_replays_then_gives_up(
    tmp_path: Path,
) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await rig.until(lambda: bridge_of(rig, caller.id) == ("holding", True), limit=10)
        # choose-language, (0.6 s) the menu in the default language, (0.6 s) again, (0.6 s)
        assert heard(rig, caller.id)[:5] == [LANGUAGE, *MENU, *MENU]
        assert {p["playback"]["language"] for p in played(rig, caller.id)[:5]} == {"zh"}
        assert marked_queue(rig.ast.channels[caller.id].variables) == "support"


async def test_caller_hanging_up_mid_prompt_leaves_nothing_behind(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await started(rig, caller.id, LANGUAGE)
        rig.ast.press(caller.id, "1")
        await started(rig, caller.id, MENU[0])
        rig.ast.remote_hangup(caller.id)
        await rig.engine.idle()
        await rig.until(lambda: not rig.engine.calls.calls)
        count = len(heard(rig, caller.id))
        await asyncio.sleep(0.8)  # longer than the menu's timeout: no timer is left to fire
        assert not rig.engine.executor.menus.running(caller.id)
        assert not rig.engine.executor.voice.speaking(caller.id)
        assert len(heard(rig, caller.id)) == count == 2
        assert await rig.queue_log(caller.id) == []
        assert not in_use(rig.ast)


async def test_sub_menu_junk_then_the_closed_announcement_and_hang_up(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await started(rig, caller.id, LANGUAGE)
        rig.ast.press(caller.id, "1")
        await started(rig, caller.id, MENU[0])
        rig.ast.press(caller.id, "2")  # the faults menu
        await started(rig, caller.id, "sound:utility/fault-menu")
        rig.ast.press(caller.id, "7")  # junk, no retries: after_retries announcement:closed
        await rig.until(lambda: caller.id not in rig.ast.channels)
        assert heard(rig, caller.id)[-2:] == [
            "sound:utility/fault-menu",
            "sound:hotline/closed-hours",
        ]
        (request,) = [e for e in rig.events("ChannelHangupRequest", caller.id) if e.get("soft")]
        assert request["cause"] == 32  # hung up by the engine (ARI DELETE)


async def test_closed_announcement_is_heard_in_full_despite_keys(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await started(rig, caller.id, LANGUAGE)
        rig.ast.press(caller.id, "1")
        await started(rig, caller.id, MENU[0])
        rig.ast.press(caller.id, "2")
        await started(rig, caller.id, "sound:utility/fault-menu")
        rig.ast.press(caller.id, "7")
        await started(rig, caller.id, "sound:hotline/closed-hours")
        rig.ast.press(caller.id, "1")  # ignored: the announcement goes on
        await rig.until(lambda: caller.id not in rig.ast.channels)
        finished = [e for e in rig.events("PlaybackFinished")
                    if e["playback"]["media_uri"] == "sound:hotline/closed-hours"]  # fmt: skip
        assert len(finished) == 1
        assert rig.engine.executor.voice.speaking(caller.id) is False


# Option 7 (agent:1002) goes through the core: tests/engine/test_ivr_agent.py.
@pytest.mark.parametrize(
    ("key", "where", "target"),
    [
        ("3", ("selfservice", "authenticity", 1), None),
        ("5", ("callcenter-targets", "voicemail", 1), "box@callcenter"),
        ("6", ("callcenter-targets", "number", 1), "13800138000"),
    ],
)
async def test_options_into_the_dialplan(
    tmp_path: Path, key: str, where: tuple[str, str, int], target: str | None
) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await started(rig, caller.id, LANGUAGE)
        rig.ast.press(caller.id, "1")
        await started(rig, caller.id, MENU[0])
        rig.ast.press(caller.id, key)
        await rig.until(lambda: rig.events("StasisEnd", caller.id))
        assert ended_at(rig, caller.id) == where
        varset = {e["variable"]: e["value"] for e in rig.events("ChannelVarset", caller.id)}
        assert varset.get("CC_TARGET") == target
        await rig.until(lambda: not rig.engine.calls.calls)


async def test_hangup_option_hangs_up(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await started(rig, caller.id, LANGUAGE)
        rig.ast.press(caller.id, "1")
        await started(rig, caller.id, MENU[0])
        rig.ast.press(caller.id, "4")
        await rig.until(lambda: caller.id not in rig.ast.channels)
        assert rig.events("StasisEnd", caller.id)[0]["channel"]["dialplan"]["app_name"] == "Stasis"
        await rig.until(lambda: not rig.engine.calls.calls)


async def test_a_fault_in_the_menus_sends_that_caller_to_the_fallback_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with voice_rig(tmp_path) as rig:
        other = rig.ast.inject_caller("803", args=("inbound", "803"))
        await rig.until(lambda: bridge_of(rig, other.id) == ("holding", True))
        menus = rig.engine.executor.menus

        def broken(call: str) -> None:
            raise RuntimeError("bug in a menu")

        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await started(rig, caller.id, LANGUAGE)
        monkeypatch.setattr(menus.voice, "stop", broken)
        rig.ast.press(caller.id, "1")  # barge-in: the stop raises
        await rig.until(lambda: rig.events("StasisEnd", caller.id))
        assert ended_at(rig, caller.id) == ("callcenter-fallback", "s", 1)
        assert not menus.running(caller.id)
        assert bridge_of(rig, other.id) == ("holding", True)  # the other caller waits on
