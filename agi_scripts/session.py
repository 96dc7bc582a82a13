"""``AgiSession``: the commands a script sends, over either transport.

A transport only has to move lines (:class:`Lines`); the session formats commands,
reads replies with :class:`~agi_scripts.protocol.ReplyReader`, and turns the replies
Asterisk gives on a dead channel into :class:`ChannelHungUp`.

After a hang-up Asterisk still answers ``GET VARIABLE``, ``VERBOSE`` and ``DATABASE``
with 200 but everything touching media with 511 (trace ``agi_classic.jsonl`` at 7.95 s);
``SET VARIABLE`` and ``EXEC`` still run too (res_agi.c's command table; EXEC checked by
``tests/asterisk/test_agi_dialplan.py``), so the session does not refuse commands itself:
it lets Asterisk decide and raises on 511.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from agi_scripts.protocol import (
    MAX_LINE,
    MSET_MAX_PAIRS,
    Code,
    Environment,
    Reply,
    ReplyReader,
    format_command,
    mset_data,
)

log = logging.getLogger(__name__)


class ConnectionClosed(Exception):  # noqa: N818 - a state, not an error
    """The peer closed the connection (end of stdin, TCP close)."""


class LineTooLong(Exception):  # noqa: N818
    """The peer sent a line over the limit."""


class Lines(Protocol):
    """What a transport offers: one line in, one line out (no line endings).

    ``read_line`` raises ``TimeoutError`` once the running loop's clock (``loop.time()``)
    passes ``deadline``; each transport watches it its own, cheapest, way.
    """

    async def read_line(self, deadline: float | None = None) -> str: ...

    async def write_line(self, line: str) -> None: ...


class ChannelHungUp(Exception):  # noqa: N818 - the caller's doing, not ours
    """The caller hung up: Asterisk answered 511, or ``result=-1`` to a media command."""


class MediaFailed(Exception):  # noqa: N818
    """``result=-1`` to a media command on a live channel: Asterisk could not open the sound
    file (a prompt not installed, see ``asterisk-conf/sounds/README.md``)."""


class CommandFailed(Exception):  # noqa: N818
    """Asterisk refused a command as unknown (510) or malformed (520, with its usage)."""

    def __init__(self, command: str, reply: Reply) -> None:
        usage = " / ".join(reply.usage)
        super().__init__(f"{command!r}: {reply.code} {reply.text} {usage}".rstrip())
        self.reply = reply


#: The longest ``EXEC MSet`` line we send, in bytes: well under Asterisk's 8192-byte
#: command buffer (res_agi.c AGI_BUF_LEN) and our own :data:`MAX_LINE`.
MSET_LINE_BUDGET = MAX_LINE // 2


#: How long a reply may take by default, in seconds. Commands that wait for the caller
#: (GET DATA, STREAM FILE, WAIT FOR DIGIT) add their own timeout to this.
REPLY_TIMEOUT = 10.0


class AgiSession:
    """One call's AGI session: its environment and the commands scripts use."""

    def __init__(
        self, environment: Environment, lines: Lines, *, reply_timeout: float = REPLY_TIMEOUT
    ) -> None:
        self.environment = environment
        self.lines = lines
        self.reply_timeout = reply_timeout
        self._reader = ReplyReader()
        self._hung_up = False
        self.broken = False
        """A reply was late or not AGI: the line is out of step, send nothing more."""
        self._lock = asyncio.Lock()
        # The loop's clock, looked up once: get_running_loop() is a getpid() system call.
        self._clock = asyncio.get_running_loop().time

    @property
    def hung_up(self) -> bool:
        """Whether the caller is known to be gone (HANGUP notice, SIGHUP, 511)."""
        return self._hung_up or self._reader.hangup_seen

    def mark_hung_up(self) -> None:
        """Classic AGI learns of the hang-up from SIGHUP, not from a line."""
        self._hung_up = True

    # -- the wire ------------------------------------------------------------------

    async def send(self, line: str, *, within: float | None = None) -> Reply:
        """Send one command line and return its reply, whatever its code."""
        if self.broken:
            raise ConnectionClosed("the session is out of step after a failed reply")
        async with self._lock:  # one command in flight: replies carry no id
            try:
                await self.lines.write_line(line)
                timeout = self.reply_timeout if within is None else within
                deadline = self._clock() + timeout
                while True:
                    reply = self._reader.feed(await self.lines.read_line(deadline))
                    if reply is not None:
                        return reply
            except BaseException:
                # A late reply would otherwise be taken for the next command's.
                self.broken = True
                raise

    async def command(self, verb: str, *args: str | int, waits: float = 0.0) -> Reply:
        """Send ``verb args`` and return the 200 reply; raise on anything else.

        ``waits``: seconds the command may legitimately take (a prompt, a digit timeout).
        """
        return await self._checked(format_command(verb, *args), waits)

    async def _checked(self, line: str, waits: float = 0.0) -> Reply:
        reply = await self.send(line, within=self.reply_timeout + waits)
        if reply.code == Code.DEAD_CHANNEL:
            self._hung_up = True
            raise ChannelHungUp(line)
        if reply.code != Code.SUCCESS:
            raise CommandFailed(line, reply)
        return reply

    async def _media(self, verb: str, *args: str | int, waits: float, plays: bool = True) -> Reply:
        reply = await self.command(verb, *args, waits=waits)
        if reply.result != "-1":
            return reply
        if not plays:  # WAIT FOR DIGIT opens no file: -1 is the hang-up (trace 7.45 s)
            self._hung_up = True
            raise ChannelHungUp(verb)
        # A command that plays a file also answers -1 on a live channel when the file cannot
        # be opened: STREAM FILE "200 result=-1 endpos=0" (res_agi.c handle_streamfile),
        # GET DATA its prompt's failure (app.c ast_app_getdata_full); seen on Asterisk
        # 22.10.1 by tests/asterisk. CHANNEL STATUS tells the two apart: it is refused
        # with 511 on a dead channel (not a dead-channel command in res_agi.c).
        if not self.hung_up:
            await self.command("CHANNEL STATUS")  # ChannelHungUp on 511
        if self.hung_up:
            self._hung_up = True
            raise ChannelHungUp(verb)
        raise MediaFailed(f"{verb} {' '.join(map(str, args))}: could not play")

    async def _play(self, verb: str, *args: str | int, waits: float) -> str | None:
        """A prompt: the digit that interrupted it, if any. One that cannot be played is
        logged and skipped: a missing recording must not end a caller's self-service."""
        try:
            reply = await self._media(verb, *args, waits=waits)
        except MediaFailed as exc:
            log.warning("%s on %s (sound file missing?)", exc, self.environment.get("channel"))
            return None
        return chr(reply.number) if reply.number > 0 else None

    # -- the commands ----------------------------------------------------------------

    async def answer(self) -> None:
        await self.command("ANSWER", waits=5.0)

    async def hangup(self) -> None:
        await self.command("HANGUP")

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command("VERBOSE", message, level)

    async def get_variable(self, name: str) -> str | None:
        """The channel variable or dialplan function value; None when unset."""
        reply = await self.command("GET VARIABLE", name)
        return reply.data if reply.result == "1" else None

    async def get_full_variable(self, expression: str) -> str | None:
        """``${...}`` evaluated by Asterisk, e.g. ``${CALLERID(name)}``."""
        reply = await self.command("GET FULL VARIABLE", expression)
        return reply.data if reply.result == "1" else None

    async def set_variable(self, name: str, value: str | int) -> None:
        await self.command("SET VARIABLE", name, str(value))

    async def set_variables(self, values: dict[str, str]) -> None:
        """Set every variable of ``values``, in as few round trips as safely possible.

        Commands cannot be pipelined: res_agi.c (run_agi) polls the socket, then reads a
        line with buffered fgets(); a second command already sitting in stdio's buffer is
        not seen until more bytes arrive, so it would stall. So several variables go in one
        ``EXEC MSet`` (one round trip instead of one each; see :func:`mset_data` for how
        values are escaped). A value holding ``$`` goes alone by ``SET VARIABLE``, which
        never evaluates it: EXEC would, on a channel with ``AGIEXECFULL=yes``.
        """
        together = {name: value for name, value in values.items() if "$" not in value}
        if together:
            await self._mset(together)
        for name, value in values.items():
            if name not in together:
                await self.set_variable(name, value)

    async def _mset(self, values: dict[str, str]) -> None:
        """One ``EXEC MSet``, or halves of it while it is too long for one (a single
        variable goes by ``SET VARIABLE``)."""
        if len(values) == 1:
            [(name, value)] = values.items()
            await self.set_variable(name, value)
            return
        line = ""
        if len(values) <= MSET_MAX_PAIRS:
            line = format_command("EXEC", "MSet", mset_data(values))
        # (UTF-8 takes at most 4 bytes a character: most lines need no encoding to know.)
        if not line or (len(line) * 4 > MSET_LINE_BUDGET and len(line.encode()) > MSET_LINE_BUDGET):
            items = list(values.items())
            await self._mset(dict(items[: len(items) // 2]))
            await self._mset(dict(items[len(items) // 2 :]))
            return
        reply = await self._checked(line)
        if reply.result != "0":  # what MSet returned; -2: no such application
            raise CommandFailed(line, reply)

    async def stream_file(self, sound: str, escape_digits: str = "") -> str | None:
        """Play ``sound``; the digit that interrupted it, if any.

        The reply's result is the digit's ASCII code (``result=53`` for 5), 0 when it
        played to the end.
        """
        return await self._play("STREAM FILE", sound, escape_digits, waits=600.0)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        """Play ``prompt`` and collect up to ``max_digits`` digits (``#`` ends early).

        Returns the digits keyed ("" on timeout). ``GET DATA`` without arguments is a 520
        usage error, so both are always sent. A prompt that cannot be played raises
        :class:`MediaFailed` (the caller would key blind; the runner falls back).
        """
        waits = 600.0 + timeout_ms / 1000 * (max_digits + 1)
        reply = await self._media("GET DATA", prompt, timeout_ms, max_digits, waits=waits)
        return reply.result

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        reply = await self._media(
            "WAIT FOR DIGIT", timeout_ms, waits=timeout_ms / 1000, plays=False
        )
        return chr(reply.number) if reply.number > 0 else None

    async def say_digits(self, digits: str, escape_digits: str = "") -> str | None:
        return await self._play("SAY DIGITS", digits, escape_digits, waits=120.0)

    async def say_number(self, number: int, escape_digits: str = "") -> str | None:
        """Say ``number`` as a quantity ("one thousand two hundred"), in the channel's
        language."""
        return await self._play("SAY NUMBER", number, escape_digits, waits=120.0)

    async def say_datetime(
        self, epoch: float, escape_digits: str = "", fmt: str = "ABdY", zone: str = ""
    ) -> str | None:
        """Say the moment ``epoch`` in ``fmt`` (say.conf letters; ``ABdY``: "Wednesday,
        March 4 2026") and the time zone ``zone`` (the server's when empty)."""
        args: list[str | int] = [int(epoch), escape_digits, fmt]
        if zone:
            args.append(zone)
        return await self._play("SAY DATETIME", *args, waits=120.0)

    async def channel_status(self) -> int:
        return (await self.command("CHANNEL STATUS")).number
