"""The simulator takes REST requests on the events websocket as Asterisk 22.10.1 does
(tests/sim/socket_cases.py holds what a live one answered)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ari_app.client import AriClient, AriConnectionError, AriEvent, AriServer, Snapshot
from ari_app.client.events import UNREAD_EVENT_TYPES
from sim import SimAsterisk, SimServer
from tests.sim import socket_cases
from tests.sim.conftest import Sim


def _answers(sim: Sim) -> list[dict[str, Any]]:
    return [event for event in sim.events if event["type"] == "RESTResponse"]


@pytest.mark.parametrize("case", socket_cases.ERRORS, ids=lambda case: case.name)
async def test_a_bad_or_refused_request_is_answered_like_asterisk(
    sim: Sim, case: socket_cases.Case
) -> None:
    assert sim.ws is not None
    await sim.ws.send(case.frame)
    await sim.settle()
    [answer] = _answers(sim)
    socket_cases.check(case, answer)


async def test_a_bridge_made_and_destroyed_on_the_socket(sim: Sim) -> None:
    assert sim.ws is not None
    await sim.ws.send(socket_cases.create_bridge("1"))
    await sim.settle()
    [made] = _answers(sim)
    assert (made["request_id"], made["status_code"], made["uri"]) == ("1", 200, "bridges")
    bridge = json.loads(made["message_body"])
    assert (bridge["name"], bridge["bridge_type"]) == (socket_cases.NAME, "mixing")
    listed = (await sim.http.get("/ari/bridges")).json()
    assert [b["id"] for b in listed] == [bridge["id"]]

    await sim.ws.send(socket_cases.destroy_bridge("2", bridge["id"]))
    await sim.settle()
    gone = _answers(sim)[1]
    socket_cases.check(
        socket_cases.Case("destroy", "", 204, "No Content", f"bridges/{bridge['id']}", None, "2"),
        gone,
    )
    assert (await sim.http.get("/ari/bridges")).json() == []


class _Client:
    """Our client on the simulator, with what it was given."""

    def __init__(self, server: SimServer, requests: str) -> None:
        self.events: list[AriEvent] = []
        self.resynced: list[str] = []
        self.client = AriClient(
            AriServer("sim", server.url, "callcenter", "secret", requests=requests),
            on_event=self._event,
            on_resync=self._resync,
        )
        self.during_resync: Callable[[], Awaitable[None]] | None = None
        self.arrived = asyncio.Event()

    async def _event(self, event: AriEvent) -> None:
        self.events.append(event)
        self.arrived.set()

    async def _resync(self, snapshot: Snapshot) -> None:
        self.resynced.append(f"{len(snapshot.channels)} channels")
        if self.during_resync is not None:
            await self.during_resync()


async def _socket_frames(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    frames: list[bytes] = []
    original = SimServer._socket_request

    def counted(self: SimServer, app: str, data: bytes) -> dict[str, Any]:
        frames.append(data)
        return original(self, app, data)

    monkeypatch.setattr(SimServer, "_socket_request", counted)
    return frames


@pytest.mark.parametrize("requests", ["auto", "websocket", "http"])
async def test_the_client_writes_where_it_is_told(
    monkeypatch: pytest.MonkeyPatch, requests: str
) -> None:
    frames = await _socket_frames(monkeypatch)
    ast = SimAsterisk()  # an Asterisk 22.10.1: auto means the socket
    server = await SimServer(ast).start()
    ours = _Client(server, requests)
    runner = asyncio.create_task(ours.client.run())
    try:
        async with asyncio.timeout(2):
            await ours.client.connected.wait()
        before = len(frames)  # the event filter, at the connect
        bridge = await ours.client.bridges.create("mixing", name=socket_cases.NAME)
        assert ast.bridges[bridge.id].name == socket_cases.NAME
        assert bridge.id in [b.id for b in await ours.client.bridges.list()]  # HTTP
        await ours.client.bridges.destroy(bridge.id)
        assert not ast.bridges
        on_socket = requests != "http"
        assert (ours.client.rest.socket is not None) is on_socket
        assert len(frames) - before == (2 if on_socket else 0)  # the writes, not the read
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await ours.client.aclose()
        await server.close()


async def test_events_during_the_resync_wait_for_it_and_its_requests_are_answered() -> None:
    ast = SimAsterisk()
    server = await SimServer(ast).start()
    ours = _Client(server, "auto")
    callers: list[str] = []

    async def resync_that_writes() -> None:
        # A caller arrives while the resync runs; the resync's own write is answered on
        # the socket the event comes in on, and the event waits for the resync to end.
        callers.append(ast.inject_caller("800").id)
        await asyncio.sleep(0.05)
        bridge = await ours.client.bridges.create("holding")
        await ours.client.bridges.destroy(bridge.id)
        assert ours.events == []
        ours.resynced.append("done")

    ours.during_resync = resync_that_writes
    runner = asyncio.create_task(ours.client.run())
    try:
        async with asyncio.timeout(2):
            await ours.client.connected.wait()
            await ours.arrived.wait()
        assert ours.resynced == ["0 channels", "done"]
        assert ours.events[0].type == "StasisStart"
        assert ours.events[0].channel.id == callers[0]  # type: ignore[attr-defined]
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await ours.client.aclose()
        await server.close()


async def test_requests_in_flight_fail_at_once_when_the_socket_drops() -> None:
    ast = SimAsterisk()
    server = await SimServer(ast).start()
    ours = _Client(server, "websocket")
    runner = asyncio.create_task(ours.client.run())
    try:
        async with asyncio.timeout(2):
            await ours.client.connected.wait()
        socket = ours.client.rest.socket
        assert socket is not None
        sent: list[bytes] = []

        def swallowed(frames: list[bytes]) -> None:  # never reaches Asterisk: no answer
            sent.extend(frames)

        socket._write = swallowed
        request = asyncio.create_task(ours.client.bridges.create("holding"))
        await asyncio.sleep(0.01)
        assert sent
        await server.close()  # the socket drops long before the 5 s timeout
        with pytest.raises(AriConnectionError, match="websocket closed"):
            await asyncio.wait_for(request, 1)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await ours.client.aclose()


async def test_the_client_asks_asterisk_not_to_send_what_it_does_not_read() -> None:
    ast = SimAsterisk()
    server = await SimServer(ast).start()
    ours = _Client(server, "auto")
    runner = asyncio.create_task(ours.client.run())
    try:
        async with asyncio.timeout(2):
            await ours.client.connected.wait()
        allowed, disallowed = ast.bus.filter_of("callcenter")
        assert (allowed, disallowed) == ([], list(UNREAD_EVENT_TYPES))
        assert "ChannelVarset" in disallowed
        assert not set(disallowed) & {"StasisStart", "StasisEnd", "RESTResponse"}
        caller = ast.inject_caller("800", variables={"CC_LANG": "fr"})
        async with asyncio.timeout(2):
            await ours.arrived.wait()
        await ours.client.channels.set_variable(caller.id, "CC_QUEUE", "sales")  # on the socket
        raised = [e["type"] for e in ast.bus.log if e.get("channel", {}).get("id") == caller.id]
        assert "ChannelVarset" in raised  # Asterisk still raises it ...
        assert "ChannelVarset" not in [e.type for e in ours.events]  # ... but never sends it
        assert [e.type for e in ours.events] == ["StasisStart"]
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await ours.client.aclose()
        await server.close()


def test_the_simulated_filter_follows_asterisks_rules() -> None:
    bus = SimAsterisk().bus
    assert bus.set_filter("app", {"disallowed": [{"type": "ChannelVarset"}]})
    assert bus.set_filter("app", {"allowed": [{"type": "StasisStart"}, {"type": "ChannelVarset"}]})
    # Each list given replaces its own; disallowed wins over allowed.
    assert bus.filter_of("app") == (["StasisStart", "ChannelVarset"], ["ChannelVarset"])
    assert bus.passes("app", "StasisStart")
    assert not bus.passes("app", "ChannelVarset")
    assert not bus.passes("app", "StasisEnd")  # not allowed
    assert bus.passes("other", "StasisEnd")  # no filter: everything
    assert not bus.set_filter("app", {"allowed": [{"name": "x"}]})  # each entry needs a type
    assert not bus.set_filter("app", {"disallowed": "ChannelVarset"})
    assert bus.filter_of("app") == (["StasisStart", "ChannelVarset"], ["ChannelVarset"])
    assert bus.set_filter("app", {})  # an empty filter clears both
    assert bus.filter_of("app") == ([], [])
