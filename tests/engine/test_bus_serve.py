"""``callcenter engine`` with ``bus_embedded``: the broker starts with the engine, an
agent's console logs in to it with the agent's PIN; and the bus settings' rules."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import aiomqtt
import pytest
from pydantic import SecretStr

from ari_app.engine import EngineSettings, serve
from ari_app.engine.settings import SettingsError, load_settings
from callcenter.bus import schemas, topics
from callcenter.bus.client import BusClient, BusSettings, new_request_id
from callcenter.config.pins import hash_pin
from sim import Answer, Endpoints, SimAsterisk, SimServer
from tests.engine.bus_rig import AGENTS, PINS, write_config
from tests.engine.conftest import until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_serve_starts_the_embedded_broker_and_agents_log_in_with_their_pin(
    tmp_path: Path,
) -> None:
    conf = write_config(tmp_path / "conf")
    ast = SimAsterisk(endpoints=Endpoints({f"PJSIP/{a}": Answer() for a in AGENTS}))
    server = await SimServer(ast).start()
    port = free_port()
    settings = EngineSettings(
        ari_url=server.url, ari_password=SecretStr("secret"), config_dir=str(conf),
        database_url=str(tmp_path / "cc.db"), bus_embedded=True, bus_port=port,
        config_poll_interval=0.05, bus_stats_interval=0.05,
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(serve(settings, stop))
    try:
        await until(lambda: ast.bus.connected("callcenter"))
        agent = BusSettings("127.0.0.1", port, "1001", PINS["1001"])
        async with BusClient(agent) as console:
            await console.subscribe(topics.agent_state("1001"))
            # The engine publishes every agent's state once its link is up (and subscribed).
            async with asyncio.timeout(10):
                async for received in console.messages():
                    assert isinstance(received.message, schemas.AgentStateMessage)
                    assert received.message.state == "logged_out"
                    break
            command = schemas.AgentCommand(
                request_id=new_request_id(), action=schemas.CommandAction.LOGIN,
                params={"pin": PINS["1001"]},
            )  # fmt: skip
            reply = await console.request("1001", command)
            assert reply.ok, reply.error
            async with asyncio.timeout(5):
                async for received in console.messages():
                    assert isinstance(received.message, schemas.AgentStateMessage)
                    if received.message.state == "ready":
                        break
        # A reload gives 1002 a new PIN: the broker's door follows.
        center = conf / "center.yaml"
        lines = center.read_text(encoding="utf-8").splitlines()
        lines = [
            re.sub(r'pin: "[^"]*"', f'pin: "{hash_pin("9999")}"', line) if '"1002"' in line
            else line
            for line in lines
        ]  # fmt: skip
        center.write_text("\n".join(lines) + "\n", encoding="utf-8")
        await until_connects(BusSettings("127.0.0.1", port, "1002", "9999"))
        with pytest.raises(aiomqtt.MqttError):
            async with BusClient(BusSettings("127.0.0.1", port, "1002", PINS["1002"])):
                pass
        # No password is guessable: the engine's own was generated, not defaulted.
        with pytest.raises(aiomqtt.MqttError):
            async with BusClient(BusSettings("127.0.0.1", port, "engine", "engine")):
                pass
    finally:
        stop.set()
        await running
        await server.close()


async def until_connects(settings: BusSettings, limit: float = 10.0) -> None:
    for _ in range(int(limit / 0.2)):
        try:
            async with BusClient(settings):
                return
        except aiomqtt.MqttError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"{settings.username} still refused after {limit} s")


def test_an_external_broker_needs_the_engines_password(tmp_path: Path) -> None:
    env = {"CALLCENTER_ARI_PASSWORD": "x", "CALLCENTER_BUS_HOST": "mqtt.example"}
    with pytest.raises(SettingsError, match="bus_password"):
        load_settings(environ=env)
    settings = load_settings(environ={**env, "CALLCENTER_BUS_PASSWORD": "s3cret"})
    assert (settings.bus_enabled, settings.bus_address) == (True, "mqtt.example")
    assert not load_settings(environ={"CALLCENTER_ARI_PASSWORD": "x"}).bus_enabled


def test_embedded_supervisors_come_with_passwords() -> None:
    env = {"CALLCENTER_ARI_PASSWORD": "x", "CALLCENTER_BUS_EMBEDDED": "true"}
    settings = load_settings(environ={**env, "CALLCENTER_BUS_SUPERVISORS": "lee=pw1,ma=pw2"})
    assert {k: v.get_secret_value() for k, v in settings.bus_supervisors.items()} == {
        "lee": "pw1", "ma": "pw2",
    }  # fmt: skip
    assert settings.bus_address == "127.0.0.1"  # loopback by default
    with pytest.raises(SettingsError, match="supervisor"):
        load_settings(environ={**env, "CALLCENTER_BUS_SUPERVISORS": "lee="})
