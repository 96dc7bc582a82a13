"""Classic AGI: Asterisk runs us as ``AGI(script,args)`` and talks over stdin/stdout.

Asterisk tells a classic script of the hang-up by SIGHUP, not by a ``HANGUP`` line (trace
``agi_classic.jsonl`` at 7.447 s, next to the ``200 result=-1`` of ``WAIT FOR DIGIT``).
Python's default for SIGHUP is to die, which would cut the script off before it can log or
tidy up, so we catch it and only mark the session hung up; the following media commands
then get 511 and end the script. (``AGISIGHUP=no`` on the channel turns the signal off.)
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Mapping
from typing import BinaryIO

from agi_scripts.protocol import MAX_LINE, AgiError
from agi_scripts.runner import Outcome, Script, ScriptContext, run_script
from agi_scripts.session import AgiSession, ConnectionClosed, LineTooLong
from agi_scripts.streams import StreamLines, read_environment

HEADER_TIMEOUT = 10.0


async def _pipes(stdin: BinaryIO, stdout: BinaryIO) -> StreamLines:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, stdout)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return StreamLines(reader, writer)


async def run_classic(
    name: str,
    scripts: Mapping[str, Script],
    context: ScriptContext,
    *,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> Outcome | str:
    """Serve one classic AGI session on stdin/stdout with script ``name``."""
    loop = asyncio.get_running_loop()
    hung_up: list[AgiSession | bool | None] = [None]

    def on_sighup() -> None:
        session = hung_up[0]
        if isinstance(session, AgiSession):
            session.mark_hung_up()
        else:
            hung_up[0] = True

    loop.add_signal_handler(signal.SIGHUP, on_sighup)
    try:
        lines = await _pipes(stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)
        try:
            async with asyncio.timeout(HEADER_TIMEOUT):
                environment = await read_environment(lines)
        except (TimeoutError, AgiError, ConnectionClosed, LineTooLong) as exc:
            print(f"callcenter agi: bad AGI header: {exc}", file=sys.stderr)
            return "bad_header"
        session = AgiSession(environment, lines)
        if hung_up[0] is True:
            session.mark_hung_up()
        hung_up[0] = session
        return await run_script(name, session, context, scripts)
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
