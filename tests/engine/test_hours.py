"""Business hours and holidays on arrival, on the engine's clock (not the wall clock):
closed callers get the number's ``closed`` treatment; an outage notice is heard first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ari_app.engine.entry import arrival_for
from callcenter.config import load_config
from tests.engine.marked import marked_queue
from tests.engine.test_ivr_flow import LANGUAGE, ended_at, started
from tests.engine.voice_rig import bridge_of, heard, voice_rig

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
CLOSED = "sound:hotline/closed-hours"


async def closed_announcement_then_hang_up(tmp_path: Path, at: dt.datetime) -> list[str]:
    async with voice_rig(tmp_path, at=at) as rig:
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await rig.until(lambda: caller.id not in rig.ast.channels)
        assert await rig.queue_log(caller.id) == []
        return heard(rig, caller.id)


async def test_after_hours_the_caller_hears_the_closed_announcement(tmp_path: Path) -> None:
    friday_night = dt.datetime(2026, 11, 27, 21, 30, tzinfo=SHANGHAI)
    assert await closed_announcement_then_hang_up(tmp_path, friday_night) == [CLOSED]


async def test_on_a_holiday_the_line_is_closed_at_office_hours(tmp_path: Path) -> None:
    national_day = dt.datetime(2026, 10, 2, 11, 0, tzinfo=SHANGHAI)  # a Friday
    assert await closed_announcement_then_hang_up(tmp_path, national_day) == [CLOSED]


async def test_a_make_up_workday_follows_monday_hours(tmp_path: Path) -> None:
    # Saturday 2026-10-10 is worked (调休): 20:00 is open on Mondays, closed on Saturdays.
    async with voice_rig(tmp_path, at=dt.datetime(2026, 10, 10, 20, 0, tzinfo=SHANGHAI)) as rig:
        caller = rig.ast.inject_caller("800", args=("inbound", "800"))
        await started(rig, caller.id, LANGUAGE)
        assert CLOSED not in heard(rig, caller.id)


async def test_closed_to_voicemail_continues_in_the_dialplan(tmp_path: Path) -> None:
    sunday = dt.datetime(2026, 11, 29, 10, 0, tzinfo=SHANGHAI)
    async with voice_rig(tmp_path, at=sunday) as rig:
        caller = rig.ast.inject_caller("804", args=("inbound", "804"))
        await rig.until(lambda: rig.events("StasisEnd", caller.id))
        assert ended_at(rig, caller.id) == ("callcenter-targets", "voicemail", 1)
        varset = {e["variable"]: e["value"] for e in rig.events("ChannelVarset", caller.id)}
        assert varset["CC_TARGET"] == "night@callcenter"
        assert heard(rig, caller.id) == []


async def test_outage_notice_is_heard_in_full_before_the_queue(tmp_path: Path) -> None:
    async with voice_rig(tmp_path) as rig:
        caller = rig.ast.inject_caller("801", args=("inbound", "801"))  # 24 h, notice on
        await started(rig, caller.id, "sound:utility/outage-notice")
        assert bridge_of(rig, caller.id) is None  # not queued while the notice plays
        rig.ast.press(caller.id, "0")  # not a skip key
        await rig.until(lambda: bridge_of(rig, caller.id) == ("holding", True))
        assert heard(rig, caller.id)[0] == "sound:utility/outage-notice"
        stopped = [e for e in rig.events("PlaybackFinished")
                   if e["playback"]["media_uri"] == "sound:utility/outage-notice"]  # fmt: skip
        assert len(stopped) == 1
        assert marked_queue(rig.ast.channels[caller.id].variables) == "support"


def test_sample_hotline_hours_festival_duty_and_public_holiday() -> None:
    """The shipped samples (queues/): festival duty hours win over the public holiday."""
    config = load_config(Path(__file__).parents[2] / "queues")

    def arrival(local: dt.datetime) -> tuple[bool, str]:
        found = arrival_for(config, "4008201001", {}, local)
        return found.open, str(found.target)

    # Spring Festival duty (hotline-festival-2026, listed first): 10:00-16:00 only.
    assert arrival(dt.datetime(2026, 2, 19, 11, 0, tzinfo=SHANGHAI)) == (
        True, "ivr:hotline-main")  # fmt: skip
    assert arrival(dt.datetime(2026, 2, 19, 17, 0, tzinfo=SHANGHAI)) == (
        False, "voicemail:hotline@callcenter")  # fmt: skip
    # National Day itself is not a duty day: the public holiday closes the line.
    assert arrival(dt.datetime(2026, 10, 1, 11, 0, tzinfo=SHANGHAI))[0] is False
    # An ordinary Friday evening: open until 21:00 for the TV spots.
    assert arrival(dt.datetime(2026, 11, 27, 20, 30, tzinfo=SHANGHAI))[0] is True
