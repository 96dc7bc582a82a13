"""The AGI protocol without I/O: the ``agi_*`` environment, commands, and replies.

Both transports (classic ``AGI(script)`` over stdin/stdout, FastAGI over TCP) speak the
same lines; this module turns those lines into values and back, and nothing else. What it
relies on was recorded from Asterisk 22.10.1 (``../shared/asterisk/traces/agi_*.jsonl``):

* The environment is ``agi_<name>: <value>`` lines ended by an empty line. FastAGI puts
  ``agi_network: yes``, ``agi_network_script: route?x=1`` and ``agi_request:
  agi://host:4573/route?x=1`` first. Values are raw UTF-8: ``agi_calleridname: O'Brien
  "VIP" 张`` keeps its quotes, unescaped. Dialplan arguments come as ``agi_arg_1`` ... .
* A reply is ``200 result=<n>`` with optional ``(<data>)`` and ``key=value`` extras
  (``200 result=53 endpos=8640``, ``200 result=1 (hello world)``, ``200 result=1 ()``),
  ``510 Invalid or unknown command``, ``511 Command Not Permitted on a dead channel ...``,
  or a usage block ``520-Invalid command syntax.  Proper usage follows:`` ... ``520 End of
  proper usage.`` whose middle lines have no code at all.
* FastAGI announces a hang-up with a bare ``HANGUP`` line, sent after our next command and
  before that command's reply (``out GET VARIABLE`` -> ``in HANGUP`` -> ``in 200 ...``).
* Asterisk splits a command into words on blanks; ``"..."`` groups a word and ``\\``
  escapes the next character, inside quotes or not. An unquoted value with blanks is a
  syntax error (520), a quoted one keeps blanks, quotes and unicode.
* ``EXEC <app> <data>`` hands ``data`` to the dialplan application as it is: no
  ``${...}`` substitution unless the channel has ``AGIEXECFULL=yes``, and the reply is
  ``200 result=<what the application returned>`` (``0`` for ``MSet``, ``-2`` for an
  application that does not exist). Not in the traces: read in Asterisk 22.10.1's
  ``res/res_agi.c`` (``handle_exec``) and checked by ``tests/asterisk/test_agi_dialplan.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from urllib.parse import parse_qsl, urlsplit

#: The longest line we accept, in bytes (Asterisk's own AGI buffer is 2048 bytes).
MAX_LINE = 8192
#: The most environment lines we accept before the empty line (Asterisk sends about 25).
MAX_ENVIRONMENT_LINES = 200
#: The most lines of a 520 usage block we keep reading.
MAX_USAGE_LINES = 200

HANGUP_NOTICE = "HANGUP"


class AgiError(Exception):
    """The peer said something that is not AGI, or refused a command."""


class HeaderError(AgiError):
    """The ``agi_*`` header is malformed."""


class ReplyError(AgiError):
    """A reply line that is not AGI."""


class Code(IntEnum):
    SUCCESS = 200
    INVALID_COMMAND = 510
    DEAD_CHANNEL = 511
    USAGE = 520


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply to one command. ``result`` is the text after ``result=`` (``"-1"``,
    ``"123"``); ``data`` the text in parentheses (None when absent); ``extras`` the
    ``key=value`` pairs after it; ``usage`` the lines of a 520 block."""

    code: int
    result: str = ""
    data: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    usage: tuple[str, ...] = ()

    @property
    def number(self) -> int:
        """``result`` as an integer (0 when it is not one)."""
        try:
            return int(self.result)
        except ValueError:
            return 0


# --- the environment ---------------------------------------------------------------


# A FastAGI script path urlsplit would return unchanged: no query, fragment, blanks or
# control characters (it strips some of those).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_./-]*")


@dataclass(frozen=True, slots=True)
class Environment:
    """The ``agi_*`` header of one AGI session, keys without the ``agi_`` prefix."""

    values: Mapping[str, str]

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    @property
    def network(self) -> bool:
        return self.values.get("network") == "yes"

    @property
    def script(self) -> str:
        """The script name: FastAGI's path without query, or classic's file name."""
        if self.network:
            target = self.get("network_script")
            if _PLAIN_PATH.fullmatch(target):  # the usual ``caller_lookup``: urlsplit is slow
                return target.strip("/")
            return urlsplit("agi://h/" + target).path.strip("/")
        return self.get("request").rsplit("/", 1)[-1]

    @property
    def query(self) -> dict[str, str]:
        """FastAGI's ``?a=1&b=2`` arguments (empty for classic AGI)."""
        target = self.get("network_script")
        if not self.network or "?" not in target:
            return {}
        return dict(parse_qsl(urlsplit("agi://h/" + target).query))

    @property
    def args(self) -> tuple[str, ...]:
        """``agi_arg_1``, ``agi_arg_2``, ... in order, stopping at the first gap."""
        found: list[str] = []
        while (value := self.values.get(f"arg_{len(found) + 1}")) is not None:
            found.append(value)
        return tuple(found)

    @property
    def caller_number(self) -> str:
        """``agi_callerid``; Asterisk writes ``unknown`` when there is none."""
        value = self.get("callerid")
        return "" if value == "unknown" else value

    @property
    def caller_name(self) -> str:
        value = self.get("calleridname")
        return "" if value == "unknown" else value

    @property
    def dialed_number(self) -> str:
        """The DNIS: ``agi_dnid``, else the extension (``unknown`` on Local channels)."""
        dnid = self.get("dnid")
        return dnid if dnid and dnid != "unknown" else self.get("extension")


_KEY = re.compile(r"agi_([a-z0-9_]+)")
# Header keys already checked against _KEY: the same 20-odd come with every call, and the
# check is most of a header line's cost. Bounded, since a peer may make keys up.
_KNOWN_KEYS: set[str] = set()
_MAX_KNOWN_KEYS = 256


class EnvironmentParser:
    """Feed header lines one by one; ``done`` once the empty line has come."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lines = 0
        self.done = False

    def feed(self, line: str) -> bool:
        """Take one line (without its line ending); True when the header is complete."""
        return self.feed_lines((line,))

    def feed_lines(self, lines: Iterable[str]) -> bool:
        """Take lines in order; True when the header is complete, which must be at the last
        of them (the empty line). One call for a whole header: per line, a call costs as
        much as the parsing."""
        values, known = self._values, _KNOWN_KEYS
        for line in lines:
            if self.done:
                raise HeaderError("header already complete")
            if line == "":
                if not values:
                    raise HeaderError("empty AGI header")
                self.done = True
                continue
            self._lines += 1
            if self._lines > MAX_ENVIRONMENT_LINES:
                raise HeaderError(f"more than {MAX_ENVIRONMENT_LINES} header lines")
            key, colon, value = line.partition(":")
            if not colon or key not in known:
                if not colon or _KEY.fullmatch(key) is None:
                    raise HeaderError(f"not an agi_ header line: {line[:80]!r}")
                if len(known) < _MAX_KNOWN_KEYS:
                    known.add(key)
            # One blank follows the colon; the value itself may start with blanks.
            values[key[4:]] = value[1:] if value[:1] == " " else value
        return self.done

    def environment(self) -> Environment:
        if not self.done:
            raise HeaderError("header not complete")
        return Environment(dict(self._values))


def parse_environment(lines: Iterable[str]) -> Environment:
    """The environment from its lines (the empty line that ends it included)."""
    parser = EnvironmentParser()
    for line in lines:
        if parser.feed(line):
            return parser.environment()
    raise HeaderError("header ended before its empty line")


def decode_line(raw: bytes) -> str:
    """One received line as text: UTF-8 (invalid bytes replaced), line ending removed."""
    return raw.decode("utf-8", "replace").rstrip("\r\n")


# --- commands ----------------------------------------------------------------------

# Words Asterisk takes as they are; anything else is sent quoted. ``#`` is left out on
# purpose: escape digits such as "5#" are quoted, as in the trace.
_BARE = re.compile(r"[A-Za-z0-9_./:${}()+*,@=-]+")
# A line break would end the command and let the rest run as a second one.
_LINE_BREAKS = str.maketrans({"\r": " ", "\n": " ", "\0": " "})


def quote(value: str) -> str:
    """``value`` as one quoted AGI word: blanks, quotes and unicode kept."""
    escaped = value.translate(_LINE_BREAKS).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def word(value: str | int) -> str:
    """One command word: bare when Asterisk would read it unchanged, quoted otherwise."""
    text = str(value)
    return text if _BARE.fullmatch(text) else quote(text)


_VERB = re.compile(r"[A-Z]+( [A-Z]+)*")


# Verbs already checked against _VERB (ours, a handful; checking again costs a regex per
# command).
_KNOWN_VERBS: set[str] = set()


def format_command(verb: str, *args: str | int) -> str:
    """``format_command("SET VARIABLE", "CC_NAME", 'O\\'Brien "VIP"')`` -> the line to
    send (without its newline). ``verb`` is ours, never a caller's, and sent as is."""
    if verb not in _KNOWN_VERBS:
        if not _VERB.fullmatch(verb):
            raise ValueError(f"not an AGI command verb: {verb!r}")
        if len(_KNOWN_VERBS) < 64:
            _KNOWN_VERBS.add(verb)
    return " ".join([verb, *map(word, args)])


# --- dialplan application data ----------------------------------------------------

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KNOWN_NAMES: set[str] = set()  # checked already (ours, a few dozen), as for verbs
# MSet (main/pbx_variables.c, pbx_builtin_setvar_multiple) splits its data on "," with
# __ast_app_separate_args (main/app.c), which on the way drops each '"' (toggling a
# quoted state) and each "\\" (keeping the next character literally), and does not
# split inside (...) or [...]; those states (and the quote) run on across the pairs. Then
# each pair is split at its first "=": the name is scanned, the value is the raw rest.
# Every character that pass acts on gets a backslash, so each value comes out exactly as
# given. ("=" needs none: only the name is scanned for it, and names are ours.)
_APP_DATA_SPECIAL = str.maketrans({char: "\\" + char for char in '\\",()[]'})
#: The pairs MSet takes: it parses up to 99 arguments, the 99th raw.
MSET_MAX_PAIRS = 98


def mset_data(values: Mapping[str, str]) -> str:
    """The data of ``EXEC MSet`` that sets every ``name: value`` of ``values``, each value
    arriving exactly as given whatever it holds (commas, ``=``, quotes, backslashes,
    brackets). Send it with :func:`format_command`, which quotes it for the AGI line (and
    turns line breaks into blanks)."""
    if not 0 < len(values) <= MSET_MAX_PAIRS:
        raise ValueError(f"MSet takes 1 to {MSET_MAX_PAIRS} variables, not {len(values)}")
    pairs = []
    for name, value in values.items():
        if name not in _KNOWN_NAMES:
            if not _VARIABLE_NAME.fullmatch(name):
                raise ValueError(f"not a channel variable name: {name!r}")
            if len(_KNOWN_NAMES) < 256:
                _KNOWN_NAMES.add(name)
        pairs.append(f"{name}={value.translate(_APP_DATA_SPECIAL)}")
    return ",".join(pairs)


# --- replies -----------------------------------------------------------------------

_SUCCESS = re.compile(r"200 result=(\S*)(.*)")
_EXTRAS = re.compile(r"(?:\s+[A-Za-z_]+=\S*)*\s*")


def parse_success(line: str) -> Reply:
    """``200 result=1 (hello world)`` and its kin."""
    match = _SUCCESS.fullmatch(line)
    if match is None:
        raise ReplyError(f"not a 200 reply: {line[:80]!r}")
    result, rest = match.groups()
    data: str | None = None
    stripped = rest.lstrip()
    if stripped.startswith("("):
        # The data is raw (a value may hold ")" or "(" itself): take the last ")" after
        # which only key=value extras follow.
        end = len(stripped)
        while (end := stripped.rfind(")", 0, end)) != -1:
            if _EXTRAS.fullmatch(stripped[end + 1 :]):
                break
        if end == -1:
            raise ReplyError(f"unclosed data in reply: {line[:80]!r}")
        data, rest = stripped[1:end], stripped[end + 1 :]
    extras = dict(pair.split("=", 1) for pair in rest.split())
    return Reply(Code.SUCCESS, result, data, extras, line)


_PLAIN_SUCCESS = Reply(Code.SUCCESS, "1", None, {}, "200 result=1")
_ZERO_SUCCESS = Reply(Code.SUCCESS, "0", None, {}, "200 result=0")


class ReplyReader:
    """Assembles one reply from lines; notes a ``HANGUP`` notice on the way.

    ``feed`` returns the reply once complete, else None. A fresh reader is not needed per
    command: after a reply it starts over.
    """

    def __init__(self) -> None:
        self.hangup_seen = False
        self._usage: list[str] | None = None

    def feed(self, line: str) -> Reply | None:
        if self._usage is not None:
            return self._feed_usage(self._usage, line)
        if line == HANGUP_NOTICE:
            self.hangup_seen = True
            return None
        # Most replies (SET VARIABLE, EXEC MSet): no parsing needed.
        if line == _PLAIN_SUCCESS.text:
            return _PLAIN_SUCCESS
        if line == _ZERO_SUCCESS.text:
            return _ZERO_SUCCESS
        if line.startswith("200 "):
            return parse_success(line)
        if line.startswith("520-"):
            self._usage = []
            return None
        code, _, text = line.partition(" ")
        if code in ("510", "511", "520"):
            return Reply(int(code), text=text)
        raise ReplyError(f"not an AGI reply: {line[:80]!r}")

    def _feed_usage(self, usage: list[str], line: str) -> Reply | None:
        if line.startswith("520 "):
            self._usage = None
            return Reply(Code.USAGE, text=line[4:], usage=tuple(usage))
        if len(usage) >= MAX_USAGE_LINES:
            raise ReplyError("520 usage block too long")
        usage.append(line)
        return None
