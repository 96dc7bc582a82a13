"""queue_log: Asterisk's line format byte for byte, the file appender, the table round trip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from callcenter.core.commands import QueueLog
from callcenter.store import QueueLogFile, Store, Verb, format_line, parse_line
from callcenter.store.queue_log import (
    asterisk_member_name,
    member_names,
    read_queue_log_file,
)
from callcenter.store.schema import queue_log

TRACE = Path(__file__).parents[3] / "shared/asterisk/traces/app_queue_queue_log.txt"

# The lines Asterisk 22.10.1's app_queue wrote for traces/app_queue_reference.md
# (member names "Agent 1001" / "Agent 1002").
TRACE_TEXT = """\
1795753104|caller-qc1|support|NONE|ENTERQUEUE||5552001|1
1795753104|caller-qc1|support|Agent 1002|CONNECT|0|1795753104.143|0
1795753107|caller-qc2|support|NONE|ENTERQUEUE||5552002|1
1795753107|caller-qc2|support|Agent 1001|CONNECT|0|1795753107.147|0
1795753109|caller-qc3|support|NONE|ENTERQUEUE||5552003|1
1795753113|caller-qc1|support|Agent 1002|COMPLETEAGENT|0|9|1
1795753113|caller-qc3|support|Agent 1002|CONNECT|4|1795753113.151|0
1795753115|caller-qc4|support|NONE|ENTERQUEUE||5552004|1
1795753118|caller-qc4|support|NONE|ABANDON|1|1|3
1795753119|caller-qc2|support|Agent 1001|COMPLETECALLER|0|12|1
1795753121|caller-qc3|support|Agent 1002|COMPLETECALLER|4|8|1
"""

trace_member_name = member_names({"1001": "Agent 1001", "1002": "Agent 1002"})


def _agent_id(member: str) -> str:
    return member.removeprefix("Agent ")


# The same events as the engine's core would emit them (agent ids, float times).
TRACE_COMMANDS = [
    QueueLog(1795753104.31, "caller-qc1", "support", "NONE", Verb.ENTERQUEUE, ("", "5552001", "1")),
    QueueLog(
        1795753104.9, "caller-qc1", "support", "1002", Verb.CONNECT, ("0", "1795753104.143", "0")
    ),
    QueueLog(1795753107.0, "caller-qc2", "support", "NONE", Verb.ENTERQUEUE, ("", "5552002", "1")),
    QueueLog(
        1795753107.2, "caller-qc2", "support", "1001", Verb.CONNECT, ("0", "1795753107.147", "0")
    ),
    QueueLog(1795753109.5, "caller-qc3", "support", "NONE", Verb.ENTERQUEUE, ("", "5552003", "1")),
    QueueLog(1795753113.1, "caller-qc1", "support", "1002", Verb.COMPLETEAGENT, ("0", "9", "1")),
    QueueLog(
        1795753113.1, "caller-qc3", "support", "1002", Verb.CONNECT, ("4", "1795753113.151", "0")
    ),
    QueueLog(1795753115.7, "caller-qc4", "support", "NONE", Verb.ENTERQUEUE, ("", "5552004", "1")),
    QueueLog(1795753118.2, "caller-qc4", "support", "NONE", Verb.ABANDON, ("1", "1", "3")),
    QueueLog(1795753119.0, "caller-qc2", "support", "1001", Verb.COMPLETECALLER, ("0", "12", "1")),
    QueueLog(1795753121.99, "caller-qc3", "support", "1002", Verb.COMPLETECALLER, ("4", "8", "1")),
]


def test_embedded_lines_are_the_recorded_trace() -> None:
    if not TRACE.exists():
        pytest.skip(f"{TRACE} not present")
    assert TRACE.read_bytes() == TRACE_TEXT.encode()


def test_file_written_from_core_commands_matches_asterisk_byte_for_byte(tmp_path: Path) -> None:
    appender = QueueLogFile(tmp_path / "queue_log", member_name=trace_member_name)
    assert appender.append(TRACE_COMMANDS[:4]) == 4
    assert appender.append(TRACE_COMMANDS[4:]) == 7
    appender.close()
    assert (tmp_path / "queue_log").read_bytes() == TRACE_TEXT.encode()


def test_every_trace_line_parses_and_formats_back_unchanged() -> None:
    for text in TRACE_TEXT.splitlines():
        line = parse_line(text, agent_id=_agent_id)
        assert format_line(line, trace_member_name) == text


def test_event_without_data_ends_with_a_pipe_like_asterisk() -> None:
    line = QueueLog(1292284222.0, "MANAGER", "7100", "9990", Verb.REMOVEMEMBER)
    assert format_line(line) == "1292284222|MANAGER|7100|Agent/9990|REMOVEMEMBER|"


def test_default_member_name_is_agent_slash_id_and_none_stays_none() -> None:
    assert asterisk_member_name("1001") == "Agent/1001"
    assert asterisk_member_name("NONE") == "NONE"
    named = member_names({"1001": "Alice"})
    assert (named("1001"), named("1002")) == ("Alice", "Agent/1002")


def test_extra_reporting_lines() -> None:
    lines = [
        QueueLog(100.0, "c9", "support", "NONE", Verb.DID, ("4008001234",)),
        QueueLog(100.0, "c9", "NONE", "NONE", Verb.INFO, ("IVRAPPEND", "2", "main")),
        QueueLog(160.0, "c9", "support", "1001", Verb.CALLERONHOLD),
        QueueLog(190.0, "c9", "support", "1001", Verb.CALLEROFFHOLD, ("30",)),
        QueueLog(250.0, "c9", "NONE", "1001", Verb.PAUSEALL, ("ACW",)),
    ]
    assert [format_line(line) for line in lines] == [
        "100|c9|support|NONE|DID|4008001234",
        "100|c9|NONE|NONE|INFO|IVRAPPEND|2|main",
        "160|c9|support|Agent/1001|CALLERONHOLD|",
        "190|c9|support|Agent/1001|CALLEROFFHOLD|30",
        "250|c9|NONE|Agent/1001|PAUSEALL|ACW",
    ]


def test_caller_text_cannot_split_fields_or_forge_lines(tmp_path: Path) -> None:
    hostile = "x|y\n1|forged|q|NONE|ABANDON|1|1|1\r\nz"
    line = QueueLog(5.0, "c1", "support", "NONE", Verb.ENTERQUEUE, ("", hostile, "1"))
    appender = QueueLogFile(tmp_path / "queue_log")
    appender.append([line])
    appender.close()
    written = (tmp_path / "queue_log").read_text(encoding="utf-8")
    assert written.count("\n") == 1
    assert written == "5|c1|support|NONE|ENTERQUEUE||x¦y 1¦forged¦q¦NONE¦ABANDON¦1¦1¦1 z|1\n"


def test_appender_reopens_the_file_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "log" / "queue_log"
    appender = QueueLogFile(path)
    appender.append(TRACE_COMMANDS[:2])
    os.rename(path, tmp_path / "log" / "queue_log.1")  # logrotate moves it away
    appender.append(TRACE_COMMANDS[2:3])
    path.unlink()  # and someone deletes the new one
    appender.append(TRACE_COMMANDS[3:4])
    appender.close()
    assert [line.call for line in read_queue_log_file(tmp_path / "log" / "queue_log.1")] == [
        "caller-qc1",
        "caller-qc1",
    ]
    assert path.read_text() == format_line(TRACE_COMMANDS[3]) + "\n"


fields = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="|\r\n"), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    time=st.integers(min_value=0, max_value=2**40),
    call=fields,
    queue=fields,
    verb=st.sampled_from(list(Verb)),
    data=st.lists(fields, max_size=7),
)
def test_any_line_without_separators_survives_format_and_parse(
    time: int, call: str, queue: str, verb: Verb, data: list[str]
) -> None:
    line = QueueLog(float(time), call, queue, "NONE", verb, tuple(data) or ("",))
    assert parse_line(format_line(line)) == line


async def test_lines_round_trip_through_the_table(store: Store) -> None:
    lines = [
        *TRACE_COMMANDS,
        QueueLog(
            1795753130.5,
            "c7",
            "support",
            "1001",
            Verb.BLINDTRANSFER,
            ("200", "agents", "3", "41", "1", "extra"),
        ),
    ]
    await store.append_queue_log(lines[:5])
    await store.append_queue_log(lines[5:])
    assert await store.queue_log() == lines
    assert await store.queue_log(call="caller-qc4") == [lines[7], lines[8]]
    assert await store.queue_log(since=1795753113.1, until=1795753119.0) == lines[5:9]


async def test_table_rows_have_asterisk_columns_with_member_names(store: Store) -> None:
    transfer = QueueLog(
        1795753130.5,
        "c7",
        "support",
        "1001",
        Verb.BLINDTRANSFER,
        ("200", "agents", "3", "41", "1", "extra"),
    )
    await store.append_queue_log([TRACE_COMMANDS[1], transfer])
    async with store.reading() as conn:
        rows = (await conn.execute(select(queue_log).order_by(queue_log.c.id))).all()
    connect, blind = (row._mapping for row in rows)
    assert (connect["callid"], connect["queuename"], connect["agent"], connect["event"]) == (
        "caller-qc1",
        "support",
        "Agent/1002",
        "CONNECT",
    )
    assert connect["time"] == pytest.approx(1795753104.9)
    assert connect["agent_id"] == "1002"
    assert [connect[f"data{i}"] for i in range(1, 6)] == ["0", "1795753104.143", "0", "", ""]
    assert connect["data"] == "0|1795753104.143|0"
    # Asterisk's adaptive split: four fields, then the rest in data5.
    assert [blind[f"data{i}"] for i in range(1, 6)] == ["200", "agents", "3", "41", "1|extra"]
