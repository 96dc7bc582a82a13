"""An error on one call sends that caller back to the dialplan; other calls go on."""

from __future__ import annotations

from typing import Any

import pytest

from ari_app.client import AriConnectionError
from ari_app.engine import routing
from callcenter.core import events as ev
from sim import Answer
from tests.engine.conftest import Rig
from tests.engine.test_inbound_flow import together


def left_for(rig: Rig, channel: str) -> str | None:
    """The dialplan context the channel was in when it left Stasis."""
    ends = rig.events("StasisEnd", channel)
    return ends[-1]["channel"]["dialplan"]["context"] if ends else None


async def complete_a_call(rig: Rig) -> None:
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: rig.originated("PJSIP/1001"))
    (leg,) = rig.originated("PJSIP/1001")
    await rig.until(lambda: together(rig, caller.id, leg))
    rig.ast.remote_hangup(caller.id)
    await rig.until(lambda: leg not in rig.ast.channels)
    assert await rig.queue_log(caller.id) == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]


async def test_core_error_on_one_call_sends_it_to_the_fallback(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    await rig.engine.login("1001")
    handle = rig.engine.router.handle
    doomed: list[str] = []

    def failing(event: ev.Event) -> Any:
        if isinstance(event, ev.CallEnqueued) and event.call in doomed:
            raise RuntimeError("injected")
        return handle(event)

    monkeypatch.setattr(rig.engine.router, "handle", failing)
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    doomed.append(caller.id)
    await rig.until(lambda: left_for(rig, caller.id) == "callcenter-fallback")
    await complete_a_call(rig)
    assert await rig.queue_log(caller.id) == []
    assert caller.id not in rig.engine.calls.calls


async def test_request_error_on_one_call_sends_it_to_the_fallback(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    await rig.engine.login("1001")
    executor = rig.engine.executor
    add_channel = executor.bridges.add_channel
    doomed: list[str] = []

    async def failing(bridge: str, channel: Any, **kwargs: Any) -> Any:
        if channel in doomed:  # into the holding bridge
            raise RuntimeError("injected")
        return await add_channel(bridge, channel, **kwargs)

    monkeypatch.setattr(executor.bridges, "add_channel", failing)
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    doomed.append(caller.id)
    await rig.until(lambda: left_for(rig, caller.id) == "callcenter-fallback")
    await complete_a_call(rig)


async def test_fail_safe_that_cannot_reach_asterisk_is_tried_again(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback's ``continue`` times out (the server slow, the websocket still up, so
    no resync comes): the caller is not left in Stasis on music; it is sent again."""
    monkeypatch.setattr(routing, "RESEND_AFTER", 0.3)
    executor = rig.engine.executor
    send_on = executor.channels.continue_in_dialplan
    timeouts = [1]

    async def timing_out(*args: Any, **kwargs: Any) -> Any:
        if timeouts:
            timeouts.pop()
            raise AriConnectionError("POST /continue: TimeoutError()")
        return await send_on(*args, **kwargs)

    monkeypatch.setattr(executor.channels, "continue_in_dialplan", timing_out)
    caller = rig.ast.inject_caller("800", args=("inbound", "800"))
    await rig.until(lambda: caller.id in rig.engine.router.calls)
    executor.fail(caller.id)
    await rig.until(lambda: timeouts == [])
    record = executor.calls.get(caller.id)
    assert record is not None
    assert record.stranded  # still known, still on music

    await rig.until(lambda: left_for(rig, caller.id) == "callcenter-fallback")
    await rig.until(lambda: caller.id not in rig.engine.calls.calls)


async def test_malformed_event_is_dropped_and_calls_go_on(rig: Rig) -> None:
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.05))
    await rig.engine.login("1001")
    rig.ast.bus.emit("callcenter", "StasisStart", channel={"id": "no-name-or-state"})
    rig.ast.bus.emit("callcenter", "ChannelDestroyed", cause="not a number")
    await complete_a_call(rig)


async def test_number_without_a_queue_goes_to_the_fallback(rig: Rig) -> None:
    caller = rig.ast.inject_caller("999", args=("inbound", "999"))
    await rig.until(lambda: left_for(rig, caller.id) == "callcenter-fallback")
