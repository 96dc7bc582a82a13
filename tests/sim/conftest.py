"""A running simulator on an ephemeral loopback port, and a reader of its event stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from sim import Endpoints, SimAsterisk, SimServer, Sounds, VirtualClock

TRACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "asterisk" / "traces"


def trace_lines(name: str) -> list[dict[str, Any]]:
    path = TRACES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: the recorded Asterisk traces live outside the repository")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Sim:
    ast: SimAsterisk
    server: SimServer
    http: httpx.AsyncClient
    clock: VirtualClock
    events: list[dict[str, Any]] = field(default_factory=list)
    ws: ClientConnection | None = None

    async def settle(self) -> None:
        """Let written events reach the reader."""
        for _ in range(5):
            await asyncio.sleep(0.005)

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.settle()


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = VirtualClock()
    sounds = Sounds(durations={"sound:vm-goodbye": 0.86, "sound:queue-thereare": 1.5})
    ast = SimAsterisk(clock=clock, endpoints=Endpoints(), sounds=sounds)
    server = await SimServer(ast).start()
    http = httpx.AsyncClient(
        base_url=server.url, auth=("callcenter", "secret"), trust_env=False, timeout=5
    )
    state = Sim(ast, server, http, clock)
    url = server.url.replace("http", "ws") + "/ari/events?app=callcenter&api_key=callcenter:secret"
    ws = await connect(url, proxy=None)
    state.ws = ws

    async def read() -> None:
        async for message in ws:
            state.events.append(json.loads(message))

    reader = asyncio.create_task(read())
    await state.settle()
    yield state
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    await ws.close()
    await http.aclose()
    await server.close()
