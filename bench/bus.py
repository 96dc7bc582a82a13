"""Decision to screen: how long an offer takes from the engine's decision to an agent's
console, through the embedded amqtt broker (its own process, as the engine runs it).

The engine runs on the simulated Asterisk with ``agents`` agents; their consoles (one
MQTT session per agent, subscribed to its own offers) run in another process, as real
consoles do. Callers arrive at ``rate`` per second; agents answer at once and callers
hang up soon after, so offers keep coming. The decision instant is when the dispatcher
carries out the core's ``Ring`` (a probe journal placed before the desk); the arrival
is when a console's session yields the offer; both read CLOCK_MONOTONIC. Engine,
simulator, broker and consoles share this machine's two cores (and whatever else runs
on them: the figures move with the machine's load).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ari_app.engine import Engine, EngineSettings
from ari_app.engine.desk import open_bus
from callcenter.bus import schemas, topics
from callcenter.bus.client import BusClient, BusSettings
from callcenter.config import load_config
from callcenter.config.pins import hash_pin
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from sim import Answer, Endpoints, SimAsterisk, SimServer

P99_TARGET_MS = 100.0
PIN = "2468"


class _Probe:
    """A journal that notes when each Ring is carried out."""

    def __init__(self) -> None:
        self.decided: dict[tuple[str, str], float] = {}

    def record(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None:
        for command in commands:
            if isinstance(command, cmd.Ring):
                # CLOCK_MONOTONIC: the same clock in the consoles' process.
                self.decided.setdefault((command.call, command.agent), time.monotonic())


def _config(agents: int) -> str:
    pin = hash_pin(PIN)
    ids = [str(2000 + n) for n in range(agents)]
    members = ", ".join(f'"{a}"' for a in ids)
    lines = [
        "pause_reasons:",
        "  missed: {label: Missed calls, on_ring_no_answer: true}",
        "queues:",
        f"  sales: {{strategy: leastrecent, ring_timeout: 5, retry: 0, members: [{members}]}}",
        "agents:",
        *(f'  "{a}": {{name: Agent {a}, endpoint: PJSIP/{a}, pin: "{pin}"}}' for a in ids),
        "numbers:",
        '  "800": {target: queue:sales}',
    ]
    return "\n".join(lines) + "\n"


async def _consoles(host: str, port: int, agents: list[str]) -> None:
    """The consoles' process: one MQTT session per agent; prints ``ready`` once all are
    subscribed, then ``offer CALL AGENT MONOTONIC`` for each first offer of a call."""
    ready = asyncio.Barrier(len(agents) + 1)

    async def console(agent: str) -> None:
        async with BusClient(BusSettings(host, port, agent, PIN)) as client:
            await client.subscribe(topics.agent_offer(agent))
            await ready.wait()
            seen: set[str] = set()
            async for received in client.messages():
                arrived = time.monotonic()
                offer = received.message
                if isinstance(offer, schemas.OfferMessage) and offer.call not in seen:
                    seen.add(offer.call)  # an enriched follow-up is not a new offer
                    print(f"offer {offer.call} {agent} {arrived:.6f}", flush=True)

    tasks = [asyncio.create_task(console(agent)) for agent in agents]
    await ready.wait()
    print("ready", flush=True)
    await asyncio.gather(*tasks)


async def _read_offers(stream: asyncio.StreamReader, probe: _Probe, latencies: list[float]) -> None:
    while line := await stream.readline():
        _, call, agent, arrived = line.decode().split()
        decided = probe.decided.get((call, agent))
        if decided is not None:
            latencies.append((float(arrived) - decided) * 1000)


async def _run(agents: int, rate: float, seconds: float) -> dict[str, Any]:
    ids = [str(2000 + n) for n in range(agents)]
    with tempfile.TemporaryDirectory(prefix="bench-bus-") as workdir:
        conf = Path(workdir) / "conf"
        conf.mkdir()
        (conf / "center.yaml").write_text(textwrap.dedent(_config(agents)), encoding="utf-8")
        config = load_config(conf)
        ast = SimAsterisk(endpoints=Endpoints({f"PJSIP/{a}": Answer(after=0.01) for a in ids}))
        ari_secret = secrets.token_urlsafe(12)  # the simulator's, for this run only
        server = await SimServer(ast, password=ari_secret).start()
        settings = EngineSettings(
            ari_url=server.url, ari_password=SecretStr(ari_secret), config_dir=str(conf),
            config_poll_interval=0, bus_embedded=True, bus_port=0,
        )  # fmt: skip
        probe = _Probe()
        latencies: list[float] = []
        try:
            async with open_bus(settings, config) as link:
                assert link is not None
                engine = Engine(settings, config)
                engine.journals.append(probe)
                desk = engine.attach_desk(link.settings)
                await desk.start()
                await engine.start(connect_timeout=10)
                # The consoles run in a process of their own, as agents' consoles do.
                consoles = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", __name__, link.settings.host,
                    str(link.settings.port), *ids, stdout=asyncio.subprocess.PIPE,
                )  # fmt: skip
                assert consoles.stdout is not None
                try:
                    async with asyncio.timeout(60):
                        if await consoles.stdout.readline() != b"ready\n":
                            raise RuntimeError("the consoles' process did not start")
                    reader = asyncio.create_task(_read_offers(consoles.stdout, probe, latencies))
                    for agent in ids:
                        await engine.login(agent)
                    await _traffic(ast, rate, seconds)
                    await asyncio.sleep(0.5)
                finally:
                    consoles.terminate()
                    await consoles.wait()
                    await engine.stop()
                    await desk.stop()
                await reader
        finally:
            await server.close()
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) if ordered else float("nan")
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    return {
        "agents": agents, "calls_per_second": rate, "offers": len(ordered),
        "offers_decided": len(probe.decided), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
        "max_ms": round(ordered[-1], 2) if ordered else None,
        "targets": {"decision to offer p99 (ms)": {
            "value": p99, "target": f"< {P99_TARGET_MS}", "met": p99 < P99_TARGET_MS}},
    }  # fmt: skip


async def _traffic(ast: SimAsterisk, rate: float, seconds: float) -> None:
    """Callers at ``rate``/s; each is hung up once it talks to an agent."""
    deadline = time.monotonic() + seconds
    callers: list[str] = []
    while time.monotonic() < deadline:
        callers.append(ast.inject_caller("800", args=("inbound", "800")).id)
        for caller in list(callers):
            channel = ast.channels.get(caller)
            if channel is None:
                callers.remove(caller)
            elif channel.bridge and ast.bridges[channel.bridge].bridge_type == "mixing":
                ast.remote_hangup(caller)
                callers.remove(caller)
        await asyncio.sleep(1 / rate)
    for caller in callers:
        with contextlib.suppress(Exception):
            ast.remote_hangup(caller)


def run(*, quick: bool = False) -> dict[str, Any]:
    logging.getLogger("amqtt").setLevel(logging.ERROR)
    seconds = 3.0 if quick else 10.0
    return asyncio.run(_run(agents=20, rate=20.0, seconds=seconds))


if __name__ == "__main__":  # the consoles' process: HOST PORT AGENT...
    logging.getLogger("aiomqtt").setLevel(logging.ERROR)
    asyncio.run(_consoles(sys.argv[1], int(sys.argv[2]), sys.argv[3:]))
