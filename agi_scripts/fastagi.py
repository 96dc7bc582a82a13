"""The FastAGI server: ``AGI(agi://host:4573/<script>?args)`` dispatched to scripts by name.

Every connection is one task (over :class:`~agi_scripts.connection.AgiConnection`, a
Protocol, for a small cost per line) that can only end itself: its header must arrive whole
within ``header_timeout`` (a client that trickles bytes or sends half a header and stops is cut
off), lines are bounded (:data:`~agi_scripts.protocol.MAX_LINE`), the header by line count,
the script by ``script_timeout`` and each reply by the session's reply timeout. Errors are
logged and the connection closed; other connections never notice. Beyond
``max_connections`` a new connection is closed at once, and Asterisk continues the dialplan
with ``AGISTATUS=FAILURE``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from agi_scripts.connection import AgiConnection
from agi_scripts.protocol import AgiError
from agi_scripts.runner import Script, ScriptContext, run_script
from agi_scripts.session import AgiSession, ConnectionClosed, LineTooLong
from agi_scripts.streams import read_environment

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"  # loopback: AGI has no authentication at all
DEFAULT_PORT = 4573  # Asterisk's default FastAGI port


@dataclass(slots=True)
class ServerStats:
    active: int = 0
    accepted: int = 0
    refused: int = 0  # over max_connections
    bad: int = 0  # header malformed, too long, too slow, or closed early
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class FastAgiServer:
    def __init__(
        self,
        scripts: Mapping[str, Script],
        context: ScriptContext,
        *,
        header_timeout: float = 5.0,
        reply_timeout: float = 10.0,
        max_connections: int = 4096,
    ) -> None:
        self.scripts = scripts
        self.context = context
        self.header_timeout = header_timeout
        self.reply_timeout = reply_timeout
        self.max_connections = max_connections
        self.stats = ServerStats()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._new_connection, host, port, backlog=2048)
        return self._server

    def _new_connection(self) -> AgiConnection:
        """The protocol for one accepted connection (the benchmark's subclass times it)."""
        return AgiConnection(self._accept)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and end the sessions still running."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _accept(self, connection: AgiConnection) -> None:
        """From ``connection_made``: start the connection's task, or refuse it at once."""
        stats = self.stats
        stats.accepted += 1
        if stats.active >= self.max_connections:
            stats.refused += 1
            connection.close()
            return
        stats.active += 1
        task = asyncio.get_running_loop().create_task(self._connection(connection))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connection(self, connection: AgiConnection) -> None:
        stats = self.stats
        try:
            stats.count(await self._serve(connection))
        except asyncio.CancelledError:
            pass  # server shutdown: the connection is closed below
        except Exception:  # last line of defence: log, never propagate
            log.exception("FastAGI connection failed")
        finally:
            stats.active -= 1
            connection.close()

    async def _serve(self, connection: AgiConnection) -> str:
        deadline = asyncio.get_running_loop().time() + self.header_timeout
        try:
            environment = await read_environment(connection, deadline)
        except (TimeoutError, AgiError, ConnectionClosed, LineTooLong, OSError) as exc:
            self.stats.bad += 1
            log.info("FastAGI from %s: bad header: %s", connection.peer, exc or type(exc).__name__)
            return "bad_header"
        session = AgiSession(environment, connection, reply_timeout=self.reply_timeout)
        try:
            outcome = await run_script(environment.script, session, self.context, self.scripts)
        except (LineTooLong, AgiError, OSError) as exc:
            log.info("FastAGI from %s: %s", connection.peer, exc)
            return "bad_reply"
        return outcome.value
