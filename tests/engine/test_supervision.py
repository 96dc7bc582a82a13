"""Supervisors listen, whisper and barge through snoop channels and the call's bridge; the
monitoring ends, and everything it made is cleaned up, whoever hangs up first."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.engine import Engine
from ari_app.engine.control import ControlError
from sim import Answer, Endpoints, Unregistered
from tests.engine.bridges import in_use
from tests.engine.conftest import Rig
from tests.engine.connected import connected_call, leftovers, linked_rig, together
from tests.engine.test_restart import kill

SUPERVISOR = "PJSIP/2001"


def snoops(rig: Rig) -> list[str]:
    return [c.id for c in rig.ast.channels.values() if c.name.startswith("Snoop/")]


def supervisor_leg(rig: Rig) -> str:
    (leg,) = rig.originated(SUPERVISOR)
    return leg


@pytest.mark.parametrize(("mode", "whisper"), [("listen", "none"), ("whisper", "out")])
async def test_listen_and_whisper_snoop_on_the_agent(rig: Rig, mode: str, whisper: str) -> None:
    caller, leg = await connected_call(rig)
    rig.ast.endpoints.set(SUPERVISOR, Answer(after=0.05))
    await rig.engine.control.monitor("sup1", SUPERVISOR, "1001", mode)
    await rig.until(lambda: len(snoops(rig)) == 1)
    (snoop,) = snoops(rig)
    assert rig.ast.channels[snoop].name.startswith(f"Snoop/{leg}-")
    assert rig.ast.channels[snoop].snooping == (leg, "both", whisper)
    sup = supervisor_leg(rig)
    await rig.until(lambda: together(rig, sup, snoop))
    assert together(rig, caller, leg)  # the call itself is untouched
    (start,) = rig.events("StasisStart", snoop)
    assert start["args"] == ["snoop", caller, "sup1"]
    with pytest.raises(ControlError, match="already monitoring"):
        await rig.engine.control.monitor("sup1", SUPERVISOR, "1001", "barge")
    await rig.engine.control.stop_monitor("sup1")
    await rig.engine.idle()
    assert snoops(rig) == []
    assert sup not in rig.ast.channels
    assert set(in_use(rig.ast)) == {rig.ast.channels[caller].bridge}  # only the call's
    with pytest.raises(ControlError, match="not monitoring"):
        await rig.engine.control.stop_monitor("sup1")


async def test_barge_joins_the_call_bridge_which_becomes_softmix(rig: Rig) -> None:
    caller, leg = await connected_call(rig)
    rig.ast.endpoints.set(SUPERVISOR, Answer())
    await rig.engine.control.monitor("sup1", SUPERVISOR, "1001", "barge")
    await rig.until(lambda: rig.originated(SUPERVISOR))
    sup = supervisor_leg(rig)
    await rig.until(lambda: together(rig, caller, leg, sup))
    assert rig.ast.bridges[rig.ast.channels[caller].bridge or ""].technology == "softmix"
    assert snoops(rig) == []
    rig.ast.remote_hangup(caller)  # the call ends: so does the barge
    await rig.until(lambda: leftovers(rig) == ([], []))


async def test_call_ending_ends_the_monitoring(rig: Rig) -> None:
    caller, _leg = await connected_call(rig)
    rig.ast.endpoints.set(SUPERVISOR, Answer())
    await rig.engine.control.monitor("sup1", SUPERVISOR, "1001", "listen")
    await rig.until(lambda: len(snoops(rig)) == 1)
    await rig.until(lambda: len(in_use(rig.ast)) == 2)
    rig.ast.remote_hangup(caller)
    await rig.until(lambda: leftovers(rig) == ([], []))
    assert rig.engine.control.supervision.monitoring("sup1") is None


async def test_supervisor_hanging_up_ends_the_monitoring(rig: Rig) -> None:
    caller, leg = await connected_call(rig)
    rig.ast.endpoints.set(SUPERVISOR, Answer())
    await rig.engine.control.monitor("sup1", SUPERVISOR, "1001", "whisper")
    await rig.until(lambda: len(snoops(rig)) == 1 and len(in_use(rig.ast)) == 2)
    rig.ast.remote_hangup(supervisor_leg(rig))
    await rig.until(lambda: snoops(rig) == [] and len(in_use(rig.ast)) == 1)
    assert together(rig, caller, leg)
    assert rig.engine.control.supervision.monitoring("sup1") is None


async def test_agent_leaving_the_call_ends_the_monitoring(rig: Rig) -> None:
    _caller, _leg = await connected_call(rig)
    rig.ast.endpoints.set(SUPERVISOR, Answer())
    await rig.engine.control.monitor("sup1", SUPERVISOR, "1001", "listen")
    await rig.until(lambda: len(snoops(rig)) == 1 and len(in_use(rig.ast)) == 2)
    sup = supervisor_leg(rig)
    await rig.engine.control.transfer("1001", "queue", "support")
    await rig.until(lambda: snoops(rig) == [] and sup not in rig.ast.channels)
    await rig.engine.idle()
    assert [b.bridge_type for b in in_use(rig.ast).values()] == ["holding"]  # the caller's


async def test_monitor_refusals(rig: Rig) -> None:
    await connected_call(rig)
    control = rig.engine.control
    with pytest.raises(ControlError, match="mode"):
        await control.monitor("sup1", SUPERVISOR, "1001", "spy")
    with pytest.raises(ControlError, match="endpoint"):
        await control.monitor("sup1", "PJSIP/2001,Local/x", "1001", "listen")
    with pytest.raises(ControlError, match="not on a call"):
        await control.monitor("sup1", SUPERVISOR, "1002", "listen")
    rig.ast.endpoints.set(SUPERVISOR, Unregistered())
    with pytest.raises(ControlError, match="not reachable"):
        await control.monitor("sup1", SUPERVISOR, "1001", "listen")
    assert control.supervision.monitoring("sup1") is None


async def test_a_restarted_engine_hangs_up_the_monitoring_it_finds(tmp_path: Path) -> None:
    endpoints = Endpoints({"PJSIP/1001": Answer(), SUPERVISOR: Answer()})
    async with linked_rig(tmp_path, endpoints) as rig:
        caller, leg = await connected_call(rig)
        await rig.engine.control.monitor("sup1", SUPERVISOR, "1001", "whisper")
        await rig.until(lambda: len(snoops(rig)) == 1 and len(in_use(rig.ast)) == 2)
        sup = supervisor_leg(rig)
        await kill(rig.engine)  # as SIGKILL: nothing cleaned up on Asterisk
        await rig.until(lambda: not rig.ast.bus.connected("callcenter"))
        second = Engine(rig.engine.settings, rig.engine.executor.config)
        await second.start(connect_timeout=5)
        try:
            await rig.until(lambda: snoops(rig) == [] and sup not in rig.ast.channels)
            await rig.until(lambda: len(in_use(rig.ast)) == 1)  # the spy bridge too
            assert together(rig, caller, leg)  # the call itself goes on
        finally:
            await second.stop()
            await rig.engine.executor.aclose()
            await rig.engine.client.aclose()
