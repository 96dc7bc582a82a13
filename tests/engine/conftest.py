"""The engine against the simulated Asterisk on real time, with a SQLite store in tmp_path.

Ring timeouts are 1 s, so a ring-out costs a second of wall time; everything else
settles in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import SecretStr

from ari_app.engine import Engine, EngineSettings
from callcenter.config import load_config
from callcenter.store import Store, StoreWriter
from callcenter.store.journal import Journal
from sim import Endpoints, SimAsterisk, SimServer, Sounds

CONFIG = """\
pause_reasons:
  missed: {label: Missed calls, on_ring_no_answer: true}
queues:
  sales:
    strategy: linear
    ring_timeout: 1
    retry: 0
    members: ["1001", "1002", "1003"]
  support:
    strategy: linear
    ring_timeout: 1
    retry: 0
    members: ["1003"]
agents:
  "1001": {name: Ann, endpoint: PJSIP/1001}
  "1002": {name: Bob, endpoint: PJSIP/1002}
  "1003": {name: Cy, endpoint: PJSIP/1003}
ivr:
  main:
    prompts: [hotline/welcome]
    options: {"1": queue:support, "2": queue:sales}
numbers:
  "800": {target: queue:sales}
  "801": {target: ivr:main}
"""


async def until(what: Callable[[], Any], limit: float = 5.0) -> None:
    """Poll until `what()` is true; fail after `limit` seconds. Polling, because the
    state looked at lives in the simulator, which has no event to wait on."""
    for _ in range(int(limit / 0.01)):
        if what():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still false after {limit} s")


@dataclass
class Rig:
    ast: SimAsterisk
    engine: Engine
    store: Store
    writer: StoreWriter

    async def until(self, what: Callable[[], Any], limit: float = 5.0) -> None:
        await until(what, limit)

    def events(self, type_: str, channel: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.ast.bus.log
            if e["type"] == type_ and (channel is None or e.get("channel", {}).get("id") == channel)
        ]

    def originated(self, endpoint: str) -> list[str]:
        """Ids of the agent legs the engine originated to `endpoint`, in order."""
        prefix = endpoint + "-"
        return [
            e["peer"]["id"]
            for e in self.events("Dial")
            if e["dialstatus"] == "" and e["peer"]["name"].startswith(prefix)
        ]

    async def queue_log(self, call: str) -> list[str]:
        await self.engine.idle()
        await self.writer.flush()
        return [line.verb for line in await self.store.queue_log(call=call)]


@contextlib.asynccontextmanager
async def engine_rig(
    tmp_path: Path,
    config: str = CONFIG,
    *,
    sounds: Sounds | None = None,
    now: Callable[[], float] | None = None,
    poll: float = 0.05,
    requests: Literal["auto", "websocket", "http"] = "auto",
) -> AsyncIterator[Rig]:
    """The engine on a fresh simulator with `config`, a SQLite store in `tmp_path` that
    also takes the interaction facts (recordings, IVR paths), and `now` as its clock.
    Its ARI writes go on the websocket (the simulator is an Asterisk 22.10.1), unless
    `requests` says "http"."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "center.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    ast = SimAsterisk(endpoints=Endpoints(), sounds=sounds)
    server = await SimServer(ast).start()
    settings = EngineSettings(
        ari_url=server.url,
        ari_password=SecretStr("secret"),
        config_dir=str(conf),
        config_poll_interval=poll,
        ari_requests=requests,
    )
    async with (
        await Store.open(tmp_path / "cc.db") as store,
        StoreWriter(store, flush_interval=0.01) as writer,
    ):
        engine = Engine(settings, load_config(conf), journal=Journal(writer), now=now or time.time)
        engine.executor.interactions = writer
        await engine.start(connect_timeout=5)
        try:
            yield Rig(ast, engine, store, writer)
        finally:
            await engine.stop()
            await server.close()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with engine_rig(tmp_path) as made:
        yield made


@pytest.fixture(params=["websocket", "http"])
async def either_rig(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """`rig` with the engine's ARI writes on the websocket, then over HTTP (Asterisks
    before 22.4, or ``ari_requests = "http"``): the same flows either way."""
    async with engine_rig(tmp_path, requests=request.param) as made:
        yield made
