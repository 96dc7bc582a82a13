"""The engine: the routing core on Asterisk, wired by constructor injection.

    AriClient --events--> StasisEvents --core events--> Dispatcher --> Router.handle
        ^                      |                          |   \\--> Journal (store)
        |                      v                          v
        +------- REST ------ Executor <---- commands -----+   TimerClock (timers)

`Engine` builds and owns the parts; `run(settings)` is ``callcenter engine``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable

from ari_app.client import AriClient, AriEvent, AriServer, Snapshot
from ari_app.engine.calls import CallTable
from ari_app.engine.clock import TimerClock
from ari_app.engine.dispatcher import Dispatcher, Journal
from ari_app.engine.executor import Executor, Fallback
from ari_app.engine.recovery import Recovery
from ari_app.engine.reload import ConfigWatcher
from ari_app.engine.settings import EngineSettings
from ari_app.engine.stasis import StasisEvents
from callcenter.config import Config, load_config
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.router import Router

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        settings: EngineSettings,
        config: Config,
        *,
        journal: Journal | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.now = now
        self.calls = CallTable()
        self.router = Router(config.routing_spec(), now=now())
        server = AriServer(
            settings.server_name,
            settings.ari_url,
            settings.ari_user,
            settings.ari_password.get_secret_value(),
            settings.ari_app,
        )
        self.client = AriClient(server, on_event=self._on_event, on_resync=self._on_resync)
        self.dispatcher = Dispatcher(self.router, self._execute, self._call_failed, journal=journal)
        self.clock = TimerClock(self.dispatcher.post, now)
        fallback = Fallback(
            settings.fallback_context, settings.fallback_extension, settings.fallback_priority
        )
        self.executor = Executor(
            self.client.channels, self.client.bridges, self.calls, self.clock,
            self.dispatcher.post, config, app=settings.ari_app, fallback=fallback, now=now,
        )  # fmt: skip
        self.stasis = StasisEvents(self.calls, self.executor, self.dispatcher.post, now=now)
        self.recovery = Recovery(
            self.calls, self.executor, self.dispatcher, app=settings.ari_app,
            login_agents=settings.login_agents, now=now,
        )  # fmt: skip
        self.watcher = ConfigWatcher(
            settings.config_dir, self.apply_config, interval=settings.config_poll_interval
        )
        self._tasks: list[asyncio.Task[None]] = []

    # -- life cycle ---------------------------------------------------------------------

    async def start(self, *, connect_timeout: float | None = 10.0) -> None:
        """Start dispatching, watching the config and connecting to Asterisk. The first
        connect logs in ``settings.login_agents``; each (re)connect restores the calls
        found on Asterisk (`recovery`) before the first live event is read."""
        self._tasks = [
            asyncio.create_task(self.dispatcher.run(), name="dispatcher"),
            asyncio.create_task(self.client.run(), name="ari-events"),
            asyncio.create_task(self.watcher.run(), name="config-watcher"),
        ]
        if connect_timeout is not None:
            async with asyncio.timeout(connect_timeout):
                await self.client.connected.wait()

    async def apply_config(self, config: Config) -> None:
        """A new configuration, through the dispatcher: calls keep their order."""
        await self.dispatcher.request(ev.ConfigLoaded(self.now(), config.routing_spec()))
        self.executor.config = config

    def reload(self) -> None:
        """Re-read the configuration directory now (SIGHUP)."""
        self.watcher.trigger()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.clock.cancel_all()
        await self.executor.aclose()
        await self.client.aclose()

    async def idle(self) -> None:
        """Until the dispatcher and every call's requests are done (tests)."""
        while True:
            await self.dispatcher.idle()
            await self.executor.idle()
            if self.dispatcher.pending == 0:
                return

    # -- agents (until the bus and consoles, issue 6) --------------------------------------

    async def login(self, agent: str) -> None:
        await self.dispatcher.request(ev.AgentLoggedIn(self.now(), agent))

    async def logout(self, agent: str) -> None:
        await self.dispatcher.request(ev.AgentLoggedOut(self.now(), agent))

    async def pause(self, agent: str, reason: str) -> None:
        await self.dispatcher.request(ev.AgentPaused(self.now(), agent, reason))

    async def unpause(self, agent: str) -> None:
        await self.dispatcher.request(ev.AgentUnpaused(self.now(), agent))

    # -- wiring -----------------------------------------------------------------------------

    async def _on_event(self, event: AriEvent) -> None:
        try:
            self.stasis.on_event(event)
        except Exception:
            call = self.stasis.call_of(event)
            log.exception("ari event failed type=%s call=%s", event.type, call or "-")
            if call:
                self.executor.fail(call)

    async def _on_resync(self, snapshot: Snapshot) -> None:
        await self.recovery.resync(snapshot)

    def _execute(self, command: cmd.Command) -> None:
        self.executor.execute(command)

    def _call_failed(self, call: str) -> None:
        self.executor.fail(call)


async def serve(settings: EngineSettings, stop: asyncio.Event | None = None) -> None:
    """Run the engine with its store until ``stop`` is set, or without one until
    SIGINT/SIGTERM."""
    from callcenter.store import Store, StoreWriter
    from callcenter.store.journal import Journal as StoreJournal
    from callcenter.store.queue_log import QueueLogFile

    config = load_config(settings.config_dir)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if stop is None else ()
    stop = stop or asyncio.Event()
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    queue_log = QueueLogFile(settings.queue_log_file) if settings.queue_log_file else None
    async with (
        await Store.open(settings.database_url) as store,
        StoreWriter(store, queue_log_file=queue_log) as writer,
    ):
        engine = Engine(settings, config, journal=StoreJournal(writer))
        log.info("engine starting ari=%s app=%s config=%s (%s)", settings.ari_url,
                 settings.ari_app, settings.config_dir, config.summary())  # fmt: skip
        await engine.start(connect_timeout=None)
        hup = getattr(signal, "SIGHUP", None)
        if hup is not None:
            loop.add_signal_handler(hup, engine.reload)
        try:
            await stop.wait()
        finally:
            if hup is not None:
                loop.remove_signal_handler(hup)
            await engine.stop()
            for signum in signals:
                loop.remove_signal_handler(signum)
            log.info("engine stopped")


def run(settings: EngineSettings) -> None:
    asyncio.run(serve(settings))
