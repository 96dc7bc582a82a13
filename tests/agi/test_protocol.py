"""The pure protocol: the environment, command words, replies (as recorded)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from agi_scripts import protocol
from agi_scripts.protocol import (
    MAX_ENVIRONMENT_LINES,
    Code,
    EnvironmentParser,
    HeaderError,
    ReplyError,
    ReplyReader,
    format_command,
    parse_environment,
    quote,
)
from tests.agi.peer import TRACES, header_of, load_transcript


def _replies(lines: list[str]) -> list[object]:
    reader = ReplyReader()
    return [reply for line in lines if (reply := reader.feed(line)) is not None]


def test_fastagi_header_gives_script_query_args_and_raw_caller_name():
    env = parse_environment([
        "agi_network: yes",
        "agi_network_script: route?x=1&lang=zh",
        "agi_request: agi://127.0.0.1:4573/route?x=1&lang=zh",
        "agi_calleridname: O'Brien \"VIP\" 张",
        "agi_callerid: 5551234",
        "agi_accountcode: ",
        "agi_arg_1: arg1",
        "agi_arg_2: arg two",
        "",
    ])  # fmt: skip
    assert env.network
    assert env.script == "route"
    assert env.query == {"x": "1", "lang": "zh"}
    assert env.args == ("arg1", "arg two")
    assert env.caller_name == 'O\'Brien "VIP" 张'
    assert env.caller_number == "5551234"
    assert env.get("accountcode") == ""


@pytest.mark.skipif(not (TRACES / "agi_classic.jsonl").exists(), reason="no traces")
def test_recorded_classic_header_parses():
    env = parse_environment(header_of(load_transcript("agi_classic.jsonl")))
    assert not env.network
    assert env.script == "agi_recorder.py"
    assert env.query == {}
    assert env.dialed_number == "500"  # agi_dnid is "unknown" on Local channels
    assert env.get("version") == "22.10.1"


@pytest.mark.parametrize(
    "lines",
    [
        [""],  # nothing before the end
        ["GET / HTTP/1.1", ""],  # not AGI at all
        ["agi_callerid 5551234", ""],  # no colon
        ["AGI_CALLERID: 5551234", ""],  # keys are lower case
        ["agi_callerid: 1"],  # never ended
        [f"agi_x{i}: y" for i in range(MAX_ENVIRONMENT_LINES + 1)] + [""],
    ],
)
def test_malformed_environment_is_refused(lines):
    with pytest.raises(HeaderError):
        parse_environment(lines)


@pytest.mark.parametrize(
    "target",
    [
        "caller_lookup",
        "/caller_lookup/",
        "scripts/caller_lookup",
        "caller_lookup?number=5551234&x=1",
        "caller_lookup#part",
        "caller lookup",  # a blank: not the fast path
        "caller_lookup\t",  # urlsplit drops tabs
        "",
    ],
)
def test_script_and_query_read_as_urlsplit_reads_them(target):
    # Script and query skip urlsplit for plain names (it is slow); they must agree with it.
    env = parse_environment(["agi_network: yes", f"agi_network_script: {target}", ""])
    url = urlsplit("agi://h/" + target)
    assert env.script == url.path.strip("/")
    assert env.query == dict(parse_qsl(url.query))


def test_a_header_key_seen_before_is_still_refused_without_its_colon():
    # Checked keys are remembered (the check costs most of a header line); the colon is not.
    parse_environment(["agi_callerid: 5551234", ""])
    with pytest.raises(HeaderError):
        parse_environment(["agi_callerid", ""])
    with pytest.raises(HeaderError):
        parse_environment(["agi_callerid 5551234", ""])


def test_made_up_header_keys_do_not_grow_the_remembered_keys_without_end():
    for batch in range(10):
        parse_environment([f"agi_made_up_{batch}_{i}: x" for i in range(100)] + [""])
    assert len(protocol._KNOWN_KEYS) <= protocol._MAX_KNOWN_KEYS


def test_values_are_quoted_with_blanks_quotes_and_unicode_kept():
    value = "value with spaces, \"double\" and 'single' quotes 张"
    # The exact line of the trace (agi_classic.jsonl, t=0.502362).
    assert format_command("SET VARIABLE", "CC_SET", value) == (
        'SET VARIABLE CC_SET "value with spaces, \\"double\\" and \'single\' quotes 张"'
    )
    assert (
        format_command("STREAM FILE", "queue-thereare", "5#") == 'STREAM FILE queue-thereare "5#"'
    )
    assert format_command("SAY DIGITS", "42", "") == 'SAY DIGITS 42 ""'
    assert format_command("GET FULL VARIABLE", "${CALLERID(name)}") == (
        "GET FULL VARIABLE ${CALLERID(name)}"
    )
    assert quote("back\\slash") == '"back\\\\slash"'


def test_a_line_break_in_a_value_cannot_start_a_second_command():
    line = format_command("SET VARIABLE", "CC_NAME", "x\nEXEC System rm")
    assert "\n" not in line
    assert line == 'SET VARIABLE CC_NAME "x EXEC System rm"'


def test_verbs_are_ours_only():
    with pytest.raises(ValueError, match="verb"):
        format_command("SET VARIABLE\nEXEC", "x")


def test_success_replies_with_data_and_extras():
    get, empty, stream, digits, data_paren = _replies([
        "200 result=1 (hello world)",
        "200 result=1 ()",
        "200 result=53 endpos=8640",
        "200 result=123",
        "200 result=1 (a (b) c)) endpos=5",
    ])  # fmt: skip
    assert (get.code, get.result, get.data) == (200, "1", "hello world")  # type: ignore[attr-defined]
    assert empty.data == ""  # type: ignore[attr-defined]
    assert stream.number == 53  # type: ignore[attr-defined]
    assert stream.extras == {"endpos": "8640"}  # type: ignore[attr-defined]
    assert digits.data is None  # type: ignore[attr-defined]
    assert data_paren.data == "a (b) c)"  # type: ignore[attr-defined]


def test_usage_block_is_one_reply_and_hangup_is_a_notice():
    reader = ReplyReader()
    lines = [
        "HANGUP",
        "520-Invalid command syntax.  Proper usage follows:",
        "Stream the given <replaceable>file</replaceable>, and receive DTMF data.",
        "Returns the digits received from the channel at the other end.",
        "520 End of proper usage.",
        "510 Invalid or unknown command",
        "511 Command Not Permitted on a dead channel or intercept routine",
    ]
    replies = [reply for line in lines if (reply := reader.feed(line)) is not None]
    assert reader.hangup_seen
    assert [r.code for r in replies] == [Code.USAGE, Code.INVALID_COMMAND, Code.DEAD_CHANNEL]
    assert len(replies[0].usage) == 2


@pytest.mark.parametrize("line", ["", "201 ok", "hello", "200 result=1 (unclosed"])
def test_junk_replies_are_errors(line):
    with pytest.raises(ReplyError):
        ReplyReader().feed(line)


def test_a_header_fed_in_one_go_reads_as_fed_line_by_line():
    lines = header_of(load_transcript("agi_fast.jsonl")) if TRACES.exists() else [
        "agi_network: yes", "agi_calleridname: O'Brien \"VIP\" 张", "agi_arg_1: arg1", ""
    ]  # fmt: skip
    whole = EnvironmentParser()
    assert whole.feed_lines(lines)
    one_by_one = EnvironmentParser()
    assert [one_by_one.feed(line) for line in lines] == [False] * (len(lines) - 1) + [True]
    assert whole.environment() == one_by_one.environment()
    with pytest.raises(HeaderError, match="already complete"):
        EnvironmentParser().feed_lines(["agi_x: 1", "", "agi_y: 2"])
    with pytest.raises(HeaderError, match="not an agi_"):
        EnvironmentParser().feed_lines(["agi_x: 1", "agi_y 2", ""])
