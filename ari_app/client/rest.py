"""The REST half of the client: one aiohttp connection pool per Asterisk server, and,
where Asterisk takes them, writes sent on the events websocket (socket_requests.py).

aiohttp rather than httpx: against the simulator an httpx request cost about 1.9 ms of
CPU with 50 in flight (its pool scans every connection for every request, and without
sniffio it retries an import per request) and aiohttp's about 0.15 ms; at 100 new calls
a second and 17 requests a call that is the difference between one core and a tenth of
one (bench/load.py).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from ari_app.client.errors import AriConnectionError, http_error
from ari_app.client.operations import Operation
from ari_app.client.socket_requests import SocketRequests

log = logging.getLogger(__name__)

QueryValue = str | int | bool | Sequence[str] | None


@dataclass(frozen=True, slots=True)
class AriServer:
    """One Asterisk's ARI: a name the engine knows it by, its HTTP base URL, credentials."""

    name: str
    url: str
    """Base URL without `/ari`, e.g. `http://127.0.0.1:8088`."""
    username: str
    password: str
    app: str = "callcenter"
    """The Stasis application the events websocket registers."""
    requests: str = "auto"
    """Where writes go: ``websocket`` (REST over the events websocket), ``http``, or
    ``auto``: the websocket where Asterisk's version takes requests on it."""


def query_value(value: str | int | bool | Sequence[str]) -> str:
    """ARI's query encoding: booleans as true/false, lists comma-joined (allowMultiple)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    return ",".join(value)


class RestApi(Protocol):
    """What the resource classes (`Channels`, `Bridges`, ...) send requests through:
    one server's `AriRest`, or the pool's router to the server of the call (pool.py)."""

    async def call(
        self,
        op: Operation,
        params: dict[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any: ...


class AriRest:
    """Makes the requests described by `Operation`s and maps errors to exceptions."""

    def __init__(self, server: AriServer, *, timeout: float = 5.0, connections: int = 100) -> None:
        self.server = server
        self._base = server.url.rstrip("/") + "/ari"
        secret = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {secret}"}
        self.timeout = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._http: aiohttp.ClientSession | None = None  # made in the running loop
        self.socket: SocketRequests | None = None
        """While set (the events websocket is up and Asterisk takes requests on it),
        writes go there; reads always go over HTTP (socket_requests.py says why)."""

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            # trust_env=False: ARI sits on a private address; an HTTP(S)_PROXY meant for
            # the internet must not capture it. At most 100 connections: Asterisk's
            # http.conf `sessionlimit` default; idle ones are kept for 10 s, less than its
            # `session_keep_alive` (15 s), so a kept one is not closed under a request.
            self._http = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                trust_env=False,
                connector=aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=10),
            )
        return self._http

    async def call(
        self,
        op: Operation,
        params: dict[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Perform `op`; the decoded JSON response, or None for 204/empty."""
        query = query or {}
        body = body or {}
        undeclared = (set(query) - op.query) | (set(body) - op.body)
        if undeclared:
            raise ValueError(f"{op.name} does not take {sorted(undeclared)}")
        sent_query = {k: query_value(v) for k, v in query.items() if v is not None}
        sent_body = {k: v for k, v in body.items() if v is not None} or None
        if op.whole_body and sent_body is not None:
            sent_body = sent_body[op.whole_body]
        path = op.url_path(params or {})
        if self.socket is not None and op.method != "GET":
            return await self.socket.request(op.method, path, sent_query, sent_body)
        # The path's ids are quoted already (operations.py); the query is encoded as httpx
        # did (spaces as "+"), which Asterisk decodes.
        url = self._base + path + ("?" + urlencode(sent_query) if sent_query else "")
        started = time.perf_counter()
        try:
            async with self._session().request(
                op.method, URL(url, encoded=True), json=sent_body
            ) as response:
                status = response.status
                content = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise AriConnectionError(f"{op.method} {path}: {exc!r}") from exc
        if log.isEnabledFor(logging.DEBUG):
            log.debug("ari rest server=%s op=%s path=%s status=%d ms=%.1f", self.server.name,
                      op.name, path, status, (time.perf_counter() - started) * 1000)  # fmt: skip
        if status >= 400:
            text = content.decode("utf-8", "replace")
            raise http_error(status, text, op.method, "/ari" + path)
        if status == 204 or not content:
            return None
        return json.loads(content)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
