"""Several channel variables in one ``EXEC MSet``: one round trip, every value intact.

Values come from customers' records and callers (names, tags), so whatever they hold —
commas, ``=``, quotes, backslashes, brackets, ``${...}``, line breaks — must arrive as the
value, never split into other variables or evaluated. Read back here the way Asterisk reads
it (``asterisk_parsing``, ports of its C); ``tests/asterisk/test_agi_dialplan.py`` does the
same against a real Asterisk.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agi_scripts.catalog import SCRIPTS
from agi_scripts.fastagi import FastAgiServer
from agi_scripts.protocol import (
    MAX_LINE,
    MSET_MAX_PAIRS,
    format_command,
    mset_data,
    parse_environment,
)
from agi_scripts.runner import ScriptContext
from agi_scripts.session import AgiSession
from callcenter.store import Store
from tests.agi.asterisk_parsing import agi_words, mset, separate_args
from tests.agi.peer import channel, environment_lines, fake_call

HOSTILE = [
    "Smith, John",
    "x=y,CC_VIP=1",  # would set CC_VIP if the comma split
    'O\'Brien "VIP" 张',
    '"quoted"',
    "back\\slash and trailing\\",
    "a(b,c)d[e,f]g",
    'unbalanced ( [ " , and )',
    "] ) closing first, CC_STATUS=ok",
    "\\,\\=\\\\",
    "=leading equals",
    "  blanks around  ",
    "",
]
NAMES = [*HOSTILE, "${CALLERID(num)} $[1+1]", "two\nlines"]
# Line breaks cannot be carried by an AGI command line: they become blanks (format_command),
# so a value can never start a second command.
SANITIZED = str.maketrans({"\r": " ", "\n": " ", "\0": " "})


def _as_asterisk_reads(line: str) -> dict[str, str]:
    words = agi_words(line)
    assert words[:2] == ["EXEC", "MSet"]
    assert len(words) == 3, words
    return mset(words[2])


def test_the_ported_parser_does_what_msets_documentation_says():
    # pbx_variables.c: MSet "strips surrounding double-quotes from the right-hand side";
    # "If you need to put a separator character (comma ...), you will need to escape them
    # by inserting a backslash before them."
    assert mset('A="x y",B=2') == {"A": "x y", "B": "2"}
    assert mset("A=a\\,b") == {"A": "a,b"}
    assert mset("A=a,b") == {"A": "a"}  # "b" has no "=": ignored
    assert mset("A=f(x,y),B=1") == {"A": "f(x,y)", "B": "1"}  # no split inside (...)
    assert separate_args("a,b,", ",", True, 99) == ["a", "b", ""]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_arrives_whole_and_alone(value):
    values = {"CC_CUSTOMER_NAME": value, "CC_VIP": "0", "CC_STATUS": "ok"}
    line = format_command("EXEC", "MSet", mset_data(values))
    assert _as_asterisk_reads(line) == values


@given(st.dictionaries(st.from_regex(r"CC_[A-Z_]{1,12}", fullmatch=True), st.text(), min_size=1,
                       max_size=8))  # fmt: skip
def test_any_values_arrive_as_given_but_line_breaks(values):
    line = format_command("EXEC", "MSet", mset_data(values))
    assert "\n" not in line
    assert _as_asterisk_reads(line) == {k: v.translate(SANITIZED) for k, v in values.items()}


def test_line_breaks_become_blanks():
    line = format_command("EXEC", "MSet", mset_data({"A": "x\nEXEC System rm", "B": "1\r\n"}))
    assert _as_asterisk_reads(line) == {"A": "x EXEC System rm", "B": "1  "}


def test_only_our_variable_names_and_as_many_pairs_as_mset_takes():
    for name in ("CC X", "CC=X", "CC,X", "", "1CC", "CC(X)"):
        with pytest.raises(ValueError, match="variable name"):
            mset_data({name: "1"})
    with pytest.raises(ValueError, match="MSet takes"):
        mset_data({})
    with pytest.raises(ValueError, match="MSet takes"):
        mset_data({f"CC_{i}": "1" for i in range(MSET_MAX_PAIRS + 1)})


class _Wire:
    """Lines for a session: answers each command like a live channel, keeps what was sent."""

    def __init__(self) -> None:
        self.variables: dict[str, str] = {}
        self.sent: list[str] = []
        self._respond = channel(self.variables)
        self._replies: list[str] = []

    async def read_line(self, deadline: float | None = None) -> str:
        return self._replies.pop(0)

    async def write_line(self, line: str) -> None:
        self.sent.append(line)
        self._replies.extend(self._respond(line))


async def _set(values: dict[str, str]) -> _Wire:
    wire = _Wire()
    session = AgiSession(parse_environment(environment_lines("x")), wire)
    await session.set_variables(values)
    return wire


async def test_several_variables_are_one_command_and_one_goes_as_set_variable():
    several = await _set({"CC_A": "1", "CC_B": "x, y", "CC_C": "3"})
    assert several.variables == {"CC_A": "1", "CC_B": "x, y", "CC_C": "3"}
    assert [line.split(" ")[:2] for line in several.sent] == [["EXEC", "MSet"]]
    one = await _set({"CC_A": "1"})
    assert one.sent == ["SET VARIABLE CC_A 1"]


async def test_a_value_with_a_dollar_goes_by_set_variable_which_never_evaluates_it():
    # EXEC evaluates ${...} when the channel has AGIEXECFULL=yes (res_agi.c handle_exec);
    # SET VARIABLE never does (handle_setvariable).
    values = {"CC_A": "1", "CC_NAME": "${SHELL(rm -rf /)}", "CC_B": "$[1+1]", "CC_C": "2"}
    wire = await _set(values)
    assert wire.variables == values
    assert [line for line in wire.sent if "$" in line] == [
        'SET VARIABLE CC_NAME "${SHELL(rm -rf /)}"',
        'SET VARIABLE CC_B "$[1+1]"',
    ]
    assert len(wire.sent) == 3  # CC_A and CC_C together


async def test_long_values_are_spread_over_lines_asterisk_can_take():
    values = {f"CC_{i}": "\\" * 700 + f",{i}" for i in range(12)}
    wire = await _set(values)
    assert wire.variables == values
    assert len(wire.sent) > 1
    assert all(len(line.encode()) < MAX_LINE for line in wire.sent)


@pytest.fixture
async def server(tmp_path):
    async with await Store.open(tmp_path / "cc.db") as store:
        for index, name in enumerate(NAMES):
            await store.upsert_customer(f"555{index:04d}", name=name, vip=index % 2 == 0)
            await store.add_customer_tag(f"555{index:04d}", "a,b=c")
        server = FastAgiServer(SCRIPTS, ScriptContext(store=store), reply_timeout=2.0)
        await server.start("127.0.0.1", 0)
        yield server
        await server.close()


async def test_caller_lookup_sets_hostile_customer_names_intact_in_one_round_trip(server):
    for index, name in enumerate(NAMES):
        variables: dict[str, str] = {}
        # The caller's own name (from the carrier, raw in the header) is hostile too.
        header = environment_lines("caller_lookup", callerid=f"555{index:04d}",
                                   calleridname=name.translate(SANITIZED))  # fmt: skip
        sent = await asyncio.wait_for(
            fake_call(server.port, "caller_lookup", channel(variables), header=header), 5
        )
        expected = {"CC_CUSTOMER_TAGS": "a,b=c", "CC_VIP": "1" if index % 2 == 0 else "0",
                    "CC_STATUS": "ok"}  # fmt: skip
        if name:
            expected["CC_CUSTOMER_NAME"] = name.translate(SANITIZED)
        assert variables == expected, sent
        # One command for the whole profile; a name with "$" has one of its own.
        assert len(sent) == (2 if "$" in name else 1), sent
