"""Side by side on a real Asterisk: Asterisk's own app_queue, then the engine, same load.

Where an Asterisk binary is found (``$CALLCENTER_ASTERISK``, ``asterisk`` on PATH, or
``/opt/asterisk-22``), each row starts a private instance with the test rig
(:mod:`tests.asterisk.rig`: its own directories, loopback ports, generated password) twice,
once per side, so neither pays for the other's configuration (app_queue watches the device
state of every static member even when no call uses the queue):

* callers: ``Local/<number>@bench-in-<side>`` originated over ARI at ``rate`` per second
  (the ``;1`` half waits in the dialplan like a carrier's leg); the ``;2`` half either
  answers and runs ``Queue(bench)``, or runs ``Stasis(callcenter,inbound,800,...)`` as the
  shipped dialplan does for a caller the lookups found nothing about (the engine answers);
* agents: ``Local/<id>@bench-agent``, answering at once and hanging up after a 1 s talk;
  app_queue has them as static members (strategy ``leastrecent``, no wrap-up, no
  ``ringinuse``), the engine as configured agents of one queue, all logged in at start
  (``login_agents``), the engine run as ``callcenter engine`` with its SQLite store and
  its bus: every feature on. The bus broker is Mosquitto, as in production, where it is
  installed (a process of its own, its CPU in the ``bus`` column), else the embedded
  amqtt (``BENCH_ASTERISK_BUS=amqtt`` asks for it: a Python broker, about ten times
  Mosquitto's CPU per call).

What is measured, from one source for both sides: Asterisk's CEL, written by cel_custom as
JSON lines. A CEL record's time is the time stamp of the Stasis message it came from
(``stasis_message_timestamp`` in Asterisk's ``main/cel.c``): when the channel or bridge
changed, in the thread that changed it, not when the file was written. Per caller: *join*
is ``APP_START`` of ``Queue`` or ``Stasis`` on its ``;2`` half, *ring* the ``CHAN_START``
of the agent channel it ends up bridged with (app_queue's ``ast_request`` and the engine's
originate both create it), *bridged* the later ``BRIDGE_ENTER`` of the two into that
bridge. CPU per call: utime+stime of the Asterisk process (all its threads,
``/proc/<pid>/stat``), of the engine's and of its bus broker (a child process), from the
first caller until the last channel is gone, over the callers offered; and the same less
what each used idle in the :data:`IDLE_WINDOW` before (the bus's periodic figures, timers).
CEL costs Asterisk some CPU: the same on both sides. The engine gets its calls only once
it is done starting (below a tenth of a core: half a minute with 10,000 agents).

Past its capacity a side does not slow down gently: waiting callers' music costs CPU,
which slows everything more (on this shared 2-core machine a neighbour's burst is enough
to tip a 40 calls/s row over). Arrivals stop when the channels pile up (``overloaded``
in the row's problems) rather than keep a collapsed Asterisk busy for everyone.

``BENCH_ASTERISK_ROWS=40x200x20,...`` (calls/s x agents x seconds) runs other rows;
``BENCH_ASTERISK_PROFILE=FILE`` runs the engine under cProfile (wall-clock times).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ari_app.client import AriClient, AriError
from tests.asterisk.ari import AriCredentials, stasis_app
from tests.asterisk.rig import Asterisk, Overlay, RigUnavailable, find_binary, free_port
from tests.bus.mosquitto import (
    MosquittoUnavailableError,
    RunningMosquitto,
    find_mosquitto,
    running_mosquitto,
)

TALK = 1.0
"""Seconds an agent talks once it answered."""
QUEUE_WAIT = 30
"""Seconds a caller waits in app_queue before giving up (``Queue()``'s timeout)."""
DRAIN = 40.0
"""Seconds after the last caller to wait for every channel to go."""
CALLER_APP = "bench-caller"
EXCEPTION = re.compile(r"^[\w.]+(Error|Exception)\b")
IDS = re.compile(r"[0-9a-f]{32}|\d{6,}(\.\d+)?")
BUS_VARIABLE = "BENCH_ASTERISK_BUS"
"""``mosquitto`` or ``amqtt``: the engine's bus broker (default: Mosquitto where found)."""
BROKER_PASSWORD = "bench-engine-secret"  # noqa: S105 - a private broker for one row
PROFILE_VARIABLE = "BENCH_ASTERISK_PROFILE"
"""A file: the engine runs under cProfile and writes it there (the last row's engine)."""
IDLE_WINDOW = 2.0
"""Seconds of no calls before the arrivals: the CPU every process uses anyway (timers,
the bus's periodic figures), taken off the per-call figures in the ``*_work_ms`` columns."""
ROWS_VARIABLE = "BENCH_ASTERISK_ROWS"
"""``RATExAGENTSxSECONDS,...`` (e.g. ``10x200x20``): other rows than :func:`plan`'s."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

RING_P99_TARGET_MS = 20.0
ENGINE_CPU_TARGET_MS = 6.5
"""1.5x the bare-bones ARI app's 4.3 ms per call (issue 3, item 8)."""
ASTERISK_CPU_TARGET_MS = 34.0
"""1.2x the 28 ms per call Asterisk spent under the bare-bones ARI app."""
SCALING_TARGET = 2.0
"""p50 join-to-ring at the most agents over the fewest (flat: app_queue is not)."""
REFERENCE = {
    "app_queue 40/s 200 members": "join->ring p50 0.6 / p99 3.2 ms, Asterisk ~10 ms CPU/call",
    "bare-bones ARI app 40/s": "join->ring p50 1.7 / p99 37 ms, join->bridged p50 12.6 / "
    "p99 103 ms, app 4.3 ms CPU/call, Asterisk 28 ms CPU/call",
}

DIALPLAN = f"""
; The side-by-side benchmark (bench/asterisk.py).
[bench-caller]
exten => s,1,Wait(600)
 same => n,Hangup()

[bench-in-app_queue]
exten => _X.,1,Answer()
 same => n,Queue(bench,,,,{QUEUE_WAIT})
 same => n,Hangup()

[bench-in-engine]
exten => _X.,1,Stasis(callcenter,inbound,800,CC_QUEUE=,CC_PRIORITY=,CC_VIP=,CC_LANG=)
 same => n,Hangup()

[bench-agent]
exten => _X.,1,Answer()
 same => n,Wait({TALK:g})
 same => n,Hangup()
"""

CEL_CONF = """\
[general]
enable = yes
apps = queue,stasis
events = APP_START,CHAN_START,BRIDGE_ENTER
"""

CEL_FIELDS = "EventType,EventTime(float),ChanName,AppName,UniqueID,EventExtra"


@dataclass
class Row:
    side: str
    """``app_queue`` or ``engine``."""
    rate: float
    agents: int
    offered: int = 0
    joined: int = 0
    bridged: int = 0
    ring_p50_ms: float = 0.0
    ring_p99_ms: float = 0.0
    ring_max_ms: float = 0.0
    bridged_p50_ms: float = 0.0
    bridged_p99_ms: float = 0.0
    asterisk_cpu_ms: float = 0.0
    """Asterisk's CPU per call offered."""
    engine_cpu_ms: float | None = None
    """The engine's CPU per call offered (None for app_queue)."""
    bus_cpu_ms: float | None = None
    """Its bus broker's (a child process), per call offered."""
    asterisk_work_ms: float = 0.0
    """As ``asterisk_cpu_ms`` less what Asterisk used idle (:data:`IDLE_WINDOW`)."""
    engine_work_ms: float | None = None
    bus_work_ms: float | None = None
    broker: str = ""
    """The engine's bus broker: ``mosquitto`` (production's, a process of its own) or
    ``amqtt`` (the embedded one, a child process of the engine)."""
    requests: str = ""
    """Where the engine sent its ARI writes: ``websocket`` or ``http`` (its log says;
    ``ari_requests`` setting, from ``CALLCENTER_ARI_REQUESTS`` when set)."""
    load_average: float = 0.0
    """The machine's 1-minute load average when the row started (2 cores, shared)."""
    machine_ms: float = 0.0
    """CPU ms of a fixed pure-Python workload run just before the row (`machine_ms`): the
    host's speed at that moment, lower is faster."""
    sustained: float = 0.0
    """Callers originated per second over the arrival phase."""
    lonely: int = 0
    """Agents bridged without their caller. Seen on the engine's side (2 calls in 4,000 at
    40/s): the engine destroyed the holding bridge, then ``addChannel`` of caller and agent
    into the mixing bridge answered 204 and the engine logged "connected", yet CEL has only
    the agent entering. ``res_ari_bridges.c`` answers 204 even when a channel's add command
    failed (only "currently recording" is an error there)."""
    problems: list[str] = field(default_factory=list)


def plan(quick: bool) -> list[tuple[float, int, float]]:
    """(calls per second, agents, seconds of arrivals) per row."""
    asked = os.environ.get(ROWS_VARIABLE, "")
    if asked:
        rows = [tuple(float(part) for part in row.split("x")) for row in asked.split(",")]
        return [(rate, int(agents), seconds) for rate, agents, seconds in rows]
    if quick:
        return [(40.0, 200, 5.0)]
    return [(40.0, 200, 20.0), (5.0, 200, 12.0), (5.0, 2_000, 12.0), (5.0, 10_000, 12.0)]


def run(*, quick: bool = False) -> dict[str, Any]:
    """The rows (or ``skipped`` with the reason), their targets and the reference figures."""
    binary = find_binary()
    if binary is None:
        return {"skipped": "no Asterisk binary (set CALLCENTER_ASTERISK to one, put "
                           "asterisk on PATH, or install it in /opt/asterisk-22)"}  # fmt: skip
    rows: list[Row] = []
    try:
        for rate, agents, seconds in plan(quick):
            for side in ("app_queue", "engine"):
                rows.append(asyncio.run(_row(side, rate, agents, seconds)))
    except RigUnavailable as exc:
        return {"skipped": f"private Asterisk did not start: {exc}"}
    return {
        "asterisk": str(binary),
        "load_average": os.getloadavg(),
        "rows": [asdict(row) for row in rows],
        "targets": _targets(rows),
        "reference": REFERENCE,
    }


# -- one row ------------------------------------------------------------------------------


def machine_ms() -> float:
    """CPU ms of a fixed pure-Python workload (dict and str churn, as the engine's own).
    This shared 2-core machine runs the same work up to 1.6 times slower in some phases
    than in others (219 to 347 ms back to back), and every CPU figure of a row with it:
    read beside them, it tells a slow phase of the host from a slower engine."""
    started = time.process_time()
    table: dict[int, str] = {}
    for n in range(2_000_000):
        table[n % 1000] = str(n)
    return round((time.process_time() - started) * 1000, 1)


async def _row(side: str, rate: float, agents: int, seconds: float) -> Row:
    row = Row(side, rate, agents, load_average=round(os.getloadavg()[0], 2))
    row.machine_ms = machine_ms()
    ids = [str(100_000 + n) for n in range(agents)]
    with (
        tempfile.TemporaryDirectory(prefix="bench-asterisk-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        root = Path(tmp)
        instance = _instance(root / "asterisk", side, ids)
        engine: subprocess.Popen[bytes] | None = None
        broker: RunningMosquitto | None = None
        try:
            credentials = AriCredentials(instance.ari_url, instance.ari_user, instance.ari_password)
            if side == "engine":
                row.broker = _broker()
                if row.broker == "mosquitto":
                    (root / "mosquitto").mkdir()
                    broker = stack.enter_context(
                        running_mosquitto(root / "mosquitto", {"engine": BROKER_PASSWORD})
                    )
                engine = _start_engine(root / "engine", instance, ids, broker)
            # The callers' own requests over HTTP, as in the reference runs: the load
            # generator must not share (or queue behind) a websocket's one-at-a-time turn.
            async with stasis_app(credentials, CALLER_APP, requests="http") as (client, _):
                if engine is not None:
                    await _until_registered(client, engine, root / "engine" / "engine.log")
                await _calls(client, row, instance, engine, broker, rate, seconds)
        finally:
            if engine is not None:
                _stop(engine)
                row.problems.extend(_engine_problems(root / "engine" / "engine.log"))
                row.requests = _engine_requests(root / "engine" / "engine.log")
            instance.stop()
        _measure(row, instance.root / "log" / "cel.json")
    return row


def _broker() -> str:
    """Mosquitto, as in production, where it is installed (or ``BENCH_ASTERISK_BUS``)."""
    asked = os.environ.get(BUS_VARIABLE, "")
    if asked in ("amqtt", "mosquitto"):
        return asked
    try:
        find_mosquitto()
    except MosquittoUnavailableError:
        return "amqtt"
    return "mosquitto"


def _instance(root: Path, side: str, ids: list[str]) -> Asterisk:
    binary = find_binary()
    assert binary is not None
    instance = Asterisk(binary, root, Overlay(extra_dialplan=DIALPLAN))
    instance.prepare()
    # Quiet: a verbose line per dialplan step would cost more CPU than the calls.
    conf = instance.conf.read_text().replace("verbose = 3", "verbose = 0")
    instance.conf.write_text(conf)
    (instance.etc / "logger.conf").write_text("[general]\n[logfiles]\nfull => warning,error\n")
    (instance.etc / "cel.conf").write_text(CEL_CONF)
    cel = instance.root / "log" / "cel.json"
    (instance.etc / "cel_custom.conf").write_text(
        f"[{cel}]\nformat = json\nfields = {CEL_FIELDS}\n"
    )
    (instance.etc / "queues.conf").write_text(_queues(ids if side == "app_queue" else []))
    try:
        instance.start(timeout=60 + len(ids) / 100)
    except (RigUnavailable, subprocess.TimeoutExpired) as exc:
        tail = instance.log_tail()
        instance.stop()
        raise RigUnavailable(f"{exc}\n{tail}") from exc
    return instance


def _queues(members: list[str]) -> str:
    lines = [
        "[general]",
        "persistentmembers = no",
        "[bench]",
        "strategy = leastrecent",  # the engine's default: the longest idle agent
        "timeout = 5",
        "retry = 1",
        "wrapuptime = 0",
        "ringinuse = no",
        "joinempty = yes",
        "leavewhenempty = no",
        "announce-frequency = 0",
        "periodic-announce-frequency = 0",
        "announce-position = no",
        "announce-holdtime = no",
        "musicclass = default",
    ]
    lines += [f"member => Local/{agent}@bench-agent,0,Agent {agent}" for agent in members]
    return "\n".join(lines) + "\n"


def _start_engine(
    root: Path, instance: Asterisk, ids: list[str], broker: RunningMosquitto | None
) -> subprocess.Popen[bytes]:
    conf = root / "conf"
    conf.mkdir(parents=True)
    members = ", ".join(f'"{agent}"' for agent in ids)
    agents = "".join(
        f'  "{agent}": {{name: Agent {agent}, endpoint: "Local/{agent}@bench-agent"}}\n'
        for agent in ids
    )
    (conf / "center.yaml").write_text(
        "pause_reasons:\n  missed: {label: Missed calls, on_ring_no_answer: true}\n"
        f"queues:\n  sales: {{members: [{members}]}}\nagents:\n{agents}"
        'numbers:\n  "800": {target: queue:sales}\n',
        encoding="utf-8",
    )
    settings = root / "engine.toml"
    settings.touch(mode=0o600)
    settings.write_text(
        f'ari_url = "{instance.ari_url}"\n'
        f'ari_user = "{instance.ari_user}"\n'
        f'ari_password = "{instance.ari_password}"\n'
        f'database_url = "{root / "cc.db"}"\n'
        f'config_dir = "{conf}"\n'
        "config_poll_interval = 0\n"
        + (
            f'bus_host = "{broker.host}"\nbus_port = {broker.port}\n'
            f'bus_password = "{BROKER_PASSWORD}"\n'
            if broker is not None
            else f"bus_embedded = true\nbus_port = {free_port()}\n"
        )
        + f"login_agents = [{members}]\n"
    )
    log = (root / "engine.log").open("wb")
    profile = os.environ.get(PROFILE_VARIABLE)
    command = ["-m", "callcenter.cli", "engine", "--settings", str(settings)]
    if profile:  # written when the engine exits on SIGTERM
        command = ["-m", "cProfile", "-o", profile, *command]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, *command],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return process


async def _until_registered(client: AriClient, engine: subprocess.Popen[bytes], log: Path) -> None:
    """The engine's app is on Asterisk (its agents are logged in before it registers)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if engine.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])  # noqa: ASYNC240
            raise RuntimeError(f"the engine exited ({engine.returncode}):\n{tail}")
        with contextlib.suppress(AriError):
            if any(app.name == "callcenter" for app in await client.applications.list()):
                await _settled(engine.pid, deadline)
                return
        await asyncio.sleep(0.2)
    raise RuntimeError("the engine did not register its Stasis app within 120 s")


async def _calls(
    client: AriClient,
    row: Row,
    instance: Asterisk,
    engine: subprocess.Popen[bytes] | None,
    broker: RunningMosquitto | None,
    rate: float,
    seconds: float,
) -> None:
    assert instance.process is not None
    asterisk_pid = instance.process.pid
    count = int(rate * seconds)
    pids = [asterisk_pid]
    if engine is not None:  # then its broker: amqtt is its child, Mosquitto not
        pids += [engine.pid, *_children(engine.pid), *([broker.pid] if broker else [])]
    idle = [_cpu(pid) for pid in pids]
    await asyncio.sleep(IDLE_WINDOW)
    before = [_cpu(pid) for pid in pids]
    idle_rates = [(after - first) / IDLE_WINDOW for first, after in zip(idle, before, strict=True)]
    started = time.monotonic()
    tasks = []
    overload = asyncio.create_task(_overloaded(client, rate))
    for n in range(count):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if overload.done():
            row.problems.append(f"{overload.result()} after {n} callers: no more arrivals")
            break
        tasks.append(asyncio.create_task(_originate(client, row.side, n)))
    row.sustained = round(len(tasks) / max(time.monotonic() - started, 1e-9), 1)
    failures = [f for f in await asyncio.gather(*tasks) if f]
    row.problems.extend(failures[:5])
    row.offered = len(tasks) - len(failures)
    if not overload.done():
        await _drained(client, DRAIN)
    overload.cancel()
    elapsed = time.monotonic() - started
    calls = max(row.offered, 1)
    used = [_cpu(pid) - first for pid, first in zip(pids, before, strict=True)]
    work = [u - rate * elapsed for u, rate in zip(used, idle_rates, strict=True)]
    row.asterisk_cpu_ms = round(1000 * used[0] / calls, 2)
    row.asterisk_work_ms = round(1000 * work[0] / calls, 2)
    if engine is not None:
        row.engine_cpu_ms = round(1000 * used[1] / calls, 2)
        row.engine_work_ms = round(1000 * work[1] / calls, 2)
        row.bus_cpu_ms = round(1000 * sum(used[2:]) / calls, 2)
        row.bus_work_ms = round(1000 * sum(work[2:]) / calls, 2)
    with contextlib.suppress(AriError):
        for channel in await client.channels.list():  # callers never served
            with contextlib.suppress(AriError):
                await client.channels.hangup(channel.id)


async def _overloaded(client: AriClient, rate: float) -> str:
    """Returns once the calls pile up (far more channels than callers being served at
    ``rate`` need): past that point waiting callers' music costs more CPU than the calls,
    the machine (shared) slows down for everyone and the figures say nothing more."""
    cap = int(4 * rate * (TALK + 2)) + 40  # four Local halves per call
    unanswered = 0
    while True:
        await asyncio.sleep(1.0)
        try:
            live = len(await client.channels.list())
        except AriError as exc:
            unanswered += 1
            if unanswered == 3:
                return f"overloaded: ARI does not answer ({exc})"
            continue
        unanswered = 0
        if live > cap:
            return f"overloaded: {live} channels (a call needs 4)"


async def _originate(client: AriClient, side: str, n: int) -> str:
    """One caller; a problem's text, or ``""``."""
    number = str(5_000_000 + n)
    try:
        await client.channels.originate(
            f"Local/{number}@bench-in-{side}",
            context="bench-caller",
            extension="s",
            priority=1,
            caller_id=number,
        )
    except AriError as exc:
        return f"originate {number}: {exc}"
    return ""


async def _drained(client: AriClient, limit: float) -> None:
    """Every channel gone (agents hang up after the talk, callers with them), or ``limit``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        with contextlib.suppress(AriError):
            if not await client.channels.list():
                return


async def _settled(pid: int, deadline: float) -> None:
    """Until the engine is done starting (its restore, the agents' first states on the bus
    and in the store: many seconds with 10,000 agents): below a tenth of a core for 1 s."""
    while time.monotonic() < deadline:
        before = _cpu(pid)
        await asyncio.sleep(1.0)
        if _cpu(pid) - before < 0.1:
            return


def _cpu(pid: int) -> float:
    """Seconds of CPU (user + system, all threads) the process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the engine's bus broker, desk.py)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _engine_problems(log: Path) -> list[str]:
    """The exceptions and fail-safes in the engine's log, counted (ids blanked out)."""
    if not log.exists():
        return []
    found: collections.Counter[str] = collections.Counter()
    for line in log.read_text(errors="replace").splitlines():
        if EXCEPTION.match(line) or "fail-safe" in line:
            text = line.split(" ", 2)[-1] if "fail-safe" in line else line
            found[IDS.sub("…", text)[:160]] += 1
    return [f"{count} x {text}" for text, count in found.most_common(5)]


def _engine_requests(log: Path) -> str:
    """``websocket`` or ``http``: the first connect's ``requests=`` in the engine's log."""
    if log.exists():
        found = re.search(r"ari events connected .*requests=(\w+)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
    return ""


# -- CEL -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cel:
    event: str
    time: float
    channel: str
    app: str
    uniqueid: str
    bridge: str


def read_cel(path: Path) -> Iterator[Cel]:
    """cel_custom's JSON lines (``CEL_FIELDS``); ``extra`` of a BRIDGE_ENTER names the bridge."""
    if not path.exists():
        return
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            extra = record.get("eventextra") or ""
            bridge = json.loads(extra).get("bridge_id", "") if extra.startswith("{") else ""
            yield Cel(
                str(record["eventtype"]),
                float(record["eventtime"]),
                str(record["channame"]),
                str(record.get("appname", "")),
                str(record["uniqueid"]),
                str(bridge),
            )
        except (ValueError, KeyError, AttributeError):
            continue  # a record cut short at stop


def latencies(records: list[Cel]) -> dict[str, tuple[float, float | None, float | None]]:
    """Per caller (its ``;2`` half's channel name): join time, then ring and bridged delays
    in seconds (None when it was never bridged with an agent)."""
    joined: dict[str, float] = {}
    created: dict[str, float] = {}
    members: dict[str, dict[str, float]] = {}
    for record in records:
        if record.event == "APP_START" and record.app.lower() in ("queue", "stasis"):
            if "@bench-in-" in record.channel:
                joined.setdefault(record.channel, record.time)
        elif record.event == "CHAN_START" and "@bench-agent-" in record.channel:
            created[record.channel] = record.time
        elif record.event == "BRIDGE_ENTER" and record.bridge:
            members.setdefault(record.bridge, {})[record.channel] = record.time
    found: dict[str, tuple[float, float | None, float | None]] = {
        caller: (at, None, None) for caller, at in joined.items()
    }
    for entered in members.values():
        agents = [c for c in entered if "@bench-agent-" in c]
        callers = [c for c in entered if c in joined]
        if not agents or not callers:
            continue  # the engine's holding bridge, say
        caller, agent = callers[0], agents[0]
        at = joined[caller]
        ring = created.get(agent, at) - at
        bridged = max(entered[caller], entered[agent]) - at
        found[caller] = (at, ring, bridged)
    return found


def lonely_agents(records: list[Cel]) -> int:
    """Bridges an agent's channel entered without any caller ever entering: a connect
    that failed on Asterisk's side (see ``Row.lonely``)."""
    entered: dict[str, set[str]] = {}
    for record in records:
        if record.event == "BRIDGE_ENTER" and record.bridge:
            entered.setdefault(record.bridge, set()).add(record.channel)
    return sum(
        1
        for channels in entered.values()
        if any("@bench-agent-" in c for c in channels)
        and not any("@bench-in-" in c for c in channels)
    )


def _measure(row: Row, path: Path) -> None:
    records = list(read_cel(path))
    per_caller = latencies(records)
    row.lonely = lonely_agents(records)
    if row.lonely:
        row.problems.append(f"{row.lonely} x an agent alone in the bridge meant for a caller")
    row.joined = len(per_caller)
    rings = sorted(1000 * r for _, r, _ in per_caller.values() if r is not None)
    bridged = sorted(1000 * b for _, _, b in per_caller.values() if b is not None)
    row.bridged = len(bridged)
    if rings:
        row.ring_p50_ms = round(statistics.median(rings), 2)
        row.ring_p99_ms = round(_percentile(rings, 0.99), 2)
        row.ring_max_ms = round(rings[-1], 2)
    if bridged:
        row.bridged_p50_ms = round(statistics.median(bridged), 2)
        row.bridged_p99_ms = round(_percentile(bridged, 0.99), 2)


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# -- targets and printing -----------------------------------------------------------------


def _targets(rows: list[Row]) -> dict[str, dict[str, object]]:
    engine = [r for r in rows if r.side == "engine"]
    checks: dict[str, dict[str, object]] = {}
    if not engine:
        return checks
    busiest = max(engine, key=lambda r: (r.rate, -r.agents))
    name = f"engine at {busiest.rate:g}/s, {busiest.agents} agents"
    served = busiest.bridged == busiest.offered and busiest.offered > 0
    checks[f"{name}: callers bridged"] = {
        "value": f"{busiest.bridged}/{busiest.offered}", "target": "all", "met": served,
    }  # fmt: skip
    checks[f"{name}: join->ring p99 (ms)"] = {
        "value": busiest.ring_p99_ms, "target": f"< {RING_P99_TARGET_MS:g}",
        "met": served and busiest.ring_p99_ms < RING_P99_TARGET_MS,
    }  # fmt: skip
    engine_cpu = round((busiest.engine_cpu_ms or 0.0) + (busiest.bus_cpu_ms or 0.0), 2)
    checks[f"{name}: engine CPU per call, its bus broker included (ms)"] = {
        "value": engine_cpu, "target": f"<= {ENGINE_CPU_TARGET_MS:g}",
        "met": served and engine_cpu <= ENGINE_CPU_TARGET_MS,
    }  # fmt: skip
    checks[f"{name}: Asterisk CPU per call (ms)"] = {
        "value": busiest.asterisk_cpu_ms, "target": f"<= {ASTERISK_CPU_TARGET_MS:g}",
        "met": served and busiest.asterisk_cpu_ms <= ASTERISK_CPU_TARGET_MS,
    }  # fmt: skip
    scaling = sorted((r for r in engine if r.rate == min(e.rate for e in engine)),
                     key=lambda r: r.agents)  # fmt: skip
    if len(scaling) > 1 and scaling[0].ring_p50_ms > 0:
        fewest, most = scaling[0], scaling[-1]
        ratio = most.ring_p50_ms / fewest.ring_p50_ms
        all_served = all(r.bridged == r.offered for r in scaling)
        checks[f"engine join->ring p50 {most.agents}/{fewest.agents} agents"] = {
            "value": round(ratio, 2), "target": f"<= {SCALING_TARGET:g}",
            "met": all_served and ratio <= SCALING_TARGET,
        }  # fmt: skip
    return checks


def describe(figures: dict[str, Any]) -> str:
    """The side-by-side table, or the reason it was skipped."""
    if "skipped" in figures:
        return f"\nReal Asterisk side by side: skipped ({figures['skipped']})"
    load = ", ".join(f"{value:.2f}" for value in figures["load_average"])
    lines = [
        f"\nReal Asterisk side by side ({figures['asterisk']}; Local-channel callers and "
        f"agents, {TALK:g} s talk; times from CEL; load average at the end {load})",
        "{:<10}{:>5}{:>7}{:>9}{:>8}{:>8}{:>9}{:>8}{:>9}{:>12}{:>12}{:>11}{:>6}{:>8}".format(
            "side", "rate", "agents", "bridged", "ring50", "ring99", "ringmax",
            "brdg50", "brdg99", "asterisk", "engine", "bus", "load", "machine"),
    ]  # fmt: skip
    for row in figures["rows"]:
        cpu = [_both(row[f"{who}_cpu_ms"], row[f"{who}_work_ms"])
               for who in ("asterisk", "engine", "bus")]  # fmt: skip
        lines.append(
            "{:<10}{:>5g}{:>7}{:>9}{:>8.1f}{:>8.1f}{:>9.1f}{:>8.1f}{:>9.1f}{:>12}{:>12}{:>11}"
            "{:>6.1f}{:>8.0f}".format(
                row["side"], row["rate"], row["agents"], f"{row['bridged']}/{row['offered']}",
                row["ring_p50_ms"], row["ring_p99_ms"], row["ring_max_ms"],
                row["bridged_p50_ms"], row["bridged_p99_ms"], cpu[0], cpu[1], cpu[2],
                row["load_average"], row.get("machine_ms", 0.0)))  # fmt: skip
        if row.get("broker"):
            lines.append(f"    engine: bus broker {row['broker']}, ARI writes over "
                         f"{row.get('requests') or '?'}")  # fmt: skip
        lines.extend(f"    {row['side']}: {problem}" for problem in row["problems"])
    lines.append("(ms; ring: caller join -> agent channel created; brdg: -> both in one bridge;")
    lines.append(" CPU ms per call offered: all / less what the process used idle;")
    lines.append(" machine: CPU ms of a fixed Python workload before the row, lower is faster)")
    lines.extend(f"reference, {name}: {text}" for name, text in figures["reference"].items())
    return "\n".join(lines)


def _both(total: float | None, work: float | None) -> str:
    return "-" if total is None or work is None else f"{total:.1f}/{work:.1f}"


def main() -> None:
    figures = run(quick="--quick" in sys.argv)
    print(describe(figures))


if __name__ == "__main__":
    main()
