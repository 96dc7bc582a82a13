"""Helpers for call-control tests: a caller talking to an agent, and what the simulator holds."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from ari_app.engine import Engine, EngineSettings
from callcenter.config import load_config
from callcenter.store import Store, StoreWriter
from callcenter.store.journal import Journal
from sim import Answer, CallerId, Endpoints, SimAsterisk, SimServer
from tests.engine.bridges import in_use
from tests.engine.conftest import CONFIG, Rig


@dataclass
class LinkedRig(Rig):
    """The engine rig with its simulated Asterisk's server at hand, to drop the link."""

    server: SimServer
    port: int

    async def drop_link(self) -> None:
        """The websocket goes; events from now on are lost (reconnect.md)."""
        self.engine.client.connected.clear()
        await self.server.close()
        await self.until(lambda: not self.ast.bus.connected("callcenter"))

    async def restore_link(self) -> None:
        """Asterisk is back on the same port; the engine reconnects and resyncs."""
        self.server = await SimServer(self.ast, port=self.port).start()
        await self.until(self.engine.client.connected.is_set, limit=10)
        await self.engine.idle()


@contextlib.asynccontextmanager
async def linked_rig(tmp_path: Path, endpoints: Endpoints) -> AsyncIterator[LinkedRig]:
    """Like conftest's `rig`, with phones registered before the engine connects."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "center.yaml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    ast = SimAsterisk(endpoints=endpoints)
    server = await SimServer(ast).start()
    settings = EngineSettings(
        ari_url=server.url, ari_password=SecretStr("secret"), config_dir=str(conf)
    )
    async with (
        await Store.open(tmp_path / "cc.db") as store,
        StoreWriter(store, flush_interval=0.01) as writer,
    ):
        engine = Engine(settings, load_config(conf), journal=Journal(writer))
        await engine.start(connect_timeout=5)
        await engine.idle()
        rig = LinkedRig(ast, engine, store, writer, server, int(server.url.rsplit(":", 1)[1]))
        try:
            yield rig
        finally:
            await engine.stop()
            await rig.server.close()


def bridge_of(rig: Rig, channel: str) -> tuple[str, bool] | None:
    """The type of the bridge `channel` is in, and whether it plays music."""
    live = rig.ast.channels.get(channel)
    if live is None or live.bridge is None:
        return None
    bridge = rig.ast.bridges[live.bridge]
    return bridge.bridge_type, bridge.moh


def together(rig: Rig, *channels: str) -> bool:
    """All `channels` are alive and in one bridge."""
    live = [rig.ast.channels.get(c) for c in channels]
    bridges = {c.bridge if c is not None else None for c in live}
    return len(bridges) == 1 and None not in bridges


def mixing_members(rig: Rig, channel: str) -> set[str]:
    live = rig.ast.channels.get(channel)
    if live is None or live.bridge is None:
        return set()
    return set(rig.ast.bridges[live.bridge].channels)


async def connected_call(
    rig: Rig, agent: str = "1001", exten: str = "800", number: str = "5551234"
) -> tuple[str, str]:
    """A caller bridged with `agent`'s phone: (caller channel id, agent leg id)."""
    endpoint = f"PJSIP/{agent}"
    if endpoint not in rig.ast.endpoints.policies:
        rig.ast.endpoints.set(endpoint, Answer())
    before = set(rig.originated(endpoint))
    await rig.engine.login(agent)
    caller = rig.ast.inject_caller(exten, caller=CallerId("Ann", number), args=("inbound", exten))
    await rig.until(lambda: set(rig.originated(endpoint)) - before)
    (leg,) = set(rig.originated(endpoint)) - before
    await rig.until(lambda: together(rig, caller.id, leg))
    await rig.engine.idle()
    return caller.id, leg


def leftovers(rig: Rig) -> tuple[list[str], list[str]]:
    """Channels (other than the non-Stasis `;1` halves of injected callers) and bridges
    still alive in the simulator."""
    channels = [
        c.name for c in rig.ast.channels.values() if not (c.name.endswith(";1") and not c.app)
    ]
    return channels, list(in_use(rig.ast))
