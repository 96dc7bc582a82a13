"""A waiting caller a supervisor moves to another queue (``CallerMoved``), or the core
sends on to another queue (overflow), hears that queue's music and prompts from then on:
it is swapped into the holding bridge of that queue's music class (holding.py).

The simulator's REST requests are recorded (``POST /bridges/{id}/moh`` with its
``mohClass``), as the budget test records them (tests/engine/test_request_budget.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import sim.routes
import sim.server
from ari_app.engine.holding import shared_bridge_id
from callcenter.core import events as ev
from sim import SimAsterisk, Sounds
from tests.engine.conftest import Rig, engine_rig
from tests.engine.voice_rig import bridge_of, heard, queued

CONFIG = """\
pause_reasons:
  missed: {label: Missed calls, on_ring_no_answer: true}
queues:
  sales:
    strategy: linear
    members: ["1001"]
    music_class: sales-jazz
    announcements: {periodic_prompts: [sales/offer], periodic_every: 0.2}
  support:
    strategy: linear
    members: ["1002"]
    music_class: support-calm
    announcements: {periodic_prompts: [support/hint], periodic_every: 0.2}
  brief:
    strategy: linear
    members: ["1001"]
    music_class: sales-jazz
    max_wait: 0.3
    overflow: queue:support
  lounge:
    strategy: linear
    members: ["1001"]
    music_class: sales-jazz
agents:
  "1001": {name: Ann, endpoint: PJSIP/1001}
  "1002": {name: Bob, endpoint: PJSIP/1002}
numbers:
  "800": {target: queue:sales}
  "801": {target: queue:brief}
"""

MohRequest = tuple[str, str | None]  # bridge, mohClass (None: a stop)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with engine_rig(tmp_path, CONFIG, sounds=Sounds({}, default=0.05), poll=0) as made:
        yield made


@pytest.fixture
def moh(monkeypatch: pytest.MonkeyPatch) -> list[MohRequest]:
    """Every music-on-hold request the simulator answers, in order."""
    seen: list[MohRequest] = []
    original = sim.routes.dispatch

    def recorded(ast: SimAsterisk, method: str, path: str, params: dict[str, Any]) -> Any:
        if path.endswith("/moh"):
            bridge = path.split("/")[-2]
            seen.append((bridge, params.get("mohClass") if method == "POST" else None))
        return original(ast, method, path, params)

    monkeypatch.setattr(sim.server, "dispatch", recorded)
    return seen


def holding_of(rig: Rig, channel: str) -> str:
    live = rig.ast.channels[channel]
    assert live.bridge is not None
    return live.bridge


async def test_a_moved_caller_hears_the_new_queues_music_and_prompts(
    rig: Rig, moh: list[MohRequest]
) -> None:
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await queued(rig, caller.id)
    await rig.until(lambda: "sound:sales/offer" in heard(rig, caller.id))
    holding = holding_of(rig, caller.id)
    assert moh == [(holding, "sales-jazz")]
    assert holding == shared_bridge_id("sales-jazz")

    await rig.engine.dispatcher.request(ev.CallerMoved(rig.engine.now(), caller.id, "support"))
    await rig.engine.idle()
    # Swapped over to the holding bridge playing the new class (never out of the music).
    assert holding_of(rig, caller.id) == shared_bridge_id("support-calm")
    assert moh[-1] == (shared_bridge_id("support-calm"), "support-calm")
    assert bridge_of(rig, caller.id) == ("holding", True)
    assert rig.ast.bridges[holding].channels == []  # left for the next caller of that class
    before = len(heard(rig, caller.id))
    await rig.until(lambda: "sound:support/hint" in heard(rig, caller.id)[before:])
    assert "sound:sales/offer" not in heard(rig, caller.id)[before:]


async def test_a_caller_overflowing_into_another_queue_hears_its_music(
    rig: Rig, moh: list[MohRequest]
) -> None:
    caller = rig.ast.inject_caller("801", args=("inbound", "801"))
    await queued(rig, caller.id)
    holding = holding_of(rig, caller.id)
    await rig.until(lambda: rig.engine.executor.calls.calls[caller.id].queue == "support")
    await rig.engine.idle()
    assert moh[0] == (holding, "sales-jazz")
    assert moh[-1] == (shared_bridge_id("support-calm"), "support-calm")
    assert holding_of(rig, caller.id) == shared_bridge_id("support-calm")
    await rig.until(lambda: "sound:support/hint" in heard(rig, caller.id))


async def test_a_move_between_queues_of_the_same_music_asks_nothing_more(
    rig: Rig, moh: list[MohRequest]
) -> None:
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await queued(rig, caller.id)
    await rig.engine.dispatcher.request(ev.CallerMoved(rig.engine.now(), caller.id, "lounge"))
    await rig.engine.idle()
    assert moh == [(holding_of(rig, caller.id), "sales-jazz")]
