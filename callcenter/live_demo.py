"""``callcenter demo``: the whole call center, live, on one machine (``make demo``).

Theory of operation. Three processes, on loopback, with a throwaway SQLite store:

    callcenter demo (this module: starts the others, then the console or a timer)
      |-- floor:  the simulated Asterisk (ARI on a free port) and the traffic driver
      |           (`sim.traffic`): callers dial the scenario's numbers, simulated agents
      |           log in over the bus and answer their phones
      '-- engine: ``callcenter engine``'s `serve()` on that ARI, with the embedded MQTT
                  broker (its own child) and the store

The person at the keyboard is agent 1001: the agent console (`console.agent_app`) runs
in the foreground of this process, connected to the engine's broker like any console.
``--headless`` runs without it (agent 1001 simulated too) for ``--duration`` seconds.
Either way the demo ends with the figures of the run as ``callcenter report`` computes
them from the store (`callcenter.store.reports`): what a manager would see.

The clock. The scenario says when things happen by time of day (arrival rates, shifts,
pauses) and the sample numbers have business hours (the hotline is open 08:30-21:00
Shanghai time). The engine, the driver and the console therefore share a clock set to
the scenario's start of day (e.g. 06:00 UTC) on the latest date on which the scenario's
numbers are open then, and running at the wall clock's pace from there. The store's
times are on that clock too (``callcenter report --db`` with ``--keep``).

Stopping. Each child reads its stdin and stops when it closes (as the broker does), so
no child outlives this process, even after a SIGKILL; they run in their own session so
that Ctrl+C at the terminal reaches only this process, which stops them in order
(engine first, so the store is complete, then the floor).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from callcenter.config import Config, ConfigErrors, is_open, load_config
from callcenter.traffic.scenario import Scenario, check_against, load_scenario

if TYPE_CHECKING:
    from console.agent_app import AgentConsole
    from console.supervisor_app import SupervisorConsole

log = logging.getLogger(__name__)

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "demo.yaml"
HUMAN = "1001"
SUPERVISOR = "supervisor"  # the demo's supervisor (bus user) and the phone it listens on
SUPERVISOR_PHONE = "PJSIP/2001"
START_TIMEOUT = 60.0  # seconds for the engine and the floor to come up (a slow first import)
STOP_TIMEOUT = 10.0
STATUS_EVERY = 10.0  # seconds between the floor's status lines
PASSWORD_VARIABLE = "CALLCENTER_DEMO_ARI_PASSWORD"  # noqa: S105 - a variable's name
DIR_VARIABLE = "CALLCENTER_DEMO_DIR"


class DemoError(RuntimeError):
    """The demo could not start; the message says why (and where the logs are)."""


# -- the clock -----------------------------------------------------------------------------


def demo_start(scenario: Scenario, config: Config, wall: float, *, days_back: int = 14) -> float:
    """When the demo's clock starts (epoch seconds): the scenario's start of day on the
    latest date, today or before, on which every number the scenario dials is open at
    that moment and an hour later (holidays included)."""
    today = dt.datetime.fromtimestamp(wall, dt.UTC).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)  # fmt: skip
    numbers = [config.numbers[a.number] for a in scenario.arrivals if a.number in config.numbers]
    calendars = [config.hours[n.hours] for n in numbers if n.hours and n.hours in config.hours]
    for back in range(days_back + 1):
        start = today - dt.timedelta(days=back) + dt.timedelta(seconds=scenario.day.start)
        moments = (start, start + dt.timedelta(seconds=min(3600.0, scenario.day.length)))
        if all(is_open(c, config.holidays, m) for c in calendars for m in moments):
            return start.timestamp()
    return (today + dt.timedelta(seconds=scenario.day.start)).timestamp()


def shifted_clock(offset: float) -> Callable[[], float]:
    """The wall clock moved by ``offset`` seconds."""
    return lambda: time.time() + offset


# -- the summary ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    name: str
    offered: int
    answered: int
    abandoned: int
    service_level: float | None  # a share, 0..1
    asa: float | None  # seconds
    aht: float | None  # seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "offered": self.offered, "answered": self.answered,
            "abandoned": self.abandoned, "service_level": self.service_level,
            "asa": self.asa, "aht": self.aht,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Summary:
    total: Figures
    queues: tuple[Figures, ...] = ()
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {**self.total.as_json(), "seconds": self.seconds,
                "queues": [q.as_json() for q in self.queues]}  # fmt: skip

    def render(self) -> str:
        head = (f"{'':<14}{'offered':>8}{'answered':>9}{'abandoned':>10}{'SL':>6}"
                f"{'ASA s':>7}{'AHT s':>7}")  # fmt: skip
        lines = [head, *(_row(q) for q in self.queues)]
        lines.append(_row(self.total))
        return "\n".join(lines)


def _row(f: Figures) -> str:
    level = "-" if f.service_level is None else f"{100 * f.service_level:.0f}%"
    asa = "-" if f.asa is None else f"{f.asa:.0f}"
    aht = "-" if f.aht is None else f"{f.aht:.0f}"
    return (f"{f.name:<14}{f.offered:>8}{f.answered:>9}{f.abandoned:>10}{level:>6}"
            f"{asa:>7}{aht:>7}")  # fmt: skip


async def read_summary(database: str, start: float, end: float) -> Summary:
    """The run's figures from the store, by ``callcenter report``'s formulas (service
    level: answered within 20 s over answered and abandoned after 20 s)."""
    from callcenter.store import Store
    from callcenter.store.reports import TrafficFigures, traffic

    def figures(name: str, row: TrafficFigures | None) -> Figures:
        if row is None:
            return Figures(name, 0, 0, 0, None, None, None)
        level = None if row.service_level is None else row.service_level / 100.0
        return Figures(name, row.offered, row.answered, row.abandoned, level, row.asa, row.aht)

    async with await Store.open(database, migrate=False) as store:
        total = await traffic(store, start, end, by=None)
        queues = await traffic(store, start, end, by="queue")
    return Summary(
        figures("all queues", total[0] if total else None),
        tuple(figures(row.key or "-", row) for row in queues),
        end - start,
    )


# -- the children --------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Child:
    """A child process that stops when its stdin closes; stdout lines are its messages."""

    name: str
    process: asyncio.subprocess.Process
    lines: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, name: str, args: Sequence[str], *, env: dict[str, str], log_file: IO[bytes]
    ) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", __name__, *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log_file,
            env=env, start_new_session=True,
        )  # fmt: skip
        child = cls(name, process)
        child.reader = asyncio.create_task(child._read(), name=f"{name}-stdout")
        return child

    async def _read(self) -> None:
        assert self.process.stdout is not None  # noqa: S101 - PIPE was asked for
        async for raw in self.process.stdout:
            self.lines.put_nowait(raw.decode(errors="replace").rstrip("\n"))
        self.lines.put_nowait("")  # end of output: the child is gone

    async def expect(self, word: str, limit: float) -> str:
        """The rest of the first line starting with ``word``."""
        async with asyncio.timeout(limit):
            while True:
                line = await self.lines.get()
                if not line:
                    raise DemoError(f"the {self.name} stopped while starting")
                if line.startswith(word):
                    return line[len(word) :].strip()

    async def stop(self) -> None:
        process = self.process
        if process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()  # the child's signal to stop
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await process.wait()
            except TimeoutError:
                log.warning("demo: the %s did not stop; killing it", self.name)
                process.kill()
                await process.wait()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


@dataclass
class Options:
    scenario: Path = DEFAULT_SCENARIO
    config: Path | None = None  # default: the scenario's
    headless: bool = False
    duration: float | None = None  # seconds; None: until the console quits
    human: str = HUMAN
    lang: str = "en"
    keep: Path | None = None  # keep the store and logs here
    json: bool = False
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    attach: Path | None = None  # where a running demo tells a wallboard how to join it


@dataclass
class Floor:
    """The running demo: where things are, for the console and the summary."""

    workdir: Path
    database: str
    bus: tuple[str, int]
    config_dir: Path
    offset: float
    started: float  # on the demo clock
    children: list[Child] = field(default_factory=list)  # in the order they stop
    floor: Child | None = None

    def now(self) -> float:
        return time.time() + self.offset

    async def stop(self) -> None:
        for child in self.children:  # engine first: its store is then complete
            await child.stop()
        self.children.clear()


def _child_env(workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    """The children's environment: none of the caller's CALLCENTER_* settings (the
    demo's own come in ``extra``); ``CALLCENTER_DEMO_DIR`` marks the run's processes
    (the broker inherits it from the engine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update(extra)
    env[DIR_VARIABLE] = str(workdir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextlib.asynccontextmanager
async def floor(options: Options) -> AsyncIterator[Floor]:
    """Start the floor and the engine; yield the `Floor`; stop both, in order."""
    scenario, document = load_scenario(options.scenario)
    from callcenter.traffic.scenario import config_path

    config_dir = options.config or config_path(scenario, options.scenario)
    config = load_config(config_dir)
    errors = check_against(scenario, document, config)
    if errors:
        raise ConfigErrors(errors)
    workdir = options.keep or Path(tempfile.mkdtemp(prefix="callcenter-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    wall = time.time()
    start = demo_start(scenario, config, wall)
    offset = start - wall
    database = str(workdir / "demo.db")
    host, bus_port, ari_port = "127.0.0.1", free_port(), free_port()
    password = secrets.token_urlsafe(18)  # the simulated Asterisk's ARI password
    supervisor_password = secrets.token_urlsafe(18)  # for `callcenter demo --wallboard`
    running = Floor(workdir, database, (host, bus_port), Path(config_dir), offset, start)
    logs = [(workdir / f"{name}.log").open("ab") for name in ("floor", "engine")]
    failed = False
    try:
        floor_args = [
            "floor", "--scenario", str(options.scenario), "--config", str(config_dir),
            "--database", database,
            "--ari-port", str(ari_port), "--bus-port", str(bus_port), "--offset", repr(offset),
            "--midnight", repr(start - scenario.day.start),
        ]  # fmt: skip
        if not options.headless:
            floor_args += ["--human", options.human]
        sim = await Child.start("floor", floor_args, log_file=logs[0],
                                env=_child_env(workdir, {PASSWORD_VARIABLE: password}))  # fmt: skip
        running.children.append(sim)
        running.floor = sim
        # Both start at once (each takes seconds to import on a busy machine); the
        # engine connects to ARI as soon as the simulator listens (it retries).
        engine = await Child.start(
            "engine", ["engine", "--offset", repr(offset)], log_file=logs[1],
            env=_child_env(workdir, {
                "CALLCENTER_ARI_URL": f"http://{host}:{ari_port}",
                "CALLCENTER_ARI_PASSWORD": password,
                "CALLCENTER_DATABASE_URL": database, "CALLCENTER_CONFIG_DIR": str(config_dir),
                "CALLCENTER_BUS_EMBEDDED": "true", "CALLCENTER_BUS_HOST": host,
                "CALLCENTER_BUS_PORT": str(bus_port),
                "CALLCENTER_BUS_SUPERVISORS": f"{SUPERVISOR}={supervisor_password}",
            }),
        )  # fmt: skip
        running.children.insert(0, engine)
        try:
            await _unless_exits(engine, sim.expect("ari", START_TIMEOUT))
            await _unless_exits(engine, sim.expect("traffic", START_TIMEOUT))
        except (DemoError, TimeoutError) as exc:
            raise DemoError(f"the call center did not start; see {workdir}/*.log") from exc
        invitation = Invitation(host, bus_port, supervisor_password, offset, str(config_dir))
        with invitation.posted(options.attach or invitation_path()):
            yield running
    except Exception:
        failed = True  # the logs say why: keep them
        raise
    finally:
        await running.stop()
        for file in logs:
            file.close()
        if options.keep is None and not failed:
            shutil.rmtree(workdir, ignore_errors=True)


async def _unless_exits(child: Child, waiting: Coroutine[Any, Any, str]) -> str:
    """``waiting``'s result, or DemoError as soon as ``child`` exits."""
    task = asyncio.create_task(waiting)
    exited = asyncio.create_task(child.process.wait())
    try:
        await asyncio.wait({task, exited}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        exited.cancel()
    if not task.done():
        task.cancel()
        raise DemoError(f"the {child.name} exited with status {child.process.returncode}")
    return task.result()


async def run(options: Options) -> int:
    out = options.out
    async with floor(options) as running:
        print(f"callcenter demo: engine, simulated Asterisk and MQTT broker on loopback; "
              f"demo clock {_clock_text(running.started)} UTC; logs in {running.workdir}",
              file=out, flush=True)  # fmt: skip
        relay = asyncio.create_task(_relay(running, out if options.headless else None))
        try:
            if options.headless:
                await _timer(options.duration or 60.0)
            else:
                await _console(running, options)
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            ended = running.now()
            await running.stop()
        summary = await read_summary(running.database, running.started - 1.0, ended + 1.0)
    if options.json:
        print(json.dumps(summary.as_json()), file=out)
    else:
        print(f"\nThe run: {summary.seconds:.0f} s from the store (service level: answered "
              f"within 20 s)", file=out)  # fmt: skip
        print(summary.render(), file=out)
        if options.keep is not None:
            print(f"Kept in {options.keep}: callcenter report --db {running.database} "
                  f"--since {_clock_text(running.started, iso=True)}", file=out)  # fmt: skip
    return 0


def _clock_text(epoch: float, *, iso: bool = False) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M" if iso else "%Y-%m-%d %H:%M")


async def _timer(seconds: float) -> None:
    """Wait ``seconds``, or until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _relay(running: Floor, out: IO[str] | None) -> None:
    """The floor's status lines, shown in headless mode."""
    if running.floor is None:
        return
    while True:
        line = await running.floor.lines.get()
        if not line:
            return
        if out is not None and line.startswith("status"):
            print(f"  {_clock_text(running.now())[-5:]} {line[6:].strip()}", file=out, flush=True)


def build_console(running: Floor, options: Options) -> AgentConsole:
    """The agent console for the person at the keyboard, on the demo's clock."""
    from callcenter.bus.client import BusSettings
    from console.agent_app import AgentConsole
    from console.link import BusLink
    from console.resources import load_resources

    host, port = running.bus

    def connect(pin: str) -> BusLink:
        return BusLink.for_agent(BusSettings(host, port, options.human, pin), options.human)

    resources = load_resources(running.config_dir)
    return AgentConsole(options.human, connect, resources, lang=options.lang, clock=running.now)


async def _console(running: Floor, options: Options) -> None:
    app = build_console(running, options)
    if options.duration is not None:
        timer = asyncio.get_running_loop().call_later(options.duration, app.exit)
    try:
        await app.run_async()
    finally:
        if options.duration is not None:
            timer.cancel()


# -- a second terminal: the supervisor's wallboard on the running demo -------------------


def invitation_path() -> Path:
    """Where a running demo leaves its invitation: private to the user (the runtime
    directory, else the temporary one with the uid in the name)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"callcenter-demo-{os.getuid()}.json"


@dataclass(frozen=True)
class Invitation:
    """How the supervisor's wallboard joins the running demo: its broker, the demo
    supervisor's password (made up for this run) and the demo's clock."""

    host: str
    port: int
    password: str
    offset: float
    config_dir: str
    pid: int = field(default_factory=os.getpid)

    @contextlib.contextmanager
    def posted(self, path: Path) -> Iterator[None]:
        """Written (mode 0600, atomically) while the demo runs; removed after."""
        temporary = path.with_name(f".{path.name}.{self.pid}")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(dataclasses.asdict(self), file)
        temporary.replace(path)
        try:
            yield
        finally:
            if Invitation.read(path) == self:  # not a newer demo's
                path.unlink(missing_ok=True)

    @staticmethod
    def read(path: Path) -> Invitation | None:
        """The invitation at ``path`` if it is the user's own and its demo still runs."""
        try:
            with path.open() as file:
                if os.fstat(file.fileno()).st_uid != os.getuid():
                    return None  # planted by someone else in a shared directory
                invitation = Invitation(**json.load(file))
            os.kill(invitation.pid, 0)
        except (OSError, ValueError, TypeError):
            return None
        return invitation


def build_wallboard(options: Options) -> SupervisorConsole:
    """The supervisor console on the demo running in another terminal, on its clock."""
    from callcenter.bus.client import BusSettings
    from console.link import BusLink
    from console.resources import load_resources
    from console.supervisor_app import SupervisorConsole

    invitation = Invitation.read(options.attach or invitation_path())
    if invitation is None:
        raise DemoError("no demo is running: start one with `make demo` in another terminal")
    settings = BusSettings(invitation.host, invitation.port, SUPERVISOR, invitation.password)
    return SupervisorConsole(
        SUPERVISOR, BusLink.for_supervisor(settings, SUPERVISOR),
        load_resources(Path(invitation.config_dir)), endpoint=SUPERVISOR_PHONE,
        lang=options.lang, clock=shifted_clock(invitation.offset),
    )  # fmt: skip


async def wallboard(options: Options) -> None:
    await build_wallboard(options).run_async()


# -- the children's side -----------------------------------------------------------------


async def _until_stdin_closes(stop: asyncio.Event) -> None:
    """Set ``stop`` when the parent closes our stdin (or dies) or sends SIGTERM."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()
    stop.set()


async def _engine_child(offset: float) -> None:
    from ari_app.engine.app import serve
    from ari_app.engine.settings import load_settings

    stop = asyncio.Event()
    watcher = asyncio.create_task(_until_stdin_closes(stop))
    try:
        await serve(load_settings(None), stop, now=shifted_clock(offset))
    finally:
        watcher.cancel()


async def _floor_child(args: argparse.Namespace) -> None:
    from callcenter.store import Store
    from sim.agents import Answer
    from sim.asterisk import SimAsterisk
    from sim.server import SimServer
    from sim.traffic import ScenarioPhones, TrafficDriver

    stop = asyncio.Event()
    watcher = asyncio.create_task(_until_stdin_closes(stop))
    scenario, _ = load_scenario(args.scenario)
    config = load_config(args.config)
    ast = SimAsterisk(endpoints=ScenarioPhones())
    server = await SimServer(
        ast, password=os.environ[PASSWORD_VARIABLE], port=args.ari_port
    ).start()
    # The demo supervisor's phone (listen, whisper, barge): picks up after a second.
    ast.register(SUPERVISOR_PHONE, Answer(after=1.0))
    print(f"ari {server.url}", flush=True)
    now = shifted_clock(args.offset)
    store: Store | None = None
    try:
        # The engine's events websocket: the simulator has no event to wait on.
        while not ast.bus.connected("callcenter") and not stop.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if stop.is_set():
            return  # stopped before the engine came
        # The engine opened (and migrated) the store before connecting: the dialplan's
        # `dnis_route` writes each arrival to it, so does the floor.
        store = await Store.open(args.database, migrate=False)
        driver = TrafficDriver(
            ast, config, scenario, bus=("127.0.0.1", args.bus_port), now=now,
            midnight=args.midnight, human=args.human,
            record_arrival=lambda call, fields: store.upsert_interaction(call, **fields),
        )  # fmt: skip
        traffic = asyncio.create_task(driver.run(), name="traffic")
        print("traffic", flush=True)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATUS_EVERY):
                    await stop.wait()
            c, bridges = driver.counts, list(ast.bridges.values())
            talking = sum(1 for b in bridges if b.bridge_type == "mixing" and len(b.channels) > 1)
            waiting = sum(len(b.channels) for b in bridges if b.bridge_type == "holding")
            print(f"status callers {c.callers}, in line {waiting}, talking {talking}, "
                  f"gave up {c.abandoned}, simulated agents logged in {driver.logged_in}",
                  flush=True)  # fmt: skip
        traffic.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await traffic
    finally:
        if store is not None:
            await store.close()
        watcher.cancel()
        await server.close()


def child_main(argv: Sequence[str] | None = None) -> int:
    """``python -m callcenter.live_demo engine|floor ...``: the demo's children."""
    parser = argparse.ArgumentParser(prog="python -m callcenter.live_demo")
    kind = parser.add_subparsers(dest="kind", required=True)
    engine = kind.add_parser("engine")
    engine.add_argument("--offset", type=float, required=True)
    sim = kind.add_parser("floor")
    sim.add_argument("--scenario", required=True)
    sim.add_argument("--config", required=True)
    sim.add_argument("--database", required=True)
    sim.add_argument("--ari-port", type=int, required=True)
    sim.add_argument("--bus-port", type=int, required=True)
    sim.add_argument("--offset", type=float, required=True)
    sim.add_argument("--midnight", type=float, required=True)
    sim.add_argument("--human", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.kind == "engine":
        asyncio.run(_engine_child(args.offset))
    else:
        asyncio.run(_floor_child(args))
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
