"""Our FastAGI server for the real-Asterisk tests: the real scripts, a SQLite store with a few
customers and product codes, the sample ``queues/`` configuration and a fixed clock.

It runs on its own event loop in a thread, so one server serves the whole test session
whatever loop each test runs on. Every line of every session is recorded per channel
(``agi_uniqueid``), so a test can check what Asterisk actually answered, e.g. the ``HANGUP``
notice and the 511s after a caller left.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agi_scripts.catalog import SCRIPTS
from agi_scripts.fastagi import FastAgiServer
from agi_scripts.runner import Script, ScriptContext
from agi_scripts.session import AgiSession, Lines
from callcenter.config import load_config
from callcenter.store import Store
from callcenter.store.codes import ProductCode, import_codes
from callcenter.store.imports import import_customers

REPO = Path(__file__).resolve().parents[2]
#: Wednesday 2026-11-25 10:00 in Shanghai: the hotline is open (queues/common.yaml).
OPEN_NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()
FALLBACK = "dialplan:cc-fallback,s,1"

VIP_NUMBER = "13800138000"
VIP_NAME = "王芳 O'Brien"
VIP = {"number": VIP_NUMBER, "name": VIP_NAME, "vip": True, "language": "zh",
       "tags": ("repeat", "wholesale")}  # fmt: skip
CODE = "24681357"
MISSING_SOUND = "cc/not-installed"


class RecordingLines:
    """Passes lines through and keeps them as ``(direction, line)``."""

    def __init__(self, inner: Lines, record: list[tuple[str, str]]) -> None:
        self.inner = inner
        self.record = record

    async def read_line(self, deadline: float | None = None) -> str:
        line = await self.inner.read_line(deadline)
        self.record.append(("in", line))
        return line

    async def write_line(self, line: str) -> None:
        self.record.append(("out", line))
        await self.inner.write_line(line)


async def _play_missing(session: AgiSession, _context: ScriptContext) -> None:
    """A test script playing a sound that is not installed, then going on."""
    await session.stream_file(MISSING_SOUND)
    await session.set_variable("CC_AFTER", "1")


class ThreadedFastAgi:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.wire: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
        """Each session's lines after the header, by the channel's ``agi_uniqueid``."""
        self.channels: dict[str, str] = {}
        """``agi_uniqueid`` by channel name (``agi_channel``), for tests that know the name."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: FastAgiServer | None = None
        self._store: Store | None = None
        self._released = asyncio.Event()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    @property
    def server(self) -> FastAgiServer:
        assert self._server is not None
        return self._server

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def call(self, coroutine: Any, timeout: float = 10.0) -> Any:
        """Run ``coroutine`` on the server's loop (e.g. a store query) and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _start(self) -> None:
        self._store = store = await Store.open(self.root / "callcenter.db")
        await import_customers(store, [VIP], at=OPEN_NOW - 86_400)
        await import_codes(store, [ProductCode(CODE, "Tea 250 g", "B7")], at=OPEN_NOW - 86_400)
        context = ScriptContext(
            store=store,
            config=load_config(REPO / "queues"),
            clock=lambda: OPEN_NOW,
            fallback=FALLBACK,
        )
        scripts = {name: self._recorded(script) for name, script in SCRIPTS.items()}
        scripts["wait_then_play"] = self._recorded(self._wait_then_play)
        scripts["play_missing"] = self._recorded(_play_missing)
        self._server = FastAgiServer(scripts, context, header_timeout=5.0, reply_timeout=10.0)
        await self._server.start("127.0.0.1", 0)

    async def _stop(self) -> None:
        if self._server is not None:
            await self._server.close()
        if self._store is not None:
            await self._store.close()

    async def _wait_then_play(self, session: AgiSession, _context: ScriptContext) -> None:
        """A test script busy between two commands (as a slow lookup would be): it waits
        until :meth:`release` is called, then plays a prompt."""
        await session.set_variable("CC_WAITING", "1")
        await self._released.wait()
        await session.stream_file("beep")

    def release(self) -> None:
        """Let ``wait_then_play`` go on."""
        self._loop.call_soon_threadsafe(self._released.set)

    def _recorded(self, script: Script) -> Script:
        async def run(session: AgiSession, context: ScriptContext) -> None:
            env = session.environment
            self.channels[env.get("channel")] = env.get("uniqueid")
            session.lines = RecordingLines(session.lines, self.wire[env.get("uniqueid")])
            await script(session, context)

        return run

    def outcomes(self) -> Mapping[str, int]:
        return dict(self.server.stats.outcomes)
