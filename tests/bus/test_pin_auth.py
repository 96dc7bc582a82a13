"""The embedded broker with agents' PINs: an agent's broker password is its login PIN
(checked against the configuration's scrypt hash); engine and supervisors use the file."""

from __future__ import annotations

import json
from pathlib import Path

import aiomqtt
import pytest

from callcenter.bus import topics
from callcenter.bus.broker import EmbeddedBroker, token_digest
from callcenter.bus.client import BusClient, BusSettings
from callcenter.config.pins import hash_pin

from .conftest import PASSWORDS


async def test_agents_connect_with_their_pin_others_with_the_password_file(
    amqtt_password_file: Path,
) -> None:
    pins = {"2001": hash_pin("4321")}
    tokens = {"engine": token_digest("a-long-random-token")}
    async with EmbeddedBroker(
        amqtt_password_file, supervisors=("supervisor",), agent_pins=pins, tokens=tokens
    ) as broker:

        def as_user(user: str, password: str) -> BusClient:
            return BusClient(BusSettings(broker.host, broker.port, user, password))

        for _ in range(2):  # the second time from the verified cache
            async with as_user("2001", "4321") as agent:
                await agent.subscribe(topics.agent_state("2001"))
        async with as_user("supervisor", PASSWORDS["supervisor"]):
            pass
        async with as_user("engine", "a-long-random-token") as engine:
            await engine.subscribe(f"{topics.PREFIX}/agents/+/cmd")
        for user, password in [
            ("2001", "1234"),  # wrong PIN
            ("2001", ""),
            ("9999", "4321"),  # not an agent of the configuration, not in the file
            ("supervisor", "4321"),
            ("engine", PASSWORDS["engine"]),  # the token wins over the file
        ]:
            with pytest.raises(aiomqtt.MqttError):
                async with as_user(user, password):
                    pass


async def test_the_pin_file_is_read_again_when_it_changes(
    amqtt_password_file: Path, tmp_path: Path
) -> None:
    pins_file = tmp_path / "agent_pins.json"
    pins_file.write_text(json.dumps({"2001": hash_pin("4321")}))
    async with EmbeddedBroker(amqtt_password_file, agent_pins_file=pins_file) as broker:

        def as_user(user: str, password: str) -> BusClient:
            return BusClient(BusSettings(broker.host, broker.port, user, password))

        async with as_user("2001", "4321"):
            pass
        # A reload: 2001's PIN changed, 2002 joined.
        fresh = tmp_path / "fresh.json"
        fresh.write_text(json.dumps({"2001": hash_pin("8765"), "2002": hash_pin("1111")}))
        fresh.replace(pins_file)
        async with as_user("2002", "1111"):
            pass
        async with as_user("2001", "8765"):
            pass
        with pytest.raises(aiomqtt.MqttError):
            async with as_user("2001", "4321"):  # the old PIN, even though it was cached
                pass
