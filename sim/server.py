"""ARI over the network: REST on `/ari/...` and the events websocket on `/ari/events`.

A small HTTP/1.1 server on asyncio streams (keep-alive, Content-Length bodies) with
websockets' sans-I/O protocol for the upgrade, so an event emitted while a request is
handled is written to the socket before that request's response.

The websocket also takes REST requests, as Asterisk 22.4 and later do ("REST over
Websocket", res/ari/ari_websocket_requests.c): each ``RESTRequest`` text frame is handled
in turn and answered by a ``RESTResponse`` event; the error answers are Asterisk
22.10.1's (tests/asterisk/test_socket_requests.py checks them on a live one).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from sim.asterisk import SimAsterisk
from sim.routes import dispatch

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
            401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 422: "Unprocessable Entity", 500: "Internal Server Error",
            501: "Not Implemented"}  # fmt: skip


class SimServer:
    def __init__(
        self,
        ast: SimAsterisk,
        *,
        username: str = "callcenter",
        password: str = "secret",  # noqa: S107 - a local simulator's default
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.ast = ast
        self.username, self.password = username, password
        self._host, self._port = host, port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> SimServer:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("start() the server first")
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        # Aborting the connections ends their handlers without cancelling them.
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _authorized(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        # Basic auth, or `?api_key=user:pass` instead (errors.md).
        secret = f"{self.username}:{self.password}"
        basic = "Basic " + base64.b64encode(secret.encode()).decode()
        return headers.get("authorization") == basic or query.get("api_key") == secret

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target, headers = _parse_head(head)
                url = urlsplit(target)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                if headers.get("upgrade", "").lower() == "websocket":
                    await self._websocket(head, query, headers, reader, writer)
                    return
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                if not self._authorized(headers, query):
                    _write(writer, 401, {"message": "Authentication required"}, auth=True)
                else:
                    status, body = self._rest(method, url.path, query, raw)
                    _write(writer, status, body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)

    def _rest(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any]:
        params: dict[str, Any] = {k: v for k, v in query.items() if k != "api_key"}
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, {"message": "Error parsing request body"}
            if isinstance(body, dict):
                # Body fields work like query parameters (hold_mute_variables_continue).
                params.update(body)
        return self.dispatch(method, path, params)

    def dispatch(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        """Every request, over HTTP or on the websocket (a subclass may watch them)."""
        return dispatch(self.ast, method, path, params)

    async def _websocket(
        self,
        head: bytes,
        query: dict[str, str],
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        app = query.get("app")
        if not self._authorized(headers, query):
            _write(writer, 401, {"message": "Authentication required"}, auth=True)
            return
        if not app:
            # errors.md: an HTML body, not JSON.
            _write(writer, 400, "<html><body>HTTP request is missing param: [app]</body></html>")
            return
        protocol = ServerProtocol()
        protocol.receive_data(head)
        request = protocol.events_received()[0]
        protocol.send_response(protocol.accept(request))  # type: ignore[arg-type]

        def flush() -> None:
            for chunk in protocol.data_to_send():
                if chunk and not writer.is_closing():
                    writer.write(chunk)

        def sink(text: str) -> None:
            if protocol.state is State.OPEN:
                protocol.send_text(text.encode())
                flush()

        flush()
        self.ast.bus.connect(app, sink)
        try:
            while protocol.state is not State.CLOSED:
                data = await reader.read(65536)
                if not data:
                    protocol.receive_eof()
                    break
                protocol.receive_data(data)
                for frame in protocol.events_received():
                    if isinstance(frame, Frame) and frame.opcode is Opcode.TEXT:
                        answer = self._socket_request(app, bytes(frame.data))
                        if self.ast.bus.passes(app, "RESTResponse"):
                            sink(json.dumps(answer))
                flush()
                if protocol.close_expected():
                    break  # the close handshake is done: the handler closes the TCP side
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
        finally:
            self.ast.bus.disconnect(app, sink)

    def _socket_request(self, app: str, data: bytes) -> dict[str, Any]:
        """One ``RESTRequest`` frame's ``RESTResponse`` (parse_rest_request_msg): the
        checks in Asterisk's order; the answer names the uri only once it was read."""
        try:
            request = json.loads(data)
        except ValueError:
            return self._answer(app, {}, 400, "Failed to parse request message JSON", None)
        if not isinstance(request, dict):
            request = {}
        known = {k: request.get(k) for k in ("request_id", "transaction_id")}

        def refuse(message: str) -> dict[str, Any]:
            return self._answer(app, known, 400, "Bad request", {"message": message})

        if not request.get("type"):
            return refuse("No 'type' property.")
        if request["type"] != "RESTRequest":
            return refuse("Unknown request type.")
        uri = request.get("uri")
        if not isinstance(uri, str) or not uri:
            return refuse("Empty or missing 'uri' property.")
        path, _, query_text = uri.partition("?")
        known["uri"] = path  # without its query
        method = request.get("method")
        if method not in ("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"):
            return refuse("Unknown or missing 'method' property.")
        params: dict[str, Any] = dict(parse_qsl(query_text, keep_blank_values=True))
        pairs = request.get("query_strings") or []
        if not isinstance(pairs, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) for p in pairs
        ):
            return refuse("Unable to parse 'query_strings' array.")
        params.update({p["name"]: str(p.get("value", "")) for p in pairs})
        text = request.get("message_body")
        if isinstance(text, str) and text:
            kind = request.get("content_type")
            if not kind:
                return refuse("No 'content_type' for 'message_body'.")
            if kind == "application/x-www-form-urlencoded":
                params.update(parse_qsl(text, keep_blank_values=True))
            elif kind == "application/json":
                try:
                    body = json.loads(text)
                except ValueError:
                    return refuse("Unable to parse 'message_body' as 'application/json'.")
                if isinstance(body, dict):
                    params.update(body)  # body fields work like query parameters
            else:
                return refuse("Unknown content type.")
        if path.startswith("/"):
            # The first path segment is empty: Asterisk stops at its root (no methods).
            status, reply = 405, {"message": "Invalid method"}
        elif path.endswith("/"):
            hint = f"ARI URLs do not end with a slash. Try /ari/{path.rstrip('/')}"
            status, reply = 404, {"message": hint}
        else:
            status, reply = self.dispatch(method, "/ari/" + path, params)
        return self._answer(app, known, status, _REASONS.get(status, "Error"), reply)

    def _answer(
        self, app: str, known: dict[str, Any], status: int, reason: str, reply: Any
    ) -> dict[str, Any]:
        def text(key: str) -> str:
            value = known.get(key)
            return value if isinstance(value, str) else ""

        answer: dict[str, Any] = {
            "type": "RESTResponse",
            "transaction_id": text("transaction_id"),
            "request_id": text("request_id"),
            "status_code": status,
            "reason_phrase": reason,
            "uri": text("uri"),
        }
        if reply is not None:  # 204: neither
            answer["content_type"] = "application/json"
            answer["message_body"] = json.dumps(reply, separators=(",", ":"))
        return self.ast.bus.stamped(answer, app)


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return method, target, headers


def _write(writer: asyncio.StreamWriter, status: int, body: Any, *, auth: bool = False) -> None:
    if body is None:
        payload, kind = b"", "application/json"
    elif isinstance(body, str):
        payload, kind = body.encode(), "text/html"
    else:
        payload, kind = json.dumps(body).encode(), "application/json"
    extra = 'WWW-Authenticate: Basic realm="Asterisk REST Interface"\r\n' if auth else ""
    writer.write(
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: {kind}\r\n"
        f"{extra}Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
