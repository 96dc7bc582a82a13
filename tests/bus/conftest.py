"""Brokers for the bus tests: the embedded amqtt broker and a real Mosquitto.

Mosquitto comes from Debian's ``mosquitto`` package: installed with apt-get when
missing and the tests run as root, else those tests are skipped with the reason.
It runs with ``deploy/mosquitto/`` (paths and port rewritten), so the shipped
sample config and ACL are what is tested.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.bus.broker import EmbeddedBroker, write_password_file
from callcenter.bus.client import BusClient, BusSettings

REPO = Path(__file__).resolve().parents[2]
MOSQUITTO_DIR = REPO / "deploy" / "mosquitto"

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


def _ensure_mosquitto() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        reason = "mosquitto is not installed and the tests are not root with apt-get"
        print(f"skipping Mosquitto tests: {reason}")
        pytest.skip(reason)
    result = subprocess.run(
        ["apt-get", "install", "-y", "mosquitto"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if not found:
        reason = f"apt-get install mosquitto failed: {result.stderr.strip()[-300:]}"
        print(f"skipping Mosquitto tests: {reason}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def mosquitto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    binary = _ensure_mosquitto()
    passwd_tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    workdir = tmp_path_factory.mktemp("mosquitto")
    passwd = workdir / "callcenter.passwd"
    passwd.touch(mode=0o600)
    for user, password in PASSWORDS.items():
        subprocess.run([passwd_tool, "-b", str(passwd), user, password], check=True)
    acl = workdir / "callcenter.acl"
    shutil.copy(MOSQUITTO_DIR / "callcenter.acl", acl)
    port = _free_port()
    conf = (MOSQUITTO_DIR / "mosquitto.conf").read_text()
    conf = (
        conf.replace("/etc/mosquitto/callcenter.passwd", str(passwd))
        .replace("/etc/mosquitto/callcenter.acl", str(acl))
        .replace("listener 1883 127.0.0.1", f"listener {port} 127.0.0.1")
        .replace("persistence true", "persistence false")
        .replace("persistence_location /var/lib/mosquitto/\n", "")
    )
    # Run as root, mosquitto would drop to user "mosquitto", who cannot read pytest's tmp dir.
    conf += f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
    config = workdir / "mosquitto.conf"
    config.write_text(conf)
    log = (workdir / "mosquitto.log").open("w")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError(
                        "mosquitto did not start: " + (workdir / "mosquitto.log").read_text()
                    ) from None
                time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=5)
        log.close()


@pytest.fixture
def mosquitto_bus(mosquitto_server: tuple[str, int]) -> Bus:
    host, port = mosquitto_server
    return Bus("mosquitto", host, port)


@pytest.fixture(params=["amqtt", "mosquitto"])
def bus(request: pytest.FixtureRequest) -> Bus:
    """Each test using this runs against both brokers."""
    fixture: Bus = request.getfixturevalue(f"{request.param}_bus")
    return fixture
