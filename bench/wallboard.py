"""The supervisor wallboard under a full floor: 1,000 agents and 100 queues at 2 Hz.

Every agent's state and every queue's stats change twice a second (2,200 messages a
second). The real :class:`~console.supervisor_app.SupervisorConsole` runs headless
(Textual still lays out and renders every frame, to a null terminal) and each message
is decoded from its JSON payload exactly as the bus client does
(:func:`~callcenter.bus.client.parse_received`), so the figure includes validation.
Not included: the MQTT socket reads (aiomqtt/paho), which cost the same whatever the
console does with the messages.

The figure is the process's CPU time over the wall time of the run: target < 20 %
of one core. On a busy machine the half-second rounds overrun and the wall time grows,
which lowers that share: ``cpu_per_traffic_second`` (CPU time over the seconds of
traffic sent) and the load average are reported too, to compare runs.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from callcenter.bus import topics
from callcenter.bus.client import Received, parse_received
from callcenter.bus.schemas import AgentCounts, AgentStateMessage, QueueStatsMessage, encode
from callcenter.core.states import AgentState
from console.link import Command, OnConnect, OnMessage, OnStatus
from console.resources import DeskResources
from console.supervisor_app import SupervisorConsole

CPU_TARGET = 0.20
HZ = 2.0
_CYCLE = (AgentState.READY, AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP)


class _Feed:
    """A link that is always up; the benchmark pushes the messages."""

    def __init__(self) -> None:
        self.on_message: OnMessage = lambda received: None
        self.on_status: OnStatus = lambda up: None

    def bind(self, on_message: OnMessage, on_status: OnStatus, on_connect: OnConnect) -> None:
        self.on_message, self.on_status = on_message, on_status

    async def run(self) -> None:
        self.on_status(True)
        await asyncio.Event().wait()

    async def request(self, command: Command, wait: float = 5.0) -> Any:
        raise NotImplementedError


def _payloads(agents: int, queues: int, rounds: int, t0: float) -> list[list[tuple[str, bytes]]]:
    """Pre-encoded messages per round (encoding is the engine's cost, not the console's)."""
    out: list[list[tuple[str, bytes]]] = []
    for r in range(rounds):
        now = t0 + r / HZ
        batch: list[tuple[str, bytes]] = []
        for a in range(agents):
            agent = f"{2000 + a}"
            state, previous = _CYCLE[(a + r) % 4], _CYCLE[(a + r - 1) % 4]
            message = AgentStateMessage(agent=agent, state=state, previous=previous, since=now)
            batch.append((topics.agent_state(agent), encode(message)))
        for q in range(queues):
            queue = f"q{q:03d}"
            stats = QueueStatsMessage(
                queue=queue, at=now, waiting=(q + r) % 7, longest_wait=float((q * r) % 90),
                offered=100 + r, answered=90 + r, abandoned=(q + r) % 5,
                service_level=0.6 + ((q + r) % 40) / 100, average_speed_of_answer=12.0,
                agents=AgentCounts(ready=q % 5, busy=5, paused=1, wrap_up=(q + r) % 3),
            )  # fmt: skip
            batch.append((topics.queue_stats(queue), encode(stats)))
        out.append(batch)
    return out


async def _run(agents: int, queues: int, seconds: float) -> dict[str, Any]:
    t0 = time.time()
    rounds = int(seconds * HZ) + 1
    payloads = _payloads(agents, queues, rounds, t0)
    resources = DeskResources(
        queue_labels={f"q{q:03d}": f"队列 Queue {q}" for q in range(queues)},
        agent_names={f"{2000 + a}": f"坐席 Agent {a}" for a in range(agents)},
    )
    feed = _Feed()
    app = SupervisorConsole("supervisor", feed, resources)
    slices = 10  # spread each round over its half second, as a real floor does
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        # The first round adds the 1,000 rows: a one-off, not the steady state measured.
        for topic, payload in payloads[0]:
            if (first := parse_received(topic, payload)) is not None:
                feed.on_message(first)
        app.flush()
        await pilot.pause()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for batch in payloads[1:]:
            step = len(batch) // slices + 1
            for start in range(0, len(batch), step):
                began = time.perf_counter()
                for topic, payload in batch[start : start + step]:
                    received: Received | None = parse_received(topic, payload)
                    if received is not None:
                        feed.on_message(received)
                pause = 1 / HZ / slices - (time.perf_counter() - began)
                await asyncio.sleep(max(pause, 0))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        shown = app.query_one("#wallboard-agents").row_count  # type: ignore[attr-defined]
    share = cpu / wall
    return {
        "agents": agents,
        "queues": queues,
        "messages_per_second": round(len(payloads[0]) * HZ),
        "seconds": round(wall, 1),
        "frames": app.frames,
        "agent_rows": shown,
        "cpu_share": round(share, 3),
        "cpu_per_traffic_second": round(cpu / ((len(payloads) - 1) / HZ), 3),
        "load_average": round(os.getloadavg()[0], 2),
        "targets": {
            "wallboard CPU share of one core": {
                "value": share, "target": f"< {CPU_TARGET}", "met": share < CPU_TARGET,
            }
        },
    }  # fmt: skip


def run(*, quick: bool = False) -> dict[str, Any]:
    return asyncio.run(_run(1_000, 100, 4.0 if quick else 20.0))


# -- offer to screen ------------------------------------------------------------------------

OFFER_TARGET_MS = 100.0


async def _offer_latency(offers: int) -> dict[str, Any]:
    """From the engine's publish of an offer to the screen pop drawn, over embedded amqtt."""
    import statistics
    import tempfile
    from pathlib import Path

    from callcenter.bus.broker import EmbeddedBroker, write_password_file
    from callcenter.bus.client import BusClient, BusSettings
    from callcenter.bus.schemas import OfferMessage
    from console.agent_app import AgentConsole
    from console.link import BusLink

    latencies: list[float] = []

    class _Timed(AgentConsole):
        def _bus_message(self, received: Received) -> None:
            super()._bus_message(received)  # applies the message and redraws the screen pop
            if isinstance(received.message, OfferMessage):
                latencies.append(time.time() - received.message.offered_at)

    with tempfile.TemporaryDirectory() as folder:
        passwd = Path(folder) / "passwd"
        write_password_file(passwd, {"engine": "engine-pw", "2000": "2000"})
        async with EmbeddedBroker(passwd) as broker:
            app = _Timed(
                "2000",
                lambda pin: BusLink.for_agent(
                    BusSettings(broker.host, broker.port, "2000", pin), "2000"
                ),
                DeskResources(),
            )
            engine = BusSettings(broker.host, broker.port, "engine", "engine-pw")
            async with app.run_test(size=(120, 40)) as pilot, BusClient(engine) as client:
                await pilot.press("2", "0", "0", "0", "enter")  # no engine: login unanswered
                while not app.bus_up:
                    await pilot.pause(0.05)
                for n in range(offers):
                    offer = OfferMessage(call=f"c{n}", agent="2000", queue="sales", timeout=15,
                                         offered_at=time.time(), caller_name="张三")  # fmt: skip
                    await client.publish(topics.agent_offer("2000"), offer)
                    await pilot.pause(0.05)
                await pilot.pause(0.2)
    ms = sorted(latency * 1000 for latency in latencies)
    worst = ms[-1] if ms else float("inf")
    return {
        "offers": len(ms),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "max_ms": round(worst, 1),
        "targets": {
            "offer to screen, worst (ms)": {
                "value": worst, "target": f"< {OFFER_TARGET_MS}", "met": worst < OFFER_TARGET_MS,
            }
        },
    }  # fmt: skip


def offer_latency(*, quick: bool = False) -> dict[str, Any]:
    return asyncio.run(_offer_latency(10 if quick else 50))


if __name__ == "__main__":
    print(run(quick=True))
    print(offer_latency())
