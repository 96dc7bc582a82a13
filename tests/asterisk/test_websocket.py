"""Our websocket client (ari_app/client/websocket.py) against Asterisk 22's own websocket
server (res_http_websocket): the upgrade, refused credentials, pings answered, requests
written several to a frame batch, and the close handshake both ways."""

from __future__ import annotations

import asyncio
import json

import pytest

from ari_app.client import AriServer
from ari_app.client.client import events_url
from ari_app.client.websocket import HandshakeRefusedError, WebSocket, connect
from tests.asterisk.rig import Asterisk
from tests.sim import socket_cases

pytestmark = pytest.mark.asterisk


def _server(asterisk: Asterisk, app: str, password: str | None = None) -> AriServer:
    return AriServer("test-asterisk", asterisk.ari_url, asterisk.ari_user,
                     password or asterisk.ari_password, app=app)  # fmt: skip


async def _open(server: AriServer, *, ping_interval: float = 5.0) -> WebSocket:
    return await connect(
        events_url(server),
        open_timeout=5,
        ping_interval=ping_interval,
        ping_timeout=1.0,
        close_timeout=2.0,
    )


async def test_pings_are_answered_and_requests_in_one_write_each_get_their_answer(
    asterisk: Asterisk,
) -> None:
    ws = await _open(_server(asterisk, "cc-ws-pings"), ping_interval=0.05)
    try:
        await asyncio.sleep(2.5)  # fifty pings: one unanswered for 1 s cuts the socket
        assert ws.open
        frames = [socket_cases.create_bridge(str(n)) for n in (1, 2, 3)]
        ws.send_texts([frame.encode() for frame in frames])
        answers: list[dict[str, object]] = []
        async with asyncio.timeout(5):
            while len(answers) < 3:
                answers += [json.loads(m) for m in await ws.receive()]
        made = [a for a in answers if a["type"] == "RESTResponse"]
        assert sorted(str(a["request_id"]) for a in made) == ["1", "2", "3"]
        assert {a["status_code"] for a in made} == {200}
        bridges = [json.loads(str(a["message_body"]))["id"] for a in made]
        ws.send_texts(
            [socket_cases.destroy_bridge(str(n), b).encode() for n, b in enumerate(bridges, 4)]
        )
    finally:
        await ws.close()
    assert ws.close_code == 1000  # Asterisk answered our close frame with its own
    assert ws.lost.done()


async def test_wrong_credentials_refuse_the_upgrade_with_401(asterisk: Asterisk) -> None:
    with pytest.raises(HandshakeRefusedError) as refused:
        await _open(_server(asterisk, "cc-ws-refused", password="not-the-password"))
    assert refused.value.status == 401
