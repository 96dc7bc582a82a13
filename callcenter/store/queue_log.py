"""Asterisk's queue_log: the verbs, the pipe-separated line, the table row, the file.

A line is ``time|callid|queuename|agent|event|data1|data2|...`` with ``time`` in
whole epoch seconds, exactly as ``ast_queue_log()`` in Asterisk's
``main/logger.c`` prints it (``"%ld|%s|%s|%s|%s|"`` then the data fields joined
with ``|``; an event without data still ends with ``|``). The agent field holds
the queue member's name (``Agent/1001``, or the configured member name such as
``Agent 1002`` in ``traces/app_queue_queue_log.txt``); :data:`MemberName` maps
our agent ids to it.

Asterisk does not escape anything; a ``|`` or a line break inside a field
would split a field or forge a line. Fields come partly from callers (caller id,
IVR input), so :func:`clean_field` replaces ``|`` with ``¦`` and CR/LF with a
space, in the file and in the table alike.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from callcenter.core.commands import QueueLog


class Verb(StrEnum):
    """Events as Asterisk 22's ``apps/app_queue.c`` writes them, with their data fields.

    Times in data fields are whole seconds unless noted.
    """

    ENTERQUEUE = "ENTERQUEUE"  # url|callerid|position
    CONNECT = "CONNECT"  # holdtime|member channel uniqueid|ringtime
    COMPLETECALLER = "COMPLETECALLER"  # holdtime|calltime|origposition
    COMPLETEAGENT = "COMPLETEAGENT"  # holdtime|calltime|origposition
    ABANDON = "ABANDON"  # position|origposition|waittime
    EXITWITHTIMEOUT = "EXITWITHTIMEOUT"  # position|origposition|waittime
    EXITWITHKEY = "EXITWITHKEY"  # key|position|origposition|waittime
    EXITEMPTY = "EXITEMPTY"  # position|origposition|waittime
    # JOINEMPTY and FULL: Asterisk 22 only sets QUEUESTATUS for these; dialplans
    # (Wazo's, for one) log them with QueueLog() and no data fields.
    JOINEMPTY = "JOINEMPTY"
    FULL = "FULL"
    RINGNOANSWER = "RINGNOANSWER"  # ringtime in milliseconds
    RINGCANCELED = "RINGCANCELED"  # ringtime in milliseconds
    TRANSFER = "TRANSFER"  # extension|context|holdtime|calltime|origposition (before 12)
    BLINDTRANSFER = "BLINDTRANSFER"  # extension|context|holdtime|calltime|origposition
    # ATTENDEDTRANSFER: BRIDGE|<bridge> or APP|<app>|<data> or LINK|<channels>,
    # then holdtime|calltime|origposition
    ATTENDEDTRANSFER = "ATTENDEDTRANSFER"
    AGENTLOGIN = "AGENTLOGIN"  # channel
    AGENTLOGOFF = "AGENTLOGOFF"  # channel|logintime
    ADDMEMBER = "ADDMEMBER"  # "PAUSED" or empty
    REMOVEMEMBER = "REMOVEMEMBER"  # empty
    PAUSE = "PAUSE"  # reason (one line per queue)
    UNPAUSE = "UNPAUSE"  # reason
    PAUSEALL = "PAUSEALL"  # reason (queue NONE: paused in every queue)
    UNPAUSEALL = "UNPAUSEALL"  # reason
    # Lines that QueueMetrics-style reporting tools read for what Asterisk leaves out.
    # DID: dialed number, written before ENTERQUEUE with the call's id, as the
    # dialplans generated for FreePBX-style systems do with
    # QueueLog(<queue>,${UNIQUEID},NONE,DID,${FROM_DID}).
    DID = "DID"  # dialed number
    # INFO|IVRAPPEND|<choice>|<menu>: one line per IVR choice, as IssabelPBX's
    # queuemetrics module splices QueueLog(NONE,${UNIQUEID},NONE,INFO,IVRAPPEND|...)
    # into each IVR option; IVR reports select event='INFO' AND data1='IVRAPPEND'.
    INFO = "INFO"
    # Customer hold while connected (QueueMetrics manual, "Additional queue_log
    # logs", Music-On-Hold tracking: CALLERONHOLD when put on hold, CALLEROFFHOLD
    # when resumed, between CONNECT and COMPLETE*; agent field = the agent).
    CALLERONHOLD = "CALLERONHOLD"
    CALLEROFFHOLD = "CALLEROFFHOLD"  # seconds on hold


#: INFO sub-event for an IVR choice: ``INFO|IVRAPPEND|<choice>|<menu>``.
IVRAPPEND = "IVRAPPEND"

#: Pause reason that marks wrap-up (after-call work): ``PAUSEALL|ACW`` when the
#: call ends and ``UNPAUSEALL|ACW`` when wrap-up is over, with the call's id in
#: the callid field. Reporting tools treat time paused under a pause code as that
#: activity (Vicidial's QueueMetrics logging writes pause codes the same way).
WRAPUP_REASON = "ACW"

#: Our agent id -> the member name written in the agent field.
MemberName = Callable[[str], str]


def asterisk_member_name(agent: str) -> str:
    """``1001`` -> ``Agent/1001``; ``NONE`` (no agent) stays ``NONE``."""
    return agent if agent in ("NONE", "") else f"Agent/{agent}"


def member_names(
    names: Mapping[str, str], default: MemberName = asterisk_member_name
) -> MemberName:
    """Configured member names, falling back to ``default`` for agents not listed."""
    return lambda agent: names.get(agent) or default(agent)


def clean_field(text: str) -> str:
    """One field made safe for a pipe-separated, line-oriented log."""
    if "|" not in text and "\n" not in text and "\r" not in text:
        return text
    return text.replace("|", "¦").replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def format_line(line: QueueLog, member_name: MemberName = asterisk_member_name) -> str:
    """The line as Asterisk writes it, without the newline."""
    head = (
        str(math.floor(line.time)),
        clean_field(line.call),
        clean_field(line.queue),
        clean_field(member_name(line.agent)),
        clean_field(line.verb),
    )
    return "|".join((*head, "|".join(clean_field(field) for field in line.data)))


def parse_line(text: str, agent_id: Callable[[str], str] = lambda name: name) -> QueueLog:
    """A line of a queue_log file; ``agent_id`` maps the member name back to an agent id."""
    parts = text.rstrip("\r\n").split("|")
    if len(parts) < 5:
        raise ValueError(f"not a queue_log line (fewer than 5 fields): {text!r}")
    time_text, call, queue, agent, verb, *data = parts
    return QueueLog(
        time=float(time_text),
        call=call,
        queue=queue,
        agent=agent_id(agent),
        verb=verb,
        data=tuple(data),
    )


def to_row(line: QueueLog, member_name: MemberName = asterisk_member_name) -> dict[str, Any]:
    """The ``queue_log`` table row: data1..data4 one field each, data5 the rest.

    That split is Asterisk's own for its adaptive realtime table
    (``AST_NONSTANDARD_APP_ARGS`` into five fields, the last keeps the rest).
    """
    data = [clean_field(field) for field in line.data]
    split = [*data[:4], "|".join(data[4:])] if len(data) > 4 else list(data)
    split += [""] * (5 - len(split))
    return {
        "time": line.time,
        "callid": clean_field(line.call),
        "queuename": clean_field(line.queue),
        "agent": clean_field(member_name(line.agent)),
        "agent_id": line.agent,
        "event": clean_field(line.verb),
        "data1": split[0],
        "data2": split[1],
        "data3": split[2],
        "data4": split[3],
        "data5": split[4],
        "data": "|".join(data),
    }


def from_row(row: Mapping[Any, Any]) -> QueueLog:
    """Back from a row; a single empty data field reads back as none (same line either way)."""
    data: str = row["data"]
    return QueueLog(
        time=float(row["time"]),
        call=row["callid"],
        queue=row["queuename"],
        agent=row["agent_id"],
        verb=row["event"],
        data=tuple(data.split("|")) if data else (),
    )


class QueueLogFile:
    """Appends lines to a queue_log file the way Asterisk does, surviving log rotation.

    Before each batch the path is checked: when the file there is not the one
    held open (moved away by logrotate, deleted), it is reopened, so writing
    goes on in the new file without any signal. Each batch is flushed, like
    Asterisk flushes each line. Not thread-safe: one writer (``StoreWriter``).
    """

    def __init__(self, path: str | Path, member_name: MemberName = asterisk_member_name) -> None:
        self.path = Path(path)
        self.member_name = member_name
        self._file: IO[str] | None = None
        self._identity: tuple[int, int] | None = None

    def append(self, lines: Iterable[QueueLog]) -> int:
        """Write and flush ``lines``; return how many were written."""
        text = [format_line(line, self.member_name) + "\n" for line in lines]
        if not text:
            return 0
        handle = self._open()
        handle.write("".join(text))
        handle.flush()
        return len(text)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._identity = None

    def _open(self) -> IO[str]:
        try:
            status = os.stat(self.path)
            on_disk: tuple[int, int] | None = (status.st_dev, status.st_ino)
        except FileNotFoundError:
            on_disk = None
        if self._file is not None and on_disk is not None and on_disk == self._identity:
            return self._file
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
        status = os.fstat(handle.fileno())
        self._file, self._identity = handle, (status.st_dev, status.st_ino)
        return handle


def read_queue_log_file(
    path: str | Path, agent_id: Callable[[str], str] = lambda name: name
) -> list[QueueLog]:
    with open(path, encoding="utf-8", newline="\n") as handle:
        return [parse_line(text, agent_id) for text in handle if text.strip()]
