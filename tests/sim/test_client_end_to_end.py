"""Our own ARI client against the simulator on real time: a caller arrives, an agent
is rung and answers, both are bridged, both hang up."""

from __future__ import annotations

import asyncio
import contextlib

from ari_app.client import (
    AllocationFailedError,
    AriClient,
    AriConflictError,
    AriEvent,
    AriServer,
    Snapshot,
)
from sim import Answer, CallerId, Endpoints, SimAsterisk, SimServer, Unregistered


async def test_agent_answers_is_bridged_with_caller_and_both_hang_up() -> None:
    endpoints = Endpoints()
    endpoints.set("PJSIP/1001", Answer(after=0.05))
    endpoints.set("PJSIP/1002", Unregistered())
    ast = SimAsterisk(endpoints=endpoints)
    server = await SimServer(ast).start()
    events: list[AriEvent] = []
    arrived = asyncio.Event()

    async def on_event(event: AriEvent) -> None:
        events.append(event)
        arrived.set()

    async def on_resync(snapshot: Snapshot) -> None:
        return None

    client = AriClient(
        AriServer("sim", server.url, "callcenter", "secret"),
        on_event=on_event,
        on_resync=on_resync,
    )
    runner = asyncio.create_task(client.run())

    async def wait_for(type_: str, channel_id: str) -> AriEvent:
        async with asyncio.timeout(2):
            while True:
                for event in events:
                    channel = getattr(event, "channel", None)
                    if event.type == type_ and channel is not None and channel.id == channel_id:
                        return event
                arrived.clear()
                await arrived.wait()

    try:
        async with asyncio.timeout(2):
            await client.connected.wait()
        caller = ast.inject_caller(
            "800", caller=CallerId("Ann", "5551234"), variables={"CC_LANG": "fr"}, trunk="trunk"
        )
        start = await wait_for("StasisStart", caller.id)
        assert start.channel.name.startswith("PJSIP/trunk-")  # type: ignore[attr-defined]
        assert start.channel.dialplan.exten == "800"  # type: ignore[attr-defined]
        assert (await client.channels.get_variable(caller.id, "CC_LANG")) == "fr"

        try:
            await client.channels.originate("PJSIP/1002", app="callcenter", ring_timeout=5)
        except AllocationFailedError:
            pass
        else:
            raise AssertionError("an unregistered endpoint must fail to allocate")

        agent = await client.channels.originate(
            "PJSIP/1001", app="callcenter", app_args=["agent", "1001"], ring_timeout=5
        )
        assert agent.name.startswith("PJSIP/1001-")
        await wait_for("StasisStart", agent.id)

        bridge = await client.bridges.create("mixing", name="call-1")
        await client.bridges.add_channel(bridge.id, [caller.id, agent.id])
        await wait_for("ChannelEnteredBridge", agent.id)
        assert set((await client.bridges.get(bridge.id)).channels) == {caller.id, agent.id}
        try:
            await client.channels.originate("PJSIP/1001", app="callcenter", channel_id=agent.id)
        except AriConflictError:
            pass
        else:
            raise AssertionError("a live channel id must be refused")

        ast.remote_hangup(caller.id)
        await wait_for("StasisEnd", caller.id)
        await client.channels.hangup(agent.id)
        await wait_for("ChannelDestroyed", agent.id)
        await client.bridges.destroy(bridge.id)
        assert await client.channels.list() == []
        types = [e.type for e in events if getattr(e, "channel", None) is not None]
        assert "ChannelDestroyed" not in [
            e.type
            for e in events
            if getattr(e, "channel", None) and e.channel.id == caller.id  # type: ignore[attr-defined]
        ]
        assert types.count("ChannelLeftBridge") == 2
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await client.aclose()
        await server.close()
