"""The engine under load: new calls per second and calls held, against the simulator.

Two processes on this machine's cores, talking ARI over loopback as they would to
Asterisk: this one runs the simulated Asterisk (`sim`) and the load driver; the engine
(``serve()``: the store on SQLite, no bus) runs in a child process
(``python -m bench.load engine SETTINGS``). The simulator's clock is the neutral
observer: a call's *enqueue-to-ring* is the time from its StasisStart (the caller
injected) to the engine's originate of the agent leg reaching the simulator, so it
includes the engine's answer, variable reads, holding bridge and routing decision.

* Steps: callers arrive evenly at 25, 40, 50, 100, 150 calls/s for a few seconds each;
  agents answer after `ANSWER_AFTER` and callers hang up `TALK` seconds after the
  ring, so calls build up concurrency. Per step: the arrival rate sustained, p50/p99
  enqueue-to-ring, calls held at the peak, errors (an unexpected 4xx/5xx, a caller
  sent to the fallback, a caller never rung), the CPU of both processes, and the
  engine's CPU per call: its process CPU time from the step's first caller until the
  step's last call has ended and the store has written it, over the calls completed
  (issue 3's target: at most 1.5x a bare-bones ARI app's 4.3 ms at 40 calls/s).
* Hold: `HOLD_CALLS` callers, half of them talking to agents who never hang up, the
  other half waiting in their holding bridges with music; then some talking callers
  hang up and the release-to-ring of the next waiting caller is measured; then all
  hang up and the engine must release every bridge.

All features on: the store (SQLite, queue_log table) and the bus (the embedded MQTT
broker, in its own process as ``callcenter engine`` runs it; ``BENCH_LOAD_NO_BUS=1``
leaves it out). The figures move with whatever else runs on the machine (it has two
cores); CPU time per call moves least. ``BENCH_LOAD_PROFILE=FILE`` writes a cProfile
of the engine process to FILE.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import cProfile
import gc
import logging
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ari_app.engine.holding import shared
from ari_app.engine.settings import EngineSettings
from sim import Answer, Endpoints, SimAsterisk, SimServer
from sim.asterisk import StasisUnavailableError

P99_TARGET_MS = 50.0
RATE_TARGET = 100.0
HOLD_TARGET = 2_000
ANSWER_AFTER = 0.05
TALK = 2.0
"""Seconds a caller talks after the ring (the agent answers within `ANSWER_AFTER`)."""
CPU_RATE = 40.0
"""Calls per second at which the engine's CPU per call is held to its target."""
CPU_PER_CALL_TARGET_MS = 6.5
"""1.5x the 4.3 ms per call of a bare-bones ARI app at 40 calls/s (issue 3, item 8)."""
LAG_TICK = 0.05
"""Seconds between the engine process's event-loop lag samples."""
STORE_FLUSH = 0.3
"""Seconds to wait after a step's last hang-up: the store writer's flush interval is 0.2."""
TRUNK = "trunk"
ARGS = ("inbound", "800", "CC_QUEUE=", "CC_PRIORITY=", "CC_VIP=", "CC_LANG=")
"""The shipped dialplan's Stasis arguments for a caller the lookups found nothing about."""
EXPECTED_404 = "/variable"  # a CC_* variable the dialplan did not set (entry.py)


@dataclass
class Step:
    rate: float
    """Calls per second asked for."""
    seconds: float
    offered: int = 0
    sustained: float = 0.0
    """Calls per second injected, over the step's measured time."""
    rung: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    peak_calls: int = 0
    """Callers present at once (waiting or talking), at the peak."""
    errors: int = 0
    engine_cpu: float = 0.0
    """Share of one core the engine process used during the step."""
    sim_cpu: float = 0.0
    """Share of one core the simulator and driver process used."""
    requests_per_call: float = 0.0
    engine_ms_per_call: float = 0.0
    """Engine process CPU (user + system) from the step's first caller to its last call
    ended and written, over the calls completed in the step."""


@dataclass
class Hold:
    calls: int
    talking: int = 0
    waiting_with_music: int = 0
    errors: int = 0
    release_to_ring_p50_ms: float = 0.0
    release_to_ring_p99_ms: float = 0.0
    engine_rss_mb: float = 0.0
    redundant_hang_ups: int = 0
    """Second hang-ups of agent legs whose answer crossed the first (not errors)."""
    drained_s: float = 0.0
    """Seconds from hanging every caller up to the last bridge destroyed by the engine."""
    engine_cpu: float = 0.0
    sim_cpu: float = 0.0


@dataclass
class Driver:
    """The callers and the simulator's view of the engine's requests."""

    ast: SimAsterisk
    talk: float | None = TALK
    """None: callers stay until hung up by the bench (the hold test)."""
    arrived: dict[str, float] = field(default_factory=dict)
    rung: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    requests: int = 0
    redundant: int = 0
    """Agent legs hung up twice (404 the second time), see `observe`."""
    _hung_up: set[str] = field(default_factory=set)

    def observe(self, method: str, path: str, params: dict[str, Any], status: int) -> None:
        """A REST request the simulator just answered (the engine sends appArgs as a
        query parameter, channels.py)."""
        self.requests += 1
        if method == "POST" and path == "/ari/channels":
            self._originated(str(params.get("appArgs", "")))
        elif method == "POST" and path.endswith("/continue"):
            self.errors["caller sent to the fallback"] += 1
        if method == "DELETE" and "/cc-leg-" in path:
            if status == 404 and path in self._hung_up:
                # The engine hangs up again an agent leg whose answer crossed its first
                # hang-up (stasis.py, "late agent answer"): a wasted request, no fault.
                self.redundant += 1
                return
            self._hung_up.add(path)
        if status >= 400 and not (status == 404 and path.endswith(EXPECTED_404)):
            self.errors[f"{status} {method} {path.split('/')[2]}"] += 1

    def _originated(self, args: str) -> None:
        kind, _, rest = args.partition(",")
        call = rest.partition(",")[0]
        if kind != "agent" or call in self.rung or call not in self.arrived:
            return
        now = self.ast.clock.now()
        self.rung[call] = now
        self.latencies.append((now - self.arrived[call]) * 1000)
        if self.talk is not None:
            self.ast.clock.call_later(ANSWER_AFTER + self.talk, lambda: self.hang_up(call))

    def arrive(self) -> None:
        try:
            channel = self.ast.inject_caller("800", args=ARGS, trunk=TRUNK)
        except StasisUnavailableError:
            self.errors["engine not connected"] += 1
            return
        self.arrived[channel.id] = self.ast.clock.now()

    def hang_up(self, call: str) -> None:
        if call in self.ast.channels:
            self.ast.remote_hangup(call)

    def callers(self) -> int:
        return sum(1 for c in self.ast.channels.values() if c.name.startswith("PJSIP/" + TRUNK))


class ObservedServer(SimServer):
    """The simulator, with the driver told of every REST request as it is answered."""

    def __init__(self, ast: SimAsterisk, driver: Driver, password: str) -> None:
        super().__init__(ast, password=password)
        self.driver = driver

    def dispatch(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        status, body = super().dispatch(method, path, params)
        self.driver.observe(method, path, params, status)
        return status, body


class EngineProcess:
    """The engine in a child process, and its CPU time as the kernel counts it."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._tick = os.sysconf("SC_CLK_TCK")

    def cpu(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0


def _config(agents: list[str]) -> str:
    members = ", ".join(f'"{a}"' for a in agents)
    return "\n".join([
        "pause_reasons:",
        "  missed: {label: Missed calls, on_ring_no_answer: true}",
        "queues:",
        f"  sales: {{ring_timeout: 5, retry: 0, members: [{members}]}}",
        "agents:",
        *(f'  "{a}": {{name: Agent {a}, endpoint: PJSIP/{a}}}' for a in agents),
        "numbers:",
        '  "800": {target: queue:sales}',
        "",
    ])  # fmt: skip


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


async def _until(what: Any, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if what():
            return True
        await asyncio.sleep(0.05)
    return bool(what())


async def _arrivals(driver: Driver, rate: float, seconds: float, peak: list[int]) -> int:
    """Callers at an even ``rate`` for ``seconds``; a late tick catches up."""
    start = time.monotonic()
    total = int(rate * seconds)
    for n in range(total):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        driver.arrive()
        if n % 10 == 0:
            peak[0] = max(peak[0], driver.callers())
    return total


async def _step(driver: Driver, engine: EngineProcess, rate: float, seconds: float) -> Step:
    step = Step(rate, seconds)
    driver.latencies.clear()
    driver.errors.clear()
    requests, offered_before = driver.requests, len(driver.arrived)
    cpu_engine, cpu_sim, wall = engine.cpu(), time.process_time(), time.monotonic()
    peak = [0]
    step.offered = await _arrivals(driver, rate, seconds, peak)
    elapsed = time.monotonic() - wall
    step.sustained = round(step.offered / elapsed, 1)
    step.engine_cpu = round((engine.cpu() - cpu_engine) / elapsed, 2)
    step.sim_cpu = round((time.process_time() - cpu_sim) / elapsed, 2)
    new = list(driver.arrived)[offered_before:]
    await _until(lambda: all(c in driver.rung for c in new), 5.0)
    step.rung = sum(1 for c in new if c in driver.rung)
    never = step.offered - step.rung
    if never:
        driver.errors["never rung"] += never
    step.p50_ms = round(statistics.median(driver.latencies), 2) if driver.latencies else 0.0
    step.p99_ms = round(_percentile(driver.latencies, 0.99), 2)
    step.max_ms = round(max(driver.latencies, default=0.0), 2)
    step.peak_calls = peak[0]
    step.errors = sum(driver.errors.values())
    step.requests_per_call = round((driver.requests - requests) / max(1, step.offered), 1)
    if driver.errors:
        logging.getLogger(__name__).warning("step %s errors: %s", rate, dict(driver.errors))
    # Let the step's calls end before the next one, and the store write them.
    await _until(lambda: driver.callers() == 0, TALK + 5.0)
    await asyncio.sleep(STORE_FLUSH)
    completed = sum(1 for c in new if c in driver.rung and c not in driver.ast.channels)
    step.engine_ms_per_call = round((engine.cpu() - cpu_engine) * 1000 / max(1, completed), 2)
    return step


async def _hold(driver: Driver, engine: EngineProcess, calls: int, agents: int) -> Hold:
    hold = Hold(calls)
    driver.talk = None
    driver.errors.clear()
    driver.redundant = 0
    driver.latencies.clear()
    cpu_engine, cpu_sim, wall = engine.cpu(), time.process_time(), time.monotonic()
    await _arrivals(driver, 150.0, calls / 150.0, [0])
    ast = driver.ast

    def placed() -> tuple[int, int]:
        talking = waiting = 0
        for bridge in ast.bridges.values():
            if bridge.bridge_type == "mixing" and len(bridge.channels) == 2:
                talking += 1
            elif bridge.bridge_type == "holding" and bridge.moh:
                waiting += len(bridge.channels)  # one bridge per music class (holding.py)
        return talking, waiting

    await _until(lambda: sum(placed()) >= calls, 20.0)
    hold.talking, hold.waiting_with_music = placed()
    hold.engine_rss_mb = round(engine.rss_mb(), 1)
    # Under that load, talking callers hang up: the next waiting caller is rung at once.
    talking = [
        c
        for c in driver.rung
        if c in ast.channels
        and ast.channels[c].bridge is not None
        and ast.bridges[ast.channels[c].bridge].bridge_type == "mixing"  # type: ignore[index]
    ][: min(100, calls - agents)]
    releases: list[float] = []
    for caller in talking:
        before = set(driver.rung)
        released = ast.clock.now()
        driver.hang_up(caller)
        await _until(lambda b=before: len(driver.rung) > len(b), 2.0)
        later = [driver.rung[c] for c in driver.rung if c not in before]
        if later:
            releases.append((min(later) - released) * 1000)
        await asyncio.sleep(0.02)
    hold.release_to_ring_p50_ms = round(statistics.median(releases), 2) if releases else 0.0
    hold.release_to_ring_p99_ms = round(_percentile(releases, 0.99), 2)
    elapsed = time.monotonic() - wall
    hold.engine_cpu = round((engine.cpu() - cpu_engine) / elapsed, 2)
    hold.sim_cpu = round((time.process_time() - cpu_sim) / elapsed, 2)
    hung_up = time.monotonic()
    for caller in list(driver.arrived):
        driver.hang_up(caller)

    def left() -> list[str]:  # bridges but the holding ones kept for the next caller
        return [b.id for b in ast.bridges.values() if b.channels or not shared(b.id)]

    await _until(lambda: not left() and driver.callers() == 0, 30.0)
    hold.drained_s = round(time.monotonic() - hung_up, 2)
    hold.errors = sum(driver.errors.values()) + len(left())
    hold.redundant_hang_ups = driver.redundant
    if driver.errors:
        logging.getLogger(__name__).warning("hold errors: %s", dict(driver.errors))
    return hold


async def _run(rates: list[float], seconds: float, hold_calls: int) -> dict[str, Any]:
    agents_needed = max(int(max(rates) * (TALK + 1.0)), hold_calls // 2)
    agents = [str(10000 + n) for n in range(agents_needed)]
    phones = Endpoints({f"PJSIP/{a}": Answer(after=ANSWER_AFTER) for a in agents})
    ast = SimAsterisk(endpoints=phones)
    ast.bus.log = collections.deque(maxlen=100)  # type: ignore[assignment]  # bounded
    driver = Driver(ast)
    bus = not os.environ.get("BENCH_LOAD_NO_BUS")
    secret = secrets.token_urlsafe(12)  # the simulator's, for this run only
    server = await ObservedServer(ast, driver, secret).start()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as workdir:
        conf = Path(workdir) / "conf"
        conf.mkdir()
        (conf / "center.yaml").write_text(_config(agents), encoding="utf-8")
        settings = Path(workdir) / "engine.toml"
        settings.write_text(
            f'ari_url = "{server.url}"\nari_password = "{secret}"\n'
            f'config_dir = "{conf}"\ndatabase_url = "{Path(workdir) / "cc.db"}"\n'
            f"config_poll_interval = 0\nlogin_agents = [{', '.join(repr(a) for a in agents)}]\n"
            + ("bus_embedded = true\nbus_port = 0\n" if bus else ""),
            encoding="utf-8",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.load", "engine", str(settings)
        )
        engine = EngineProcess(proc)
        try:
            if (
                not await _until(
                    lambda: ast.bus.connected("callcenter") or proc.returncode is not None, 30.0
                )
                or proc.returncode is not None
            ):
                raise RuntimeError("the engine did not connect to the simulator")
            # Warm-up: the agents logged in, the first calls through.
            await asyncio.sleep(1.0)
            warm = await _step(driver, engine, 20.0, 1.0)
            if warm.rung < warm.offered:
                raise RuntimeError(f"warm-up calls not rung: {warm}")
            steps = [await _step(driver, engine, rate, seconds) for rate in rates]
            hold = await _hold(driver, engine, hold_calls, len(agents))
        finally:
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()
            await server.close()
    best = max((s.sustained for s in steps if s.p99_ms < P99_TARGET_MS and not s.errors),
               default=0.0)  # fmt: skip
    concurrent = hold.talking + hold.waiting_with_music
    return {
        "agents": len(agents), "talk_s": TALK, "cores": os.cpu_count(), "bus": bus,
        "steps": [asdict(s) for s in steps], "hold": asdict(hold),
        "targets": {
            **_cpu_target(steps),
            f"sustained calls/s with p99 enqueue-to-ring < {P99_TARGET_MS:g} ms": {
                "value": best, "target": f">= {RATE_TARGET:g}", "met": best >= RATE_TARGET},
            "concurrent calls held": {
                "value": concurrent, "target": f">= {hold_calls}",
                "met": concurrent >= hold_calls and hold.errors == 0},
        },
    }  # fmt: skip


def _cpu_target(steps: list[Step]) -> dict[str, Any]:
    at = next((s for s in steps if s.rate == CPU_RATE), None)
    if at is None:
        return {}
    return {
        f"engine CPU ms per call at {CPU_RATE:g} calls/s": {
            "value": at.engine_ms_per_call, "target": f"<= {CPU_PER_CALL_TARGET_MS:g}",
            "met": 0 < at.engine_ms_per_call <= CPU_PER_CALL_TARGET_MS and not at.errors},
    }  # fmt: skip


def run(*, quick: bool = False) -> dict[str, Any]:
    if quick:
        return _on_uvloop(_run([CPU_RATE, 100.0], 1.5, 600))
    return _on_uvloop(_run([25.0, CPU_RATE, 50.0, 100.0, 150.0], 5.0, HOLD_TARGET))


def _on_uvloop(main: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """The simulator on uvloop too, where installed: less of the shared cores for it."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def print_figures(figures: dict[str, Any]) -> None:
    print(f"\nEngine under load against the simulator ({figures['agents']} agents, "
          f"talk {figures['talk_s']:g} s, {figures['cores']} cores, store"
          f"{' and bus' if figures['bus'] else ', no bus'}; ms/call: the engine's CPU "
          "per call)")  # fmt: skip
    header = ("calls/s", "sustained", "p50 ms", "p99 ms", "max ms", "peak", "errors",
              "engine cpu", "sim cpu", "req/call", "ms/call")  # fmt: skip
    print("{:>8}{:>10}{:>8}{:>8}{:>8}{:>7}{:>7}{:>11}{:>9}{:>9}{:>9}".format(*header))
    for s in figures["steps"]:
        row = (s["rate"], s["sustained"], s["p50_ms"], s["p99_ms"], s["max_ms"],
               s["peak_calls"], s["errors"], s["engine_cpu"], s["sim_cpu"],
               s["requests_per_call"], s["engine_ms_per_call"])  # fmt: skip
        print("{:>8g}{:>10g}{:>8.1f}{:>8.1f}{:>8.1f}{:>7}{:>7}{:>11.0%}{:>9.0%}{:>9g}{:>9.2f}"
              .format(*row))  # fmt: skip
    h = figures["hold"]
    print(f"Hold: {h['calls']} callers -> {h['talking']} talking + {h['waiting_with_music']} "
          f"waiting with music; release-to-ring p50 {h['release_to_ring_p50_ms']} ms, p99 "
          f"{h['release_to_ring_p99_ms']} ms; engine RSS {h['engine_rss_mb']} MB, CPU "
          f"{h['engine_cpu']:.0%} (sim {h['sim_cpu']:.0%}); all released in "
          f"{h['drained_s']} s; errors {h['errors']} (and {h['redundant_hang_ups']} "
          f"second hang-ups of agent legs answered as they were hung up)")  # fmt: skip


async def _serve_watched(serving: Coroutine[Any, Any, None]) -> None:
    """``serve()``, with the event loop's lag (a sleep's overshoot) on stderr."""
    lags: list[float] = []

    async def watch() -> None:
        # Every 50 ms: at every 10 ms the watcher alone cost 1.2% of a core (0.3 ms per
        # call at 40 calls/s), counted as the engine's.
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_TICK)
            lags.append((time.monotonic() - before - LAG_TICK) * 1000)

    pauses: list[float] = []
    started = [0.0]

    def collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - started[0]) * 1000)

    gc.callbacks.append(collected)
    watcher = asyncio.create_task(watch())
    try:
        await serving
    finally:
        watcher.cancel()
        gc.callbacks.remove(collected)
        if pauses:
            print(f"engine gc: {len(pauses)} collections, {sum(pauses):.0f} ms in all, "
                  f"longest {max(pauses):.1f} ms", file=sys.stderr)  # fmt: skip
        if lags:
            p50, p99 = statistics.median(lags), _percentile(lags, 0.99)
            print(f"engine loop lag ms: p50 {p50:.1f} p99 {p99:.1f} max {max(lags):.1f}",
                  file=sys.stderr)  # fmt: skip


async def _serve_without_store(settings: EngineSettings) -> None:
    """The engine alone, no store (``BENCH_LOAD_NO_STORE=1``): what the store costs."""
    from ari_app.engine import Engine
    from callcenter.config import load_config

    engine = Engine(settings, load_config(settings.config_dir))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await engine.start(connect_timeout=None)
    gc.freeze()  # as serve() does
    try:
        await stop.wait()
    finally:
        await engine.stop()


def _engine(settings_path: str) -> None:
    """The engine's process: ``serve()`` until SIGTERM (optionally profiled)."""
    from ari_app.engine.app import run_loop, serve
    from ari_app.engine.settings import load_settings

    logging.basicConfig(level=logging.WARNING, format="engine %(levelname)s %(name)s %(message)s")
    settings = load_settings(settings_path, environ={})
    profile_to = os.environ.get("BENCH_LOAD_PROFILE")
    profiler = cProfile.Profile() if profile_to else None
    with contextlib.suppress(KeyboardInterrupt):
        if profiler is not None:
            profiler.enable()
        try:
            serving = _serve_without_store(settings) if os.environ.get(
                "BENCH_LOAD_NO_STORE") else serve(settings)  # fmt: skip
            run_loop(_serve_watched(serving))  # as ``callcenter engine`` runs it
        finally:
            if profiler is not None and profile_to:
                profiler.disable()
                profiler.dump_stats(profile_to)


if __name__ == "__main__":
    if sys.argv[1:2] == ["engine"]:
        _engine(sys.argv[2])
    else:
        logging.basicConfig(level=logging.WARNING)
        print_figures(run(quick="--quick" in sys.argv))
