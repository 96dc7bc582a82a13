"""A private Mosquitto run with the shipped ``deploy/mosquitto/`` config (paths and port
rewritten, persistence off): for the bus tests and for the benchmarks.

Mosquitto comes from Debian's ``mosquitto`` package, installed with apt-get when missing
and running as root (:func:`find_mosquitto`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MOSQUITTO_DIR = REPO / "deploy" / "mosquitto"


class MosquittoUnavailableError(RuntimeError):
    """No Mosquitto binary, and none could be installed here."""


@dataclass(frozen=True)
class RunningMosquitto:
    host: str
    port: int
    pid: int


def _which() -> str | None:
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


def find_mosquitto() -> str:
    """The binary, installed with apt-get first when missing (as root only)."""
    found = _which()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise MosquittoUnavailableError("mosquitto is not installed, and we are not root")
    result = subprocess.run(
        ["apt-get", "install", "-y", "mosquitto"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    found = _which()
    if not found:
        raise MosquittoUnavailableError(
            f"apt-get install mosquitto failed: {result.stderr.strip()[-300:]}"
        )
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_mosquitto(workdir: Path, passwords: Mapping[str, str]) -> Iterator[RunningMosquitto]:
    """Mosquitto on a free loopback port with these users, until the block ends."""
    binary = find_mosquitto()
    passwd_tool = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    passwd = workdir / "callcenter.passwd"
    passwd.touch(mode=0o600)
    for user, password in passwords.items():
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
    # Run as root, mosquitto would drop to user "mosquitto", who cannot read our tmp dir.
    conf += f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
    config = workdir / "mosquitto.conf"
    config.write_text(conf)
    log_path = workdir / "mosquitto.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start: " + log_path.read_text()) from None
                time.sleep(0.05)
        yield RunningMosquitto("127.0.0.1", port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=5)
