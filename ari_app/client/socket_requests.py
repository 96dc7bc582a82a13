"""REST over the events websocket: each request a text frame, each answer an event.

Asterisk 20.14, 21.9, 22.4 and later take ARI requests on the websocket that carries the
app's events (res/ari/ari_websocket_requests.c, "REST over Websocket"):

    -> {"type": "RESTRequest", "request_id": "7", "method": "POST",
        "uri": "channels/1795783856.0/answer", "query_strings": [{"name": .., "value": ..}],
        "content_type": "application/json", "message_body": "{...}"}
    <- {"type": "RESTResponse", "request_id": "7", "status_code": 204,
        "reason_phrase": "No Content", "uri": "channels/1795783856.0/answer",
        "content_type": ..., "message_body": ..., "application": .., "timestamp": ..}

Why: a frame costs less than an HTTP request on both sides (no aiohttp request and
response objects, no headers, the socket authenticated once: its ``api_key`` is appended
to every request). At 40 calls/s on Asterisk 22.10.1 the engine used 8.3-8.9 ms of CPU
per call this way against 10.6-11.2 ms over HTTP, and Asterisk 8.3-9.3 against 9.9-10.7
(``CALLCENTER_ARI_REQUESTS=websocket`` or ``http`` with
``BENCH_ASTERISK_ROWS=40x200x20 python -m bench --only asterisk``).

What Asterisk 22.10.1 does, seen on a live instance (tests/asterisk/test_socket_requests.py):
the ``uri`` has no leading ``/ari/`` nor ``/`` (``/bridges`` is 405, ``bridges/`` 404) and
comes back without its query; ``message_body`` is the JSON text of what HTTP would have
answered (absent for 204); a frame that is not JSON is answered 400 with an empty
``request_id``, so only the timeout ends such a request (it never happens: we send JSON).

Asterisk handles one socket's requests one at a time, in the socket's thread, in order.
So reads stay on HTTP (`AriRest` decides): they can be large (``GET /channels`` with
thousands of calls, more than the websocket's frame limit) and are rare, and a long one
must not hold up the calls' requests queued behind it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from ari_app.client.errors import AriConnectionError, http_error

log = logging.getLogger(__name__)

RESPONSE_TYPE = '"RESTResponse"'
"""Found in a frame's text only as a JSON token: inside a string value a quote is escaped."""
_VERSION = re.compile(r"^(\d+)\.(\d+)")
FIRST_WITH_REQUESTS = {20: 14, 21: 9, 22: 4}
"""The first minor release of each branch with REST over the websocket; 23 on have it."""


class _InFlight(NamedTuple):
    answer: asyncio.Future[tuple[int, str]]
    deadline: float
    """Loop time."""
    method: str
    path: str


Write = Callable[[list[bytes]], None]
"""Writes text frames (UTF-8) to the socket, all at once; raises when it cannot."""


def takes_socket_requests(version: str) -> bool:
    """Does an Asterisk of ``version`` (``/asterisk/info``'s ``system.version``) take
    requests on the websocket? Unknown shapes (``GIT-master-...``, certified releases
    before the feature) are answered no: HTTP works everywhere."""
    match = _VERSION.match(version)
    if match is None:
        return False
    major, minor = int(match.group(1)), int(match.group(2))
    if major in FIRST_WITH_REQUESTS:
        return minor >= FIRST_WITH_REQUESTS[major]
    return major > max(FIRST_WITH_REQUESTS)


class SocketRequests:
    """The requests in flight on one websocket, matched to their answers by request id."""

    def __init__(self, write: Write, *, timeout: float) -> None:
        self._write = write
        self._timeout = timeout
        self._pending: dict[str, _InFlight] = {}
        """By request id, in the order asked: with one timeout for all, also in the order of
        their deadlines."""
        self._next = 0
        self._closed: str | None = None
        self._outgoing: list[tuple[str, bytes]] = []
        """(request id, frame) asked for in this turn of the event loop, not yet written."""
        self._sweeper: asyncio.TimerHandle | None = None

    async def request(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any] | None
    ) -> Any:
        """The decoded JSON answer (None for 204/empty); `AriError`s as over HTTP."""
        if self._closed is not None:
            raise AriConnectionError(f"{method} {path}: {self._closed}")
        self._next += 1
        request_id = str(self._next)
        frame: dict[str, Any] = {
            "type": "RESTRequest",
            "request_id": request_id,
            "method": method,
            "uri": path[1:],  # relative to /ari/, no leading slash
        }
        if query:
            # Name/value pairs, not a "?a=b" suffix: no URL encoding to get right.
            frame["query_strings"] = [{"name": k, "value": v} for k, v in query.items()]
        if body:
            frame["content_type"] = "application/json"
            frame["message_body"] = orjson.dumps(body).decode()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[tuple[int, str]] = loop.create_future()
        # One sweeping timer for all requests, not a timer (nor asyncio.wait_for's task) for
        # each: a request expires between ``timeout`` and a quarter more.
        self._pending[request_id] = _InFlight(answer, loop.time() + self._timeout, method, path)
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._timeout / 4, self._sweep)
        if not self._outgoing:
            # Written two turns of the loop later, not one: the requests a step asks at
            # once are often made by tasks that a task started in this turn starts (a
            # gather inside a gather: the enqueue's mark and its addChannel).
            loop.call_soon(loop.call_soon, self._flush)
        # orjson, not json: several frames and answers per call, each encoded or decoded
        # in C without Python objects in between.
        self._outgoing.append((request_id, orjson.dumps(frame)))
        try:
            status, content = await answer
        finally:
            self._pending.pop(request_id, None)
        if status >= 400:
            raise http_error(status, content, method, "/ari" + path)
        return orjson.loads(content) if content else None

    def answered(self, message: str) -> bool:
        """True when ``message`` is a REST answer (then it is taken); events are False."""
        if RESPONSE_TYPE not in message:
            return False
        try:
            response = orjson.loads(message)
        except orjson.JSONDecodeError:
            return False  # parse_event logs it
        if not isinstance(response, dict) or response.get("type") != "RESTResponse":
            return False  # an event that merely mentions the word (a caller's name)
        waiting = self._pending.get(str(response.get("request_id", "")))
        answer = waiting.answer if waiting is not None else None
        if answer is None:
            log.warning("ari socket answer to no request status=%s reason=%s",
                        response.get("status_code"), response.get("reason_phrase"))  # fmt: skip
        elif not answer.done():
            status = response.get("status_code")
            body = response.get("message_body")
            answer.set_result((
                status if isinstance(status, int) else 500,
                body if isinstance(body, str) else "",
            ))  # fmt: skip
        return True

    def _flush(self) -> None:
        """Write the frames asked for together with one write: each write on a loopback
        socket is a system call that also delivers the data to Asterisk and wakes it (the
        largest single item of the engine's CPU in a py-spy profile at 40 calls/s), and a
        call's steps often ask for two or three at once."""
        batch, self._outgoing = self._outgoing, []
        if not batch or self._closed is not None:
            return  # close() failed them already
        try:
            self._write([frame for _, frame in batch])
        except (OSError, RuntimeError) as exc:  # the socket is going (ConnectionError)
            for request_id, _ in batch:
                waiting = self._pending.get(request_id)
                if waiting is not None and not waiting.answer.done():
                    waiting.answer.set_exception(AriConnectionError(f"websocket write: {exc!r}"))

    def close(self, reason: str) -> None:
        """The socket is gone: requests in flight fail (done or not, nobody can tell, as
        with an HTTP request whose connection broke), later ones are refused."""
        self._closed = reason
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for waiting in self._pending.values():
            if not waiting.answer.done():
                waiting.answer.set_exception(AriConnectionError(reason))
        self._pending.clear()

    def _sweep(self) -> None:
        """Fail the requests past their deadline (each leaves ``_pending`` as its
        ``request()`` ends); sweep again while any are waiting."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        for answer, deadline, method, path in self._pending.values():
            if deadline > now:
                break  # the rest were asked later
            if not answer.done():
                error = AriConnectionError(f"{method} {path}: TimeoutError() on the websocket")
                answer.set_exception(error)
        self._sweeper = None
        if self._pending and self._closed is None:
            self._sweeper = loop.call_later(self._timeout / 4, self._sweep)
