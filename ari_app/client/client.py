"""One Asterisk server: REST resources plus the events websocket, kept connected.

Theory of operation: `run()` loops connect -> resync -> read events -> (closed) ->
jittered backoff -> connect again, until it is cancelled or Asterisk reports that
another websocket took the app over. Asterisk does not replay events missed while
disconnected (DTMF sent then is simply lost, reconnect.md), so on every connect the
resync hook gets what `GET /channels` and `GET /bridges` list, read *after* the socket
is up so that nothing falls between the snapshot and the first live event.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from ari_app.client.backoff import Backoff
from ari_app.client.bridges import Bridges
from ari_app.client.channels import Channels
from ari_app.client.errors import AriError
from ari_app.client.events import (
    UNREAD_EVENT_TYPES,
    ApplicationReplaced,
    AriEvent,
    Sieve,
    parse_event,
)
from ari_app.client.media import Playbacks, Recordings
from ari_app.client.models import Bridge, Channel
from ari_app.client.rest import AriRest, AriServer
from ari_app.client.socket_requests import SocketRequests, takes_socket_requests
from ari_app.client.system import Applications, AsteriskSystem, DeviceStates, Endpoints
from ari_app.client.websocket import WebSocket, connect

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one server holds right after a (re)connect."""

    server: str
    channels: tuple[Channel, ...]
    bridges: tuple[Bridge, ...]


EventHandler = Callable[[AriEvent], Awaitable[None]]
ResyncHandler = Callable[[Snapshot], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Keepalive:
    """Websocket ping cadence: a connection is declared dead after about
    `interval + timeout + close_timeout` seconds without a pong."""

    interval: float = 5.0
    timeout: float = 5.0
    close_timeout: float = 2.0
    open_timeout: float = 5.0


DEFAULT_BACKOFF = Backoff()
DEFAULT_KEEPALIVE = Keepalive()


def events_url(server: AriServer) -> str:
    """`ws(s)://host/ari/events?app=...&api_key=user:pass` as recorded in reconnect.jsonl.

    No `subscribeAll`: it only applies when the app object is created, so it would
    behave differently after a reconnect that finds the app alive (reconnect.md);
    subscribe to endpoints and devices explicitly in the resync hook instead.
    """
    parts = urlsplit(server.url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = urlencode(
        {"app": server.app, "api_key": f"{server.username}:{server.password}"}, safe=":"
    )
    path = parts.path.rstrip("/") + "/ari/events"
    return urlunsplit((scheme, parts.netloc, path, query, ""))


class AriClient:
    """REST resources (`channels`, `bridges`, ...) and the event stream of one server."""

    def __init__(
        self,
        server: AriServer,
        *,
        on_event: EventHandler,
        on_resync: ResyncHandler,
        backoff: Backoff = DEFAULT_BACKOFF,
        keepalive: Keepalive = DEFAULT_KEEPALIVE,
        rest_timeout: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        unread: Collection[str] = UNREAD_EVENT_TYPES,
        sieve: Sieve | None = None,
    ) -> None:
        self.server = server
        self.rest = AriRest(server, timeout=rest_timeout)
        self.channels = Channels(self.rest)
        self.bridges = Bridges(self.rest)
        self.playbacks = Playbacks(self.rest)
        self.recordings = Recordings(self.rest)
        self.endpoints = Endpoints(self.rest)
        self.device_states = DeviceStates(self.rest)
        self.applications = Applications(self.rest)
        self.asterisk = AsteriskSystem(self.rest)
        self.replaced = False
        """True once Asterisk gave the app to another websocket; `run()` then returns."""
        self.connected = asyncio.Event()
        self._on_event = on_event
        self._on_resync = on_resync
        self._backoff = backoff
        self._keepalive = keepalive
        self._sleep = sleep
        self._rand = rand
        self._unread = tuple(unread)
        """Event types Asterisk is asked not to send (`_filter_events`)."""
        self._sieve = sieve
        """Raw-text tests of the events sent but mostly unread (`events.Sieve`)."""

    async def run(self) -> None:
        """Stay connected until cancelled, or until ApplicationReplaced (then return)."""
        attempt = 0
        while True:
            reached = False
            try:
                reached = await self._session()
            except (OSError, TimeoutError, AriError) as exc:
                log.warning("ari events lost server=%s error=%r", self.server.name, exc)
            finally:
                self.connected.clear()
            if self.replaced:
                return
            if reached:
                attempt = 0
            delay = self._backoff.delay(attempt, self._rand)
            attempt += 1
            log.info(
                "ari reconnect server=%s attempt=%d in_s=%.2f", self.server.name, attempt, delay
            )
            await self._sleep(delay)

    async def _session(self) -> bool:
        ka = self._keepalive
        ws = await connect(
            events_url(self.server),
            ping_interval=ka.interval,
            ping_timeout=ka.timeout,
            close_timeout=ka.close_timeout,
            open_timeout=ka.open_timeout,
        )
        try:
            socket = await self._socket_requests()
            log.info("ari events connected server=%s requests=%s",
                     self.server.name, "websocket" if socket else "http")  # fmt: skip
            if socket:
                self.rest.socket = SocketRequests(ws.send_texts, timeout=self.rest.timeout)
            return await self._stream(ws)
        finally:
            if self.rest.socket is not None:
                self.rest.socket.close("the events websocket closed")
                self.rest.socket = None
            await ws.close()

    async def _stream(self, ws: WebSocket) -> bool:
        """Resync while the socket is read, then deliver the events, held ones first.

        The socket is read from the start because the resync's own requests may be
        answered on it; the events that arrive meanwhile are held and delivered after
        the resync, so nothing falls between the snapshot and the first live event."""
        held: list[str] = []
        live = False

        async def read() -> bool:
            try:
                while messages := await ws.receive():
                    for message in messages:
                        socket = self.rest.socket
                        if socket and socket.answered(message):
                            continue
                        if not live:
                            held.append(message)
                        elif await self._handle(message):
                            return True
                return False
            finally:  # requests waiting for an answer get none now
                if self.rest.socket is not None:
                    self.rest.socket.close("the events websocket closed")

        reader = asyncio.create_task(read())
        try:
            await self._filter_events()
            await self._resync()
            while held:
                if await self._handle(held.pop(0)):
                    return True
            live = True  # no await since the last look at `held`: nothing slips by
            self.connected.set()
            replaced = await reader
        finally:
            reader.cancel()
        if not replaced:
            log.warning("ari events closed server=%s", self.server.name)
        return True

    async def _handle(self, message: str) -> bool:
        """Deliver one event; True when it says another websocket took the app."""
        event = parse_event(message, self.server.name, self._sieve)
        if event is None:
            return False
        await self._deliver(event)
        if isinstance(event, ApplicationReplaced):
            # The other socket now gets the events and ours gets nothing more;
            # reconnecting would steal the app back (reconnect.md).
            log.warning("ari app replaced server=%s app=%s", *self._names())
            self.replaced = True
            return True
        return False

    async def _filter_events(self) -> None:
        """Ask Asterisk not to send the event types nobody reads (about half of a call's:
        every ChannelVarset, ChannelDialplan, ...): Asterisk still makes them, but neither
        writes them to the socket nor keeps us reading them. Asked at every connect: the
        filter lives on the app object, which a reconnect may find gone and made anew."""
        try:
            await self.applications.filter(self.server.app, disallowed=self._unread)
        except (AriError, ValueError) as exc:  # an old Asterisk (before 16.3): all come
            log.warning("ari event filter refused server=%s error=%r", self.server.name, exc)

    async def _socket_requests(self) -> bool:
        """Send writes on the websocket? ``auto`` asks Asterisk's version (over HTTP:
        an Asterisk without the feature ignores a request frame, it does not refuse it)."""
        mode = self.server.requests
        if mode != "auto":
            return mode == "websocket"
        try:
            info = await self.asterisk.info("system")
        except AriError as exc:
            log.warning("ari version unknown server=%s error=%r: requests over http",
                        self.server.name, exc)  # fmt: skip
            return False
        system = info.get("system") if isinstance(info, dict) else None
        version = system.get("version") if isinstance(system, dict) else None
        return isinstance(version, str) and takes_socket_requests(version)

    async def _resync(self) -> None:
        channels, bridges = await asyncio.gather(self.channels.list(), self.bridges.list())
        snapshot = Snapshot(self.server.name, tuple(channels), tuple(bridges))
        log.info(
            "ari resync server=%s channels=%d bridges=%d",
            self.server.name,
            len(channels),
            len(bridges),
        )
        try:
            await self._on_resync(snapshot)
        except Exception:
            log.exception("ari resync handler failed server=%s", self.server.name)

    async def _deliver(self, event: AriEvent) -> None:
        # A failing handler must not end the stream every other call depends on.
        try:
            await self._on_event(event)
        except Exception:
            log.exception("ari event handler failed server=%s type=%s", *self._names(event))

    def _names(self, event: AriEvent | None = None) -> tuple[str, str]:
        return self.server.name, event.type if event else self.server.app

    async def aclose(self) -> None:
        """Release the REST connection pool (cancel the `run()` task first)."""
        await self.rest.aclose()
