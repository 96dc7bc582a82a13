"""A fake caller at a keypad, on top of ``peer.channel``: what was played, what was keyed.

``Keypad(["12345678", "*#9"])`` answers each ``GET DATA`` with the next entry (``""`` is a
timeout, as Asterisk reports it: ``200 result= (timeout)``). When the entries run out the
caller hangs up: that ``GET DATA`` answers ``result=-1``, the next command's reply comes
after the FastAGI ``HANGUP`` notice, and from then on commands get ``511`` unless Asterisk
runs them on a dead channel too (``peer.PERMITTED_DEAD``), as in ``agi_fast.jsonl``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agi_scripts.catalog import SCRIPTS
from agi_scripts.fastagi import FastAgiServer
from agi_scripts.runner import ScriptContext
from tests.agi.peer import PERMITTED_DEAD, _unquote, channel, environment_lines, fake_call

DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


class Keypad:
    def __init__(
        self,
        entries: list[str],
        variables: dict[str, str] | None = None,
        *,
        hang_up_before: str | None = None,
    ) -> None:
        self.entries = list(entries)
        self.hang_up_before = hang_up_before
        """Leave before the first command starting with this: it gets ``HANGUP`` + 511."""
        self.variables: dict[str, str] = {} if variables is None else variables
        self.played: list[str] = []
        self.commands: list[str] = []
        self.hung_up = False
        self._notified = False
        self._channel = channel(self.variables)

    def __call__(self, line: str) -> list[str]:
        self.commands.append(line)
        if self.hang_up_before is not None and line.startswith(self.hang_up_before):
            self.hung_up = True
        if self.hung_up:
            # The notice comes once, before the next command's reply (agi_fast.jsonl);
            # commands permitted on a dead channel are still carried out.
            notice, self._notified = ([] if self._notified else ["HANGUP"]), True
            return notice + (self._channel(line) if line.startswith(PERMITTED_DEAD) else [DEAD])
        words = line.split(" ")
        if line.startswith("GET DATA "):
            self.played.append(_unquote(words[2]))
            if not self.entries:
                self.hung_up = True
                return ["200 result=-1"]
            keyed = self.entries.pop(0)
            return [f"200 result={keyed}" + (" (timeout)" if keyed == "" else "")]
        if line.startswith("STREAM FILE "):
            self.played.append(_unquote(words[2]))
        elif line.startswith(("SAY DATETIME ", "SAY DIGITS ", "SAY NUMBER ")):
            self.played.append(f"{words[0]} {words[1]} {_unquote(words[2])}")
        return self._channel(line)


@asynccontextmanager
async def serving(context: ScriptContext) -> AsyncIterator[FastAgiServer]:
    """A FastAGI server with every catalogued script, on a free loopback port."""
    server = FastAgiServer(SCRIPTS, context, header_timeout=1.0, reply_timeout=1.0)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


async def call(server: FastAgiServer, keypad: Keypad, script: str, **env: str) -> Keypad:
    """One call to ``script`` (with its ``?query``) by the caller at ``keypad``."""
    await fake_call(server.port, script, keypad, header=environment_lines(script, **env))
    return keypad


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SlowStore:
    """A store whose every read and write takes 30 s."""

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        await asyncio.sleep(30)
        yield None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        await asyncio.sleep(30)
        yield None

    async def update_interaction(self, call_id: str, **fields: object) -> bool:
        await asyncio.sleep(30)
        return False
