"""The embedded broker in a child process of the engine.

amqtt handles a message in many small asyncio steps. In the engine's own event loop
each step queues behind the engine's work (ARI requests, the dispatcher), so under
load a message's way through the broker grows from milliseconds to seconds (measured:
``bench/bus.py`` at 20 calls/s, offers p50 ~1 s in-process). In its own process the
broker has its own loop and the machine's other core, and a broker crash cannot take
the engine with it: the engine starts it again (:meth:`BrokerProcess.run` watches).

The child (``python -m callcenter.bus.broker_process CONFIG``) reads a JSON file
(written owner-only: it holds the agents' PIN hashes), runs
:class:`~callcenter.bus.broker.EmbeddedBroker`, prints ``ready PORT`` once it
listens, and exits when its stdin closes, so it never outlives the engine (even one
killed with SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from callcenter.bus.broker import ENGINE_USER, EmbeddedBroker, _free_port

log = logging.getLogger(__name__)


class BrokerProcess:
    """Like :class:`EmbeddedBroker` (``host``, ``port``, ``start``, ``stop``), in a child
    process; ``workdir`` holds its configuration file."""

    def __init__(
        self,
        password_file: Path,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        engines: tuple[str, ...] = (ENGINE_USER,),
        supervisors: tuple[str, ...] = (),
        agent_pins: Mapping[str, str] | None = None,
        tokens: Mapping[str, str] | None = None,
        start_timeout: float = 20.0,
        restart_delay: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self.restart_delay = restart_delay
        self.restarts = 0
        self._config_file = workdir / "broker.json"
        self._pins_file = workdir / "agent_pins.json"
        self.update_agent_pins(agent_pins or {})
        self._settings = {
            "password_file": str(password_file), "engines": list(engines),
            "supervisors": list(supervisors), "agent_pins_file": str(self._pins_file),
            "tokens": dict(tokens or {}),
        }  # fmt: skip
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None

    def update_agent_pins(self, pins: Mapping[str, str]) -> None:
        """Agents' PIN hashes from now on (after a configuration reload): the broker reads
        the file again at the next login. Replaced in one step, never seen half-written."""
        fresh = self._pins_file.with_suffix(".tmp")
        fresh.unlink(missing_ok=True)
        descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(dict(pins), file)
        os.replace(fresh, self._pins_file)

    async def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("broker already started")
        if self.port == 0:
            self.port = _free_port(self.host)  # kept: a restart listens where clients look
        await self._spawn()
        self._watcher = asyncio.create_task(self._watch(), name="bus-broker-watch")

    async def _spawn(self) -> None:
        settings = {**self._settings, "host": self.host, "port": self.port}
        self._config_file.touch(mode=0o600, exist_ok=True)
        self._config_file.write_text(json.dumps(settings), encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", __name__, str(self._config_file),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None  # noqa: S101 - PIPE was asked for
        try:
            async with asyncio.timeout(self.start_timeout):
                line = await process.stdout.readline()
        except TimeoutError:
            line = b""
        if not line.startswith(b"ready"):
            process.kill()
            await process.wait()
            raise RuntimeError(f"the MQTT broker did not start on {self.host}:{self.port}")
        self._process = process
        log.info("embedded MQTT broker pid=%d on %s:%d", process.pid, self.host, self.port)

    async def _watch(self) -> None:
        """Start the broker again whenever it dies without being asked to."""
        while True:
            process = self._process
            if process is None:
                return
            code = await process.wait()
            if self._process is not process:
                return  # stopped on purpose
            self._process = None
            log.error("embedded MQTT broker exited code=%s; starting it again", code)
            await asyncio.sleep(self.restart_delay)
            try:
                await self._spawn()
                self.restarts += 1
            except (OSError, RuntimeError):
                log.exception("embedded MQTT broker failed to start again")

    async def stop(self) -> None:
        process, self._process = self._process, None
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child's signal to stop
        try:
            async with asyncio.timeout(5):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def _serve(settings: dict[str, Any]) -> None:
    broker = EmbeddedBroker(
        Path(settings["password_file"]), host=settings["host"], port=settings["port"],
        engines=tuple(settings["engines"]), supervisors=tuple(settings["supervisors"]),
        agent_pins_file=Path(settings["agent_pins_file"]), tokens=settings["tokens"],
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # The parent's end of stdin closes when it stops us or dies: then we go too.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with broker:
        print(f"ready {broker.port}", flush=True)  # the parent waits for this line
        eof = asyncio.create_task(reader.read())
        signalled = asyncio.create_task(stop.wait())
        await asyncio.wait({eof, signalled}, return_when=asyncio.FIRST_COMPLETED)
        eof.cancel()
        signalled.cancel()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m callcenter.bus.broker_process CONFIG.json", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=os.environ.get("CALLCENTER_BUS_LOG_LEVEL", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("amqtt").setLevel(logging.ERROR)  # its per-connection chatter
    asyncio.run(_serve(json.loads(Path(args[0]).read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
