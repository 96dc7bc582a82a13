"""The engine: the routing core on Asterisk, wired by constructor injection.

    AriClient --events--> StasisEvents --core events--> Dispatcher --> Router.handle
    (one per server)           |                          |   \\--> Journal (store)
        ^                      v                          v
        +--- REST (AriPool) -- Executor <---- commands ---+   TimerClock (timers)

With several Asterisk servers, each event is handled and each resync done in the scope
of its server, and each call's steps in the scope of the call's server (pool.py): the
queues are shared, every request for a call goes to the server the caller is on.

`Engine` builds and owns the parts; `run(settings)` is ``callcenter engine``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from ari_app.client import AriClient, AriEvent, AriServer, Snapshot
from ari_app.client.events import unread_except
from ari_app.client.pool import AriPool, on_server
from ari_app.engine.calls import CallTable
from ari_app.engine.clock import TimerClock
from ari_app.engine.control import CallControl as AgentCallControl
from ari_app.engine.desk import CallControl, Desk, Records, agent_pins, open_bus
from ari_app.engine.dispatcher import Dispatcher, Journal
from ari_app.engine.executor import Executor, Fallback
from ari_app.engine.reachability import Reachability
from ari_app.engine.recovery import Recovery, Sessions, stored_sessions
from ari_app.engine.reload import ConfigWatcher
from ari_app.engine.settings import EngineSettings
from ari_app.engine.stasis import StasisEvents, failed_dial_text
from callcenter.bus.client import BusSettings
from callcenter.config import Config, load_config
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.router import Router

if TYPE_CHECKING:
    from callcenter.store import Store

log = logging.getLogger(__name__)

ENGINE_EVENTS = frozenset({
    "StasisStart", "StasisEnd", "ChannelDestroyed",  # stasis, control
    "ChannelDtmfReceived", "Dial", "PlaybackFinished",  # stasis: menus, a failed ring
    "PlaybackStarted", "RecordingStarted", "RecordingFinished", "RecordingFailed",  # hooks
    "EndpointStateChange",  # reachability
    "ApplicationReplaced",  # the client
})  # fmt: skip
"""The event types the engine reads; Asterisk is asked not to send it the others, so
not the bridge and hold events a call brings either (six or more per call), nor
``ChannelHangupRequest`` (three per call): a channel in the app that hangs up always
leaves it (``StasisEnd``), and one that was never in it ends with ``ChannelDestroyed``
(stasis.py)."""


class Engine:
    def __init__(
        self,
        settings: EngineSettings,
        config: Config,
        *,
        journal: Journal | None = None,
        sessions: Sessions | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.now = now
        self.calls = CallTable()
        self.router = Router(config.routing_spec(), now=now())
        self.pool = AriPool([
            AriClient(AriServer(s.name, s.url, s.user, s.password.get_secret_value(),
                                settings.ari_app, settings.ari_requests),
                      on_event=self._on_event, on_resync=self._on_resync,
                      unread=unread_except(ENGINE_EVENTS), sieve={"Dial": failed_dial_text})
            for s in settings.servers()
        ])  # fmt: skip
        self.client = self.pool.first
        """The (first) server's client: its `connected` and `run()` (tests)."""
        ari = self.pool
        # Everything that watches the core's decisions: the store's journal, the bus desk.
        self.journals: list[Journal] = [] if journal is None else [journal]
        self.dispatcher = Dispatcher(self.router, self._execute, self._call_failed, journal=self)
        self.clock = TimerClock(self.dispatcher.post, now)
        fallback = Fallback(
            settings.fallback_context, settings.fallback_extension, settings.fallback_priority
        )
        self.executor = Executor(
            ari.channels, ari.bridges, self.calls, self.clock,
            self.dispatcher.post, config, app=settings.ari_app, fallback=fallback, now=now,
            playbacks=ari.playbacks, recordings=ari.recordings,
            outbound_context=settings.outbound_context,
        )  # fmt: skip
        self.stasis = StasisEvents(self.calls, self.executor, self.dispatcher.post, now=now)
        # Phones' registration (issue 3): an unregistered agent is not offered calls.
        self.reachability = Reachability(
            ari.endpoints, ari.applications, lambda: self.executor.config.agents,
            self.dispatcher.post, app=settings.ari_app, now=now,
        )  # fmt: skip
        # Agents' and supervisors' call control (hold, transfer, monitor...), by agent id.
        self.control = AgentCallControl(
            self.calls, ari.channels, ari.bridges, self.dispatcher.post,
            self.router.agent_state, lambda: self.executor.config, self.reachability,
            app=settings.ari_app, outbound_context=settings.outbound_context,
            ring_timeout=settings.transfer_ring_timeout, now=now,
        )  # fmt: skip
        self.stasis.hooks += [self.reachability.on_event, self.control.on_event]
        self.recovery = Recovery(
            self.calls, self.executor, self.dispatcher, app=settings.ari_app,
            login_agents=settings.login_agents, sessions=sessions, now=now,
        )  # fmt: skip
        self.watcher = ConfigWatcher(
            settings.config_dir, self.apply_config, interval=settings.config_poll_interval
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.desk: Desk | None = None

    # -- life cycle ---------------------------------------------------------------------

    async def start(self, *, connect_timeout: float | None = 10.0) -> None:
        """Start dispatching, watching the config and connecting to Asterisk. The first
        connect logs in ``settings.login_agents``; each (re)connect restores the calls
        found on that server (`recovery`) before its first live event is read. With
        several servers, waits for any one: the others' calls wait for their reconnect."""
        clients = self.pool.clients
        names = {n: "ari-events" if len(clients) == 1 else f"ari-events-{n}" for n in clients}
        self._tasks = [
            asyncio.create_task(self.dispatcher.run(), name="dispatcher"),
            *(asyncio.create_task(client.run(), name=names[name])
              for name, client in clients.items()),
            asyncio.create_task(self.watcher.run(), name="config-watcher"),
        ]  # fmt: skip
        if connect_timeout is not None:
            async with asyncio.timeout(connect_timeout):
                await self.pool.any_connected()

    async def apply_config(self, config: Config) -> None:
        """A new configuration, through the dispatcher: calls keep their order."""
        await self.dispatcher.request(ev.ConfigLoaded(self.now(), config.routing_spec()))
        self.executor.config = config
        for server in self.pool.connected():  # new agents' phones watched too
            with on_server(server):
                await self.reachability.resync(server)

    def reload(self) -> None:
        """Re-read the configuration directory now (SIGHUP)."""
        self.watcher.trigger()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.clock.cancel_all()
        await self.control.aclose()
        await self.executor.aclose()
        await self.pool.aclose()

    async def idle(self) -> None:
        """Until the dispatcher and every call's requests are done (tests)."""
        while True:
            await self.dispatcher.idle()
            await self.executor.idle()
            await self.control.idle()
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

    def attach_desk(
        self,
        bus: BusSettings,
        *,
        store: Store | None = None,
        records: Records | None = None,
        control: CallControl | None = None,
    ) -> Desk:
        """The bus for consoles (issue 6): it watches the core's decisions from now on."""
        settings = self.settings
        self.desk = Desk(
            self, bus, store=store, records=records, control=control or self.control,
            supervisors=frozenset(settings.bus_supervisors),
            stats_interval=settings.bus_stats_interval,
            lookup_timeout=settings.bus_lookup_timeout,
            service_level_target=settings.bus_service_level_target,
        )  # fmt: skip
        self.journals.append(self.desk)
        return self.desk

    # -- wiring -----------------------------------------------------------------------------

    async def _on_event(self, event: AriEvent) -> None:
        # What an event starts is done on the server it came from (pool.py).
        with on_server(event.server):
            try:
                self.stasis.on_event(event)
            except Exception:
                call = self.stasis.call_of(event)
                log.exception("ari event failed server=%s type=%s call=%s",
                              event.server, event.type, call or "-")  # fmt: skip
                if call:
                    self.executor.fail(call)

    async def _on_resync(self, snapshot: Snapshot) -> None:
        # One server's (re)connect: only its calls are restored or settled.
        with on_server(snapshot.server):
            await self.recovery.resync(snapshot)
            self.control.resync(snapshot)
            await self.reachability.resync(snapshot.server)

    def record(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None:
        """The dispatcher's journal: each watcher in turn; one failing spares the others."""
        for journal in self.journals:
            try:
                journal.record(event, commands)
            except Exception:  # the store or the bus must never stop routing
                log.exception("journal failed journal=%s event=%s",
                              type(journal).__name__, type(event).__name__)  # fmt: skip

    def _execute(self, command: cmd.Command) -> None:
        self.executor.execute(command)

    def _call_failed(self, call: str) -> None:
        self.executor.fail(call)


async def serve(
    settings: EngineSettings,
    stop: asyncio.Event | None = None,
    *,
    now: Callable[[], float] = time.time,
) -> None:
    """Run the engine with its store until ``stop`` is set, or without one until
    SIGINT/SIGTERM. ``now``: the engine's clock (``callcenter demo`` runs it at the
    demo scenario's time of day, so the sample's business hours are open)."""
    from ari_app.engine.bookings import keep_in_store
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
        contextlib.AsyncExitStack() as stack,
    ):
        # Agents logged in when the engine last stopped come back logged in (recovery.py).
        engine = Engine(settings, config, journal=StoreJournal(writer),
                        sessions=lambda: stored_sessions(store), now=now)  # fmt: skip
        # Facts the core never sees (recording names, IVR paths) go to the interaction row.
        engine.executor.interactions = writer
        # Booked callbacks kept, and lines a kill lost written again, after a restart.
        keep_in_store(engine, store, writer)
        servers = ",".join(f"{s.name}={s.url}" for s in settings.servers())
        log.info("engine starting ari=%s app=%s config=%s (%s)", servers,
                 settings.ari_app, settings.config_dir, config.summary())  # fmt: skip
        link = await stack.enter_async_context(open_bus(settings, config))
        if link is not None:
            desk = engine.attach_desk(link.settings, store=store)
            if link.broker is not None:  # agents' broker passwords follow config reloads
                broker = link.broker
                desk.on_config = lambda new: broker.update_agent_pins(agent_pins(new))
            await desk.start()
            stack.push_async_callback(desk.stop)
        await engine.start(connect_timeout=None)
        # What is built by now (config, store, router, bus) lives as long as the engine:
        # out of the collector's sight, or every full collection walks it again (pauses
        # of 90 ms at 1,000 agents, 6 ms frozen; the p99 of bench/load.py).
        gc.freeze()
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
    run_loop(serve(settings))


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run(main)`` on uvloop's event loop where it is installed: its sockets and
    selector are C, which took the engine from a p99 enqueue-to-ring of 60-170 ms to
    20-40 ms at 100 new calls/s (``python -m bench --only load``)."""
    try:
        import uvloop
    except ImportError:  # e.g. Windows: the standard loop runs the same, slower
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
