"""``authenticity_check`` over FastAGI against a SQLite store, with a fake caller keying."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest

from agi_scripts.authenticity_check import RATE_LIMIT
from agi_scripts.catalog import SCRIPTS
from agi_scripts.dtmf import keyed_digits
from agi_scripts.fastagi import FastAgiServer
from agi_scripts.runner import ScriptContext
from callcenter.store import Store
from callcenter.store.codes import ProductCode, RateLimit, checks_since, get_code, import_codes
from tests.agi.keypad import Clock, Keypad, SlowStore
from tests.agi.peer import environment_lines, fake_call

NOW = 1_795_753_044.0
FALLBACK = "queue:service-desk"
CODE = "1234567890123456"


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "cc.db") as store:
        await import_codes(
            store,
            [ProductCode(CODE, "Tea 250 g", "B7"), ProductCode("7777777777777777", "Kettle")],
            at=NOW - 86_400,
        )
        yield store


@pytest.fixture
async def served(store) -> AsyncIterator[tuple[FastAgiServer, Clock]]:
    clock = Clock(NOW)
    context = ScriptContext(
        store=store, clock=clock, fallback=FALLBACK, extras={RATE_LIMIT: RateLimit(3, 600.0)}
    )
    server = FastAgiServer(SCRIPTS, context, header_timeout=1.0, reply_timeout=1.0)
    await server.start("127.0.0.1", 0)
    yield server, clock
    await server.close()


async def _call(
    server: FastAgiServer, keypad: Keypad, script: str = "authenticity_check", **env: str
) -> Keypad:
    await fake_call(server.port, script, keypad, header=environment_lines(script, **env))
    return keypad


async def test_first_check_is_genuine_and_records_when_and_who(served, store):
    server, _ = served
    caller = await _call(server, Keypad([CODE]), callerid="13800138000")
    assert caller.variables == {
        "CC_AUTH_RESULT": "genuine",
        "CC_AUTH_PRODUCT": "Tea 250 g",
        "CC_STATUS": "ok",
    }
    assert caller.played == ["cc/auth-enter-code", "cc/auth-genuine"]
    assert caller.commands[0] == "GET DATA cc/auth-enter-code 8000 17"  # one digit more
    code = await get_code(store, CODE)
    assert code is not None
    assert (code.first_checked_at, code.first_checked_by, code.check_count) == (
        NOW,
        "13800138000",
        1,
    )


async def test_second_check_says_already_checked_with_the_first_date(served, store):
    server, clock = served
    await _call(server, Keypad([CODE]), callerid="13800138000")
    clock.now = NOW + 3600
    caller = await _call(server, Keypad([CODE]), callerid="13900139000")
    assert caller.variables["CC_AUTH_RESULT"] == "already_checked"
    assert caller.variables["CC_AUTH_FIRST_CHECKED"] == f"{NOW:.0f}"
    assert caller.played == [
        "cc/auth-enter-code",
        "cc/auth-already-checked",
        f"SAY DATETIME {NOW:.0f}",
    ]
    code = await get_code(store, CODE)
    assert code is not None
    assert (code.first_checked_by, code.check_count) == ("13800138000", 2)


async def test_unknown_code(served):
    server, _ = served
    caller = await _call(server, Keypad(["5555555555"]))
    assert caller.variables == {"CC_AUTH_RESULT": "unknown", "CC_STATUS": "ok"}
    assert caller.played[-1] == "cc/auth-unknown"


@pytest.mark.parametrize(
    ("keyed", "expected"),
    [
        (CODE, CODE),
        ("12345", None),  # too short
        ("12345678901234567", None),  # over-long: one digit past the longest code
        ("123*456789", None),
        ("12A456789", None),
        ("١٢٣٤٥٦٧٨", None),  # digits, but not ASCII ones
        ("", None),
    ],
)
def test_keyed_input_is_plain_digits_of_a_code_length(keyed, expected):
    assert keyed_digits(keyed, 6, 16) == expected


async def test_junk_and_over_long_entries_are_asked_again_without_a_lookup(served, store):
    server, _ = served
    keyed = ["12*4567", "12345678901234567", "", CODE]
    caller = await _call(server, Keypad(keyed), script="authenticity_check?tries=4")
    assert caller.variables["CC_AUTH_RESULT"] == "genuine"
    assert await checks_since(store, "5551234", 0) == 1  # junk is not counted
    assert caller.played == [
        "cc/auth-enter-code",
        "cc/auth-invalid-code",
        "cc/auth-enter-code",
        "cc/auth-invalid-code",
        "cc/auth-enter-code",
        "cc/auth-no-input",
        "cc/auth-enter-code",
        "cc/auth-genuine",
    ]


async def test_only_junk_ends_with_invalid_after_the_tries(served):
    server, _ = served
    caller = await _call(server, Keypad(["*", "#", "**"]), script="authenticity_check?tries=3")
    assert caller.variables == {"CC_AUTH_RESULT": "invalid", "CC_STATUS": "ok"}
    assert caller.played[-1] == "cc/auth-goodbye"


async def test_rate_limit_refuses_politely_then_recovers_after_the_window(served):
    server, clock = served
    for _ in range(3):
        caller = await _call(server, Keypad(["9999999999"]), callerid="5550001")
        assert caller.variables["CC_AUTH_RESULT"] == "unknown"
    refused = await _call(server, Keypad([CODE]), callerid="5550001")
    assert refused.variables == {
        "CC_AUTH_RESULT": "limited",
        "CC_STATUS": "ok",
        "CC_ROUTE": FALLBACK,
    }
    assert refused.played == ["cc/auth-too-many-checks"]  # not even asked for a code
    other = await _call(server, Keypad([CODE]), callerid="5550002")
    assert other.variables["CC_AUTH_RESULT"] == "genuine"  # the limit is per number
    clock.now = NOW + 601
    again = await _call(server, Keypad([CODE]), callerid="5550001")
    assert again.variables["CC_AUTH_RESULT"] == "already_checked"


async def test_refusal_route_can_be_chosen_by_the_dialplan(served):
    server, _ = served
    for _ in range(3):
        await _call(server, Keypad(["9999999999"]), callerid="5550003")
    refused = await _call(
        server, Keypad([]), script="authenticity_check?refuse=announcement:busy", callerid="5550003"
    )
    assert refused.variables["CC_ROUTE"] == "announcement:busy"


async def test_caller_hanging_up_mid_entry_ends_quietly(served, store):
    server, _ = served
    caller = await _call(server, Keypad(["12"]))  # junk, then gone during the second prompt
    assert caller.hung_up
    assert caller.variables == {}
    # GET DATA answered -1, and the probe that tells a hang-up from a missing prompt got
    # HANGUP + 511: nothing more is sent, no fallback on a dead channel.
    assert [c.split(" ")[:2] for c in caller.commands] == [
        ["GET", "DATA"],
        ["STREAM", "FILE"],
        ["GET", "DATA"],
        ["CHANNEL", "STATUS"],
    ]


async def test_caller_gone_before_the_answer_ends_the_script_quietly(served, store):
    server, _ = served
    # The answer's variables go in one EXEC MSet, which Asterisk still runs on a dead
    # channel (exec is permitted dead in res_agi.c): HANGUP, then its 200. The prompt after
    # it gets 511, and the script ends there, without a fallback.
    caller = await _call(server, Keypad([CODE], hang_up_before="EXEC MSet"))
    assert caller.hung_up
    assert [c.split(" ")[:2] for c in caller.commands] == [
        ["GET", "DATA"], ["EXEC", "MSet"], ["STREAM", "FILE"]
    ]  # fmt: skip
    assert caller.variables["CC_AUTH_RESULT"] == "genuine"  # on the dead channel: harmless
    assert server.stats.outcomes == {"hung_up": 1}
    code = await get_code(store, CODE)
    assert code is not None
    assert code.first_checked_at == NOW  # the check itself was made and kept


@pytest.mark.parametrize(
    "hostile", ["' OR 1=1 --", "1234567890123456'; DROP TABLE product_codes;--"]
)
async def test_hostile_caller_number_is_stored_literally(served, store, hostile):
    server, _ = served
    caller = await _call(server, Keypad([CODE]), callerid=hostile)
    assert caller.variables["CC_AUTH_RESULT"] == "genuine"
    code = await get_code(store, CODE)
    assert code is not None
    assert code.first_checked_by == hostile


async def test_slow_store_falls_back_and_never_leaves_the_channel_hanging():
    context = ScriptContext(store=cast(Store, SlowStore()), db_timeout=0.1, fallback=FALLBACK)
    server = FastAgiServer(SCRIPTS, context)
    await server.start("127.0.0.1", 0)
    try:
        caller = await asyncio.wait_for(_call(server, Keypad([CODE])), 3)
    finally:
        await server.close()
    assert caller.variables == {
        "CC_AUTH_RESULT": "unavailable",
        "CC_STATUS": "fallback",
        "CC_ROUTE": FALLBACK,
    }


async def test_no_store_falls_back():
    server = FastAgiServer(SCRIPTS, ScriptContext(fallback=FALLBACK))
    await server.start("127.0.0.1", 0)
    try:
        caller = await _call(server, Keypad([CODE]))
    finally:
        await server.close()
    assert caller.variables == {"CC_STATUS": "fallback", "CC_ROUTE": FALLBACK}
