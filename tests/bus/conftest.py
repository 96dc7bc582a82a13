"""Brokers for the bus tests: the embedded amqtt broker and a real Mosquitto.

Mosquitto comes from Debian's ``mosquitto`` package: installed with apt-get when
missing and the tests run as root, else those tests are skipped with the reason.
It runs with ``deploy/mosquitto/`` (paths and port rewritten), so the shipped
sample config and ACL are what is tested.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.bus.broker import EmbeddedBroker, write_password_file
from callcenter.bus.client import BusClient, BusSettings
from tests.bus.mosquitto import MosquittoUnavailableError, find_mosquitto, running_mosquitto

PASSWORDS = {
    "engine": "engine-secret",
    "supervisor": "supervisor-secret",
    "1001": "pin-1001",
    "1002": "pin-1002",
}


@dataclass(frozen=True)
class Bus:
    name: str
    host: str
    port: int

    def settings(self, user: str, password: str | None = None) -> BusSettings:
        return BusSettings(
            self.host, self.port, user, PASSWORDS[user] if password is None else password
        )

    def client(self, user: str, password: str | None = None) -> BusClient:
        return BusClient(self.settings(user, password))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def amqtt_password_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("amqtt") / "passwd"
    write_password_file(path, PASSWORDS)
    return path


@pytest.fixture
async def amqtt_bus(amqtt_password_file: Path) -> AsyncIterator[Bus]:
    async with EmbeddedBroker(amqtt_password_file, supervisors=("supervisor",)) as broker:
        yield Bus("amqtt", broker.host, broker.port)


@pytest.fixture(scope="session")
def mosquitto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    try:
        find_mosquitto()
    except MosquittoUnavailableError as exc:
        print(f"skipping Mosquitto tests: {exc}")
        pytest.skip(str(exc))
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto"), PASSWORDS) as broker:
        yield broker.host, broker.port


@pytest.fixture
def mosquitto_bus(mosquitto_server: tuple[str, int]) -> Bus:
    host, port = mosquitto_server
    return Bus("mosquitto", host, port)


@pytest.fixture(params=["amqtt", "mosquitto"])
def bus(request: pytest.FixtureRequest) -> Bus:
    """Each test using this runs against both brokers."""
    fixture: Bus = request.getfixturevalue(f"{request.param}_bus")
    return fixture
