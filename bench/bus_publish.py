"""The engine's bus publishing: CPU per message at QoS 1 and QoS 0, on Mosquitto.

Stand-alone (not part of ``make bench``; needs ``mosquitto`` installed)::

    python -m bench.bus_publish [--messages 4000] [--json]

Each message goes as the engine's desk sends it (``ari_app/engine/desk.py``): an agent
state, encoded, handed to ``BusClient.publish_nowait`` in a ``batch`` of its own, a
fraction of a millisecond after the previous one (a call's steps are apart), and the
acknowledgement awaited: the broker's PUBACK at QoS 1, paho's write at QoS 0. The CPU
is this whole process's, from the first message to the last acknowledgement, on the
engine's event loop (uvloop where installed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from pathlib import Path

from ari_app.engine.app import run_loop
from callcenter.bus import schemas, topics
from callcenter.bus.client import BusClient, BusSettings
from callcenter.core.commands import AgentStateChanged
from callcenter.core.states import AgentState
from tests.bus.mosquitto import running_mosquitto

GAP = 0.0005
"""Seconds between two messages."""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(settings: BusSettings, qos: int, messages: int) -> float:
    """CPU microseconds per message."""
    change = AgentStateChanged("1001", AgentState.READY, AgentState.RINGING, "offer", call="c1")
    payload = schemas.encode(schemas.agent_state_message(change, time.time()))
    topic = topics.agent_state("1001")
    async with BusClient(settings, in_flight=100) as client:
        done = asyncio.Event()
        acknowledged = 0

        def count(_mid: int) -> None:
            nonlocal acknowledged
            acknowledged += 1
            if acknowledged == messages:
                done.set()

        client.on_acknowledged = count
        started = _cpu()
        for _ in range(messages):
            with client.batch():
                client.publish_nowait(topic, payload, retain=True, qos=qos)
            await asyncio.sleep(GAP)
        await done.wait()
        return 1e6 * (_cpu() - started) / messages


async def run(messages: int, found: dict[str, float]) -> None:
    figures: dict[int, list[float]] = {1: [], 0: []}
    with tempfile.TemporaryDirectory() as directory:
        password = "bench-" + str(time.monotonic_ns())
        with running_mosquitto(Path(directory), {"engine": password}) as broker:
            settings = BusSettings(broker.host, broker.port, "engine", password)
            for _ in range(3):  # interleaved: the machine's noise falls on both
                for qos, values in figures.items():
                    values.append(await measure(settings, qos, messages))
    found.update({f"qos{qos}": round(sorted(values)[1], 1) for qos, values in figures.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    run_loop(run(args.messages, figures))  # the engine's loop (uvloop where installed)
    if args.json:
        print(json.dumps({"messages": args.messages, "cpu_us_per_message": figures}))
        return
    print(f"bus publishing, {args.messages} messages: CPU per message (median of 3)")
    for kind, us in figures.items():
        print(f"  {kind}  {us:.1f} us")


if __name__ == "__main__":
    main()
