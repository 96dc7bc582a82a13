"""A fake Asterisk ARI for tests: HTTP REST and the events websocket on one ephemeral port.

Stdlib asyncio for HTTP, websockets' sans-I/O protocol for the socket, so the test
controls the socket fully: `drop()` cuts it like a crashed Asterisk, `freeze()` stops
answering pings like a dead network. Requests are recorded; replies are queued per
(method, path) or default to what Asterisk answers for that shape (204 for actions).
Error bodies follow errors.md: `{"message": ...}`, 401 for bad credentials, 400 HTML
for a websocket without `app`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.frames import Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from ari_app.client import AriServer

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized"}


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None


@dataclass
class _Socket:
    protocol: ServerProtocol
    writer: asyncio.StreamWriter
    frozen: asyncio.Event = field(default_factory=asyncio.Event)

    def flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.writer.write(chunk)


class FakeAri:
    def __init__(self, username: str = "callcenter", password: str = "secret") -> None:  # noqa: S107 - test credentials
        self.username = username
        self.password = password
        self.requests: list[Recorded] = []
        self.channels: list[dict[str, Any]] = []
        self.bridges: list[dict[str, Any]] = []
        self.ws_paths: list[str] = []
        self._replies: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        self.script: Callable[[Recorded], tuple[int, Any] | None] | None = None
        """Consulted first for every REST request: a reply, or None for the default."""
        self._sockets: list[_Socket] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Condition()

    async def start(self) -> FakeAri:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def server(self, name: str = "ast1") -> AriServer:
        return AriServer(name, self.url, self.username, self.password)

    def reply(self, method: str, path: str, status: int, body: Any = None) -> None:
        """Queue one reply for `method path` (path with the /ari prefix)."""
        self._replies.setdefault((method, path), []).append((status, body))

    async def emit(self, event: dict[str, Any] | str) -> None:
        text = event if isinstance(event, str) else json.dumps(event)
        for sock in self._live():
            sock.protocol.send_text(text.encode())
            sock.flush()
            await sock.writer.drain()

    def drop(self) -> None:
        """Cut every socket without a close frame, as a crashed server would."""
        for sock in self._live():
            sock.writer.transport.abort()

    def freeze(self) -> None:
        """Stop reading every socket: pings go unanswered."""
        for sock in self._live():
            sock.frozen.set()

    async def wait_sockets(self, count: int) -> None:
        """Wait (at most 2 s) until `count` websockets have connected in total."""
        async with asyncio.timeout(2.0), self._changed:
            await self._changed.wait_for(lambda: len(self.ws_paths) >= count)

    def sent(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def close(self) -> None:
        for sock in self._sockets:
            sock.writer.transport.abort()
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _live(self) -> list[_Socket]:
        return [s for s in self._sockets if s.protocol.state is State.OPEN]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target, headers = _parse_head(head)
                if headers.get("upgrade", "").lower() == "websocket":
                    await self._websocket(head, target, reader, writer)
                    return
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                status, body = self._respond(method, target, headers, raw)
                _write_response(writer, status, body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self._handlers.discard(task)

    def _respond(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        url = urlsplit(target)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return 401, {"message": "Authentication required"}
        body = json.loads(raw) if raw else None
        self.requests.append(Recorded(method, url.path, query, body))
        recorded = self.requests[-1]
        scripted = self.script(recorded) if self.script else None
        if scripted is not None:
            return scripted
        queued = self._replies.get((method, url.path))
        if queued:
            return queued.pop(0)
        if method == "GET" and url.path == "/ari/channels":
            return 200, self.channels
        if method == "GET" and url.path == "/ari/bridges":
            return 200, self.bridges
        return (204, None) if method != "GET" else (200, {})

    async def _websocket(
        self, head: bytes, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        query = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        if not query.get("app"):
            html = "<html><body><p>HTTP request is missing param: [app]</p></body></html>"
            _write_response(writer, 400, html)
            return
        if query.get("api_key") != f"{self.username}:{self.password}":
            _write_response(writer, 401, {"message": "Authentication required"})
            return
        protocol = ServerProtocol()
        protocol.receive_data(head)
        request = protocol.events_received()[0]
        protocol.send_response(protocol.accept(request))  # type: ignore[arg-type]
        sock = _Socket(protocol, writer)
        sock.flush()
        self._sockets.append(sock)
        async with self._changed:
            self.ws_paths.append(target)
            self._changed.notify_all()
        while protocol.state is not State.CLOSED:
            read = asyncio.ensure_future(reader.read(65536))
            frozen = asyncio.ensure_future(sock.frozen.wait())
            done, _ = await asyncio.wait({read, frozen}, return_when=asyncio.FIRST_COMPLETED)
            if frozen in done:
                read.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await read
                # Dead peer: swallow whatever arrives (pings included) until cut.
                while await reader.read(65536):
                    pass
                return
            frozen.cancel()
            data = read.result()
            if not data:
                protocol.receive_eof()
                break
            protocol.receive_data(data)
            for frame in protocol.events_received():
                if getattr(frame, "opcode", None) is Opcode.CLOSE:
                    break
            sock.flush()
            await writer.drain()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return method, target, headers


def _write_response(writer: asyncio.StreamWriter, status: int, body: Any) -> None:
    if body is None:
        payload, kind = b"", "application/json"
    elif isinstance(body, str):
        payload, kind = body.encode(), "text/html"
    else:
        payload, kind = json.dumps(body).encode(), "application/json"
    reason = _REASONS.get(status, "Error")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
