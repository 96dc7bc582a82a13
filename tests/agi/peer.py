"""A fake Asterisk on the AGI side, replaying the recorded transcripts.

``../shared/asterisk/traces/agi_classic.jsonl`` and ``agi_fast.jsonl`` hold what a real
Asterisk 22.10.1 sent (``in``) and what the script sent (``out``). The peer sends the
``in`` lines in order and, at each ``out`` record, reads one line from us and keeps it, so a
test can compare our lines with the recorded ones exactly. ``signal`` records (classic
AGI's SIGHUP) call ``on_signal``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.agi.asterisk_parsing import agi_words, mset, set_app

TRACES = Path(
    os.environ.get("CALLCENTER_TRACES")
    or Path(__file__).resolve().parents[3] / "shared" / "asterisk" / "traces"
)


@dataclass(frozen=True, slots=True)
class Record:
    dir: str
    line: str


def load_transcript(name: str) -> list[Record]:
    path = TRACES / name
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    return [Record(r["dir"], r["line"]) for r in records if r["dir"] in ("in", "out", "signal")]


def header_of(records: list[Record]) -> list[str]:
    """The environment lines, up to and including the empty line."""
    lines = []
    for record in records:
        if record.dir != "in":
            break
        lines.append(record.line)
    return lines


@dataclass(slots=True)
class Replay:
    """What the peer saw: our lines at each ``out`` record, in order."""

    expected: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)


async def replay(
    records: list[Record],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter | asyncio.StreamWriter,
    *,
    on_signal: Callable[[str], Awaitable[None]] | None = None,
    line_timeout: float = 5.0,
) -> Replay:
    seen = Replay()
    for record in records:
        if record.dir == "in":
            writer.write(record.line.encode() + b"\n")
            await writer.drain()
        elif record.dir == "out":
            seen.expected.append(record.line)
            raw = await asyncio.wait_for(reader.readline(), line_timeout)
            if not raw:
                break
            seen.received.append(raw.decode().rstrip("\n"))
        elif on_signal is not None:
            await on_signal(record.line)
    return seen


def environment_lines(script: str, **values: str) -> list[str]:
    """A FastAGI header as Asterisk 22 sends it (the traces' fields), for ``script``."""
    fields = {
        "network": "yes",
        "network_script": script,
        "request": f"agi://127.0.0.1:4573/{script}",
        "channel": "PJSIP/trunk-00000001",
        "language": "en",
        "type": "PJSIP",
        "uniqueid": "1795753044.138",
        "version": "22.10.1",
        "callerid": "5551234",
        "calleridname": 'O\'Brien "VIP" 张',
        "dnid": "unknown",
        "context": "from-trunk",
        "extension": "4008201001",
        "priority": "3",
        "accountcode": "",
    }
    fields.update(values)
    return [f"agi_{key}: {value}" for key, value in fields.items()] + [""]


Responder = Callable[[str], list[str]]

#: The commands Asterisk still runs on a dead channel (res_agi.c's command table, ``dead``
#: 1); any other gets ``511``. The traces show GET VARIABLE, VERBOSE and DATABASE GET.
PERMITTED_DEAD = (
    "ASYNCAGI BREAK", "DATABASE ", "EXEC ", "GET FULL VARIABLE ", "GET VARIABLE ", "NOOP",
    "SET VARIABLE ", "VERBOSE ", "SPEECH DESTROY", "SPEECH UNLOAD GRAMMAR",
)  # fmt: skip


#: What res_agi.c answers to a command with the wrong number of words (the trace's
#: ``520`` block, its usage lines shortened).
USAGE = [
    "520-Invalid command syntax.  Proper usage follows:",
    "Usage: ...",
    "520 End of proper usage.",
]
# The dialplan applications the fake runs for EXEC, by name (pbx_findapp ignores case).
_APPS = {"mset": mset, "set": set_app}


def channel(variables: dict[str, str] | None = None) -> Responder:
    """Answers like a live channel: ``SET VARIABLE``, ``EXEC MSet`` and ``EXEC Set`` store
    into ``variables``, each command read into words as Asterisk does (``asterisk_parsing``).
    ``EXEC`` answers what the application returned (0; ``-2`` for one that does not exist,
    res_agi.c ``handle_exec``)."""
    store = {} if variables is None else variables

    def respond(line: str) -> list[str]:
        words = agi_words(line)
        if words[:2] == ["SET", "VARIABLE"]:
            if len(words) != 4:
                return USAGE
            store[words[2]] = words[3]
            return ["200 result=1"]
        if words[:1] == ["EXEC"]:
            if len(words) < 2:
                return USAGE
            app = _APPS.get(words[1].lower())
            if app is None:
                return ["200 result=-2"]
            store.update(app(words[2] if len(words) > 2 else ""))
            return ["200 result=0"]
        if words[:2] == ["GET", "VARIABLE"]:
            name = words[2]
            return [f"200 result=1 ({store[name]})"] if name in store else ["200 result=0"]
        if line.startswith(("STREAM FILE", "SAY ", "WAIT FOR DIGIT")):
            return ["200 result=0 endpos=100"]
        return ["200 result=0"]

    return respond


def _unquote(word: str) -> str:
    if not word.startswith('"'):
        return word
    out, escaped = [], False
    for char in word[1:-1]:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


async def fake_call(
    port: int,
    script: str,
    respond: Responder,
    *,
    header: list[str] | None = None,
    line_wait: float = 5.0,
) -> list[str]:
    """One FastAGI call from a fake Asterisk; the command lines we were sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    commands: list[str] = []
    try:
        lines = environment_lines(script) if header is None else header
        writer.write("".join(line + "\n" for line in lines).encode())
        await writer.drain()
        while raw := await asyncio.wait_for(reader.readline(), line_wait):
            commands.append(raw.decode().rstrip("\n"))
            writer.write("".join(line + "\n" for line in respond(commands[-1])).encode())
            await writer.drain()
    finally:
        writer.close()
    return commands
