"""An IVR option ``agent:ID`` goes through the core: the caller waits with music in the
agent's first-choice queue for that agent only (counted, in queue_log and the interaction
row), is rung to it when the agent is free, waits while it is busy, and after
``AGENT_WAIT`` seconds is taken by any agent of the queue. An agent in no queue is still
rung by the dialplan (``callcenter-targets,agent``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ari_app.engine import Engine, routing
from callcenter.store.journal import Journal
from sim import Answer, Sounds
from tests.engine.conftest import Rig, engine_rig
from tests.engine.test_ivr_flow import ended_at, started
from tests.engine.test_restart import kill
from tests.engine.voice_rig import bridge_of

CONFIG = """\
pause_reasons:
  missed: {label: Missed calls, on_ring_no_answer: true}
queues:
  support:
    strategy: linear
    ring_timeout: 2
    retry: 0
    members: ["1001", "1002"]
agents:
  "1001": {name: Ann, endpoint: PJSIP/1001}
  "1002": {name: Bob, endpoint: PJSIP/1002}
  "1003": {name: Cy, endpoint: PJSIP/1003}
ivr:
  main:
    prompts: [hotline/welcome]
    options: {"7": agent:1002, "8": agent:1003}
    timeout: 3
numbers:
  "800": {target: ivr:main}
"""
WELCOME = "sound:hotline/welcome"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with engine_rig(tmp_path, CONFIG, sounds=Sounds({}, default=0.05), poll=0) as made:
        yield made


async def choose(rig: Rig, key: str) -> str:
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await started(rig, caller.id, WELCOME)
    rig.ast.press(caller.id, key)
    return caller.id


async def talking(rig: Rig, caller: str, endpoint: str, nth: int = 1) -> str:
    """Until ``caller`` talks to the ``nth`` leg rung to ``endpoint``."""
    await rig.until(lambda: len(rig.originated(endpoint)) >= nth)
    leg = rig.originated(endpoint)[nth - 1]
    await rig.until(lambda: bridge_of(rig, caller) == ("mixing", False))
    assert rig.ast.channels[caller].bridge == rig.ast.channels[leg].bridge
    return leg


async def test_the_agent_chosen_is_rung_through_the_core_not_another(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    rig.ast.endpoints.set("PJSIP/1002", Answer(after=0.05))
    await rig.engine.login("1001")
    await rig.engine.login("1002")

    caller = await choose(rig, "7")
    await talking(rig, caller, "PJSIP/1002")

    assert rig.originated("PJSIP/1001") == []  # linear alone would have rung 1001
    assert str(rig.engine.router.agent_state("1002")) == "on_call"
    assert await rig.queue_log(caller) == ["ENTERQUEUE", "CONNECT"]
    interaction = await rig.store.get_interaction(caller)
    assert interaction is not None
    assert (interaction.agent, interaction.queue, interaction.ivr_path) == (
        "1002", "support", "main>7",
    )  # fmt: skip


async def test_a_busy_agent_is_waited_for_with_music_then_rung(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    rig.ast.endpoints.set("PJSIP/1002", Answer(after=0.05))
    await rig.engine.login("1002")
    first = await choose(rig, "7")
    await talking(rig, first, "PJSIP/1002")
    await rig.engine.login("1001")  # free, but not the agent chosen

    second = await choose(rig, "7")
    await rig.until(lambda: bridge_of(rig, second) == ("holding", True))
    await rig.engine.idle()
    assert rig.engine.router.line("support") == [second]
    assert rig.originated("PJSIP/1001") == []

    rig.ast.remote_hangup(first)  # 1002 is free again (no wrap-up): the caller's turn
    await talking(rig, second, "PJSIP/1002", nth=2)
    assert rig.originated("PJSIP/1001") == []


async def test_after_the_wait_any_agent_of_the_queue_takes_the_caller(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing, "AGENT_WAIT", 0.3)
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    rig.ast.endpoints.set("PJSIP/1002", Answer(after=0.05))
    await rig.engine.login("1002")
    first = await choose(rig, "7")
    await talking(rig, first, "PJSIP/1002")
    await rig.engine.login("1001")

    second = await choose(rig, "7")
    await talking(rig, second, "PJSIP/1001")
    assert await rig.queue_log(second) == ["ENTERQUEUE", "CONNECT"]


async def test_a_logged_out_agent_is_not_waited_for(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    await rig.engine.login("1001")

    caller = await choose(rig, "7")

    await talking(rig, caller, "PJSIP/1001")
    assert rig.originated("PJSIP/1002") == []


async def test_an_agent_in_no_queue_is_rung_by_the_dialplan(rig: Rig) -> None:
    caller = await choose(rig, "8")
    await rig.until(lambda: rig.events("StasisEnd", caller))
    assert ended_at(rig, caller) == ("callcenter-targets", "agent", 1)
    varset = {e["variable"]: e["value"] for e in rig.events("ChannelVarset", caller)}
    assert varset["CC_TARGET"] == "PJSIP/1003"


async def test_a_restarted_engine_still_waits_for_the_agent_chosen(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    rig.ast.endpoints.set("PJSIP/1002", Answer(after=0.05))
    first = rig.engine
    await first.login("1002")
    busy = await choose(rig, "7")
    await talking(rig, busy, "PJSIP/1002")
    waiting = await choose(rig, "7")
    await rig.until(lambda: waiting in first.router.calls)
    assert first.router.calls[waiting].wanted == "1002"
    await first.idle()
    await kill(first)
    await rig.until(lambda: not rig.ast.bus.connected("callcenter"))

    second = Engine(first.settings, first.executor.config, journal=Journal(rig.writer))
    await second.start(connect_timeout=5)
    try:
        await second.idle()
        assert second.router.calls[waiting].wanted == "1002"  # CC_AGENT, this entry's
        await second.login("1001")  # free, but not the agent chosen
        await second.idle()
        assert rig.originated("PJSIP/1001") == []
        rig.ast.remote_hangup(busy)  # the adopted call ends: 1002's turn for the caller
        await talking(rig, waiting, "PJSIP/1002", nth=2)
    finally:
        await second.stop()
        await first.executor.aclose()
        await first.client.aclose()
