"""The engine on the simulated Asterisk with menus, hours, waiting-room prompts and
callbacks configured: shared by tests/engine/test_ivr_flow.py, test_hours.py,
test_waiting_media.py, test_callback.py and test_recording.py.

Prompts last 50 ms (`Sounds`; `LONG` ones 0.5 s) and menu timeouts under a second, long
enough for a test to press a key on a loaded machine; the engine's clock can be set to
any moment (``at``), for business hours and holidays.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sim import Sounds
from tests.engine.conftest import Rig, engine_rig

CONFIG = """\
pause_reasons:
  missed: {label: Missed calls, on_ring_no_answer: true}
hours:
  office:
    timezone: Asia/Shanghai
    weekly: {mon-fri: "08:30-21:00", sat: "09:00-12:00"}
    holidays: [cn]
holidays:
  cn:
    days: [{name: National Day, from: 2026-10-01, to: 2026-10-07}]
    workdays: [2026-10-10]
queues:
  sales:
    strategy: linear
    ring_timeout: 1
    retry: 0
    members: ["1001"]
    record: true
  support:
    strategy: linear
    ring_timeout: 1
    retry: 0
    members: ["1002"]
    exit_key: "0"
    exit_target: voicemail:support@callcenter
    announcements: {every: 0.4, position: true, expected_wait: true,
                    periodic_prompts: [hotline/try-wechat-shop], periodic_every: 0.5}
  billing:
    strategy: linear
    ring_timeout: 1
    retry: 0
    members: ["1003"]
    callback: {after: 0.2, key: "*", ask_number: true}
    record: true
    exit_key: "9"
    exit_target: ivr:faults
  desk:
    strategy: linear
    members: ["1003"]
    exit_key: "9"
    exit_target: announcement:closed
  overflowing: {members: ["1003"], max_wait: 0.3, overflow: "number:13800138000"}
  dead-end: {members: ["1003"], max_wait: 0.3}
agents:
  "1001": {name: Ann, endpoint: PJSIP/1001}
  "1002": {name: Bob, endpoint: PJSIP/1002}
  "1003": {name: Cy, endpoint: PJSIP/1003}
ivr:
  main:
    language: {prompt: hotline/choose-language, keys: {1: zh, 2: en}, default: zh}
    prompts: [hotline/welcome, hotline/main-menu]
    options: {1: queue:sales, 2: ivr:faults, 3: "dialplan:selfservice,authenticity,1",
              4: hangup, 5: "voicemail:box@callcenter", 6: "number:13800138000", 7: agent:1002}
    timeout: 0.6
    retries: 1
    after_retries: queue:support
  faults:
    prompts: [utility/fault-menu]
    options: {1: queue:support, 9: ivr:main}
    timeout: 1.0
    retries: 0
    invalid_prompt: utility/invalid-option
    after_retries: announcement:closed
announcements:
  closed: {prompts: [hotline/closed-hours]}
  outage: {prompts: [utility/outage-notice], active: true}
numbers:
  "800": {target: ivr:main, language: zh, hours: office, closed: announcement:closed}
  "801": {target: queue:support, language: en, announcement: outage}
  "802": {target: queue:billing, attributes: {vip: true}}
  "803": {target: queue:sales}
  "804": {target: ivr:main, hours: office, closed: "voicemail:night@callcenter"}
  "805": {target: queue:desk}
"""
LONG = {
    f"sound:{name}": 0.5
    for name in ("hotline/welcome", "hotline/closed-hours", "utility/outage-notice")
}
"""Prompts a test presses a key during: long enough to press on a loaded machine."""
OPEN = dt.datetime(2026, 11, 27, 4, 0, tzinfo=dt.UTC)
"""A Friday, 12:00 in Shanghai: open."""


@contextlib.asynccontextmanager
async def voice_rig(tmp_path: Path, *, at: dt.datetime = OPEN) -> AsyncIterator[Rig]:
    offset = at.timestamp() - time.time()
    sounds = Sounds(LONG, default=0.05)
    async with engine_rig(
        tmp_path, CONFIG, sounds=sounds, now=lambda: time.time() + offset, poll=0
    ) as rig:
        yield rig


def heard(rig: Rig, channel: str) -> list[str]:
    """The media started on ``channel``, in order (PlaybackStarted events)."""
    return [e["playback"]["media_uri"] for e in played(rig, channel)]


def played(rig: Rig, channel: str) -> list[dict[str, Any]]:
    return [
        e for e in rig.ast.bus.log
        if e["type"] == "PlaybackStarted" and e["playback"]["target_uri"] == f"channel:{channel}"
    ]  # fmt: skip


def requests(rig: Rig, type_: str, channel: str) -> list[dict[str, Any]]:
    return rig.events(type_, channel)


async def queued(rig: Rig, channel: str) -> None:
    """Until the caller hears the music and the core has it in line (keys count from then)."""
    await rig.until(
        lambda: (
            bridge_of(rig, channel) == ("holding", True)
            and rig.engine.router.calls.get(channel) is not None
        )
    )


def bridge_of(rig: Rig, channel: str) -> tuple[str, bool] | None:
    """The type of the bridge ``channel`` is in, and whether it plays music."""
    live = rig.ast.channels.get(channel)
    if live is None or live.bridge is None:
        return None
    bridge = rig.ast.bridges[live.bridge]
    return bridge.bridge_type, bridge.moh
