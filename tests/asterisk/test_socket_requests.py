"""REST over the events websocket on a live Asterisk: the facts the simulator copies
(tests/sim/socket_cases.py) and the client's use of it (ari_app/client/socket_requests.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect

from ari_app.client import AriClient, AriNotFoundError, AriServer
from ari_app.client.client import events_url
from ari_app.client.events import UNREAD_EVENT_TYPES
from tests.asterisk.rig import Asterisk
from tests.sim import socket_cases

pytestmark = pytest.mark.asterisk


def _server(asterisk: Asterisk, app: str, requests: str = "auto") -> AriServer:
    return AriServer("test-asterisk", asterisk.ari_url, asterisk.ari_user,
                     asterisk.ari_password, app=app, requests=requests)  # fmt: skip


async def _answers(frames: list[str], server: AriServer) -> list[dict[str, Any]]:
    answers = []
    async with connect(events_url(server), proxy=None) as ws:
        for frame in frames:
            await ws.send(frame)
            while True:  # events of other tests' channels are not for this app: none come
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if message["type"] == "RESTResponse":
                    answers.append(message)
                    break
    return answers


async def test_asterisk_answers_bad_or_refused_requests_as_the_simulator_does(
    asterisk: Asterisk,
) -> None:
    cases = socket_cases.ERRORS
    answers = await _answers([case.frame for case in cases], _server(asterisk, "cc-socket-errors"))
    for case, answer in zip(cases, answers, strict=True):
        socket_cases.check(case, answer)


async def test_asterisk_makes_and_destroys_a_bridge_asked_on_the_socket(asterisk: Asterisk) -> None:
    server = _server(asterisk, "cc-socket-bridge")
    [made] = await _answers([socket_cases.create_bridge("1")], server)
    assert (made["request_id"], made["status_code"], made["uri"]) == ("1", 200, "bridges")
    bridge = json.loads(made["message_body"])
    assert (bridge["name"], bridge["bridge_type"]) == (socket_cases.NAME, "mixing")
    [gone] = await _answers([socket_cases.destroy_bridge("2", bridge["id"])], server)
    socket_cases.check(
        socket_cases.Case("destroy", "", 204, "No Content", f"bridges/{bridge['id']}", None, "2"),
        gone,
    )


async def test_the_client_sends_writes_on_the_socket_of_a_22_10_asterisk(
    asterisk: Asterisk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="ari_app.client.client")
    connected = asyncio.Event()

    async def on_event(event: object) -> None:
        pass

    async def on_resync(snapshot: object) -> None:
        connected.set()

    client = AriClient(_server(asterisk, "cc-socket-client"), on_event=on_event,
                       on_resync=on_resync)  # fmt: skip
    runner = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(client.connected.wait(), 10)
        assert client.rest.socket is not None, "auto did not choose the websocket on 22.10.1"
        assert "requests=websocket" in caplog.text
        # The event filter set at the connect took, and left the answers through.
        app = await client.applications.get("cc-socket-client")
        assert app.events_disallowed == tuple({"type": t} for t in UNREAD_EVENT_TYPES)
        bridge = await client.bridges.create("mixing", name=socket_cases.NAME)
        assert bridge.name == socket_cases.NAME
        # A read goes over HTTP and sees what the socket's write made.
        assert bridge.id in [b.id for b in await client.bridges.list()]
        # Text beyond ASCII (a caller's name in Chinese) goes as UTF-8 in the frame (orjson
        # does not escape it as json.dumps did) and comes back whole.
        named = await client.bridges.create("mixing", name="呼叫中心 张三")
        assert [b.name for b in await client.bridges.list() if b.id == named.id] == [
            "呼叫中心 张三"
        ]
        await client.bridges.destroy(named.id)
        await client.bridges.destroy(bridge.id)
        with pytest.raises(AriNotFoundError):
            await client.bridges.destroy(bridge.id)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await client.aclose()
