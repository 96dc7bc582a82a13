"""The shipped dialplan on a real Asterisk runs our FastAGI scripts.

A test caller (``Local/<number>@from-test``, see :mod:`tests.asterisk.ari`) runs the
shipped contexts; the test registers the ``callcenter`` Stasis app in the engine's place and
reads over ARI the channel variables the scripts set. The FastAGI server records every line
per channel, so what Asterisk answered is checked too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import pytest

from agi_scripts.runner import Script, ScriptContext
from agi_scripts.session import AgiSession
from ari_app.client import AriClient, AriNotFoundError
from tests.asterisk.agi_server import (
    CODE,
    FALLBACK,
    MISSING_SOUND,
    VIP_NAME,
    VIP_NUMBER,
    ThreadedFastAgi,
)
from tests.asterisk.ari import EventLog, originate_caller
from tests.asterisk.rig import Asterisk, free_port

pytestmark = pytest.mark.asterisk

App = tuple[AriClient, EventLog]
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


async def _variables(client: AriClient, channel: str, *names: str) -> dict[str, str | None]:
    """The channel's variables; None for one never set (ARI answers 404 "Provided variable
    was not found" for those, but "" for one set to the empty string)."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = await client.channels.get_variable(channel, name)
        except AriNotFoundError:
            found[name] = None
    return found


async def _until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll: the conditions are about the FastAGI server's thread, not this loop."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def _sent(fastagi: ThreadedFastAgi, channel: str) -> list[str]:
    return [line for direction, line in fastagi.wire[channel] if direction == "out"]


async def test_inbound_call_reaches_stasis_with_what_the_scripts_found(
    fastagi: ThreadedFastAgi, engine_app: App, caller_app: App
) -> None:
    engine, engine_events = engine_app
    callers, _ = caller_app
    call = await originate_caller(callers, "4008201001", caller_number=VIP_NUMBER)
    start = await engine_events.wait_for(engine_events.of("StasisStart", call.inbound))
    # The variables the engine decides with come along as arguments (entry.py); an unset
    # one arrives as an empty value, not as a missing argument.
    args = start.args  # type: ignore[attr-defined]
    assert args == ("inbound", "4008201001", "CC_QUEUE=", "CC_PRIORITY=", "CC_VIP=1",
                    "CC_LANG=zh")  # fmt: skip
    assert start.channel.language == "zh"  # type: ignore[attr-defined]  # CC_LANG applied
    found = await _variables(engine, call.inbound, "CC_DNIS", "CC_ENTRY", "CC_CAMPAIGN",
                             "CC_LANG", "CC_CUSTOMER_NAME", "CC_CUSTOMER_TAGS", "CC_VIP",
                             "CC_OPEN", "CC_STATUS", "CC_ANNOUNCEMENT")  # fmt: skip
    assert found == {
        "CC_DNIS": "4008201001",
        "CC_ENTRY": "ivr:hotline-main",
        "CC_CAMPAIGN": "packaging",
        "CC_LANG": "zh",
        "CC_CUSTOMER_NAME": VIP_NAME,  # quoted on the wire, raw in the variable
        "CC_CUSTOMER_TAGS": "repeat,wholesale",
        "CC_VIP": "1",
        "CC_OPEN": "1",
        "CC_STATUS": "ok",
        "CC_ANNOUNCEMENT": "",
    }
    # Every command got Asterisk's 200, one command at a time: SET VARIABLE "result=1",
    # EXEC what the application returned, MSet 0 (res_agi.c handle_exec).
    wire = fastagi.wire[call.inbound]
    assert [d for d, _ in wire] == ["out", "in"] * (len(wire) // 2)
    for (_, command), (_, reply) in zip(wire[::2], wire[1::2], strict=True):
        assert reply == ("200 result=0" if command.startswith("EXEC MSet ") else "200 result=1")
    # Each script's variables went in one EXEC MSet: dnis_route, caller_lookup (the whole
    # profile), business_hours; nothing else was sent.
    assert [command.split(" ")[:2] for _, command in wire[::2]] == [["EXEC", "MSet"]] * 3
    await engine.channels.hangup(call.inbound)


#: Customer names as hostile as a CSV import may bring: each must arrive as the value of
#: CC_CUSTOMER_NAME, never split into other variables (MSet splits on "," and "="), never
#: evaluated (``${...}``); line breaks, which no AGI command can carry, arrive as blanks.
HOSTILE_NAMES = {
    "13800000101": 'Smith, John=VIP "x" \\ (a,b) [c] ] ) CC_VIP=1 张',
    "13800000102": '"quoted" and a trailing backslash\\',
    "13800000103": "${CALLERID(num)} $[1+1] ${SHELL(echo hi)}",
    "13800000104": "two\nlines\r\nEXEC Hangup",
}


@pytest.mark.parametrize("exec_full", ["", "yes"])
async def test_hostile_customer_names_arrive_intact(
    fastagi: ThreadedFastAgi, engine_app: App, caller_app: App, exec_full: str
) -> None:
    """Also with ``AGIEXECFULL=yes``, which makes EXEC evaluate ``${...}`` in its data
    (res_agi.c handle_exec): a name holding ``$`` is sent by SET VARIABLE, which never does."""
    engine, engine_events = engine_app
    callers, _ = caller_app
    store = fastagi.server.context.store
    assert store is not None
    for number, name in HOSTILE_NAMES.items():
        fastagi.call(store.upsert_customer(number, name=name, vip=False))
        fastagi.call(store.add_customer_tag(number, "a,b=c"))

    async def one(number: str) -> dict[str, str | None]:
        variables = {"AGIEXECFULL": exec_full} if exec_full else {}
        call = await originate_caller(callers, "4008201001", caller_number=number,
                                      variables=variables)  # fmt: skip
        await engine_events.wait_for(engine_events.of("StasisStart", call.inbound))
        found = await _variables(engine, call.inbound, "CC_CUSTOMER_NAME", "CC_CUSTOMER_TAGS",
                                 "CC_VIP", "CC_STATUS", "AGIEXECFULL")  # fmt: skip
        await engine.channels.hangup(call.inbound)
        return found

    found = await asyncio.gather(*(one(number) for number in HOSTILE_NAMES))
    line_breaks = str.maketrans({"\r": " ", "\n": " "})
    assert found == [
        {"CC_CUSTOMER_NAME": name.translate(line_breaks), "CC_CUSTOMER_TAGS": "a,b=c",
         "CC_VIP": "0", "CC_STATUS": "ok", "AGIEXECFULL": exec_full or None}
        for name in HOSTILE_NAMES.values()
    ]  # fmt: skip


async def test_unknown_number_and_caller_still_reach_stasis_with_the_fallback_entry(
    fastagi: ThreadedFastAgi, engine_app: App, caller_app: App
) -> None:
    engine, engine_events = engine_app
    callers, _ = caller_app
    call = await originate_caller(callers, "4009999999", caller_number="13900000000")
    await engine_events.wait_for(engine_events.of("StasisStart", call.inbound))
    found = await _variables(engine, call.inbound, "CC_ENTRY", "CC_STATUS", "CC_VIP", "CC_OPEN")
    # caller_lookup and business_hours ran after dnis_route; the last status wins.
    assert found == {"CC_ENTRY": FALLBACK, "CC_STATUS": "unknown", "CC_VIP": "0", "CC_OPEN": "1"}
    await engine.channels.hangup(call.inbound)


async def test_agi_server_down_the_call_still_reaches_stasis(
    asterisk: Asterisk, engine_app: App, caller_app: App
) -> None:
    engine, engine_events = engine_app
    callers, _ = caller_app
    working = asterisk.run_cli("dialplan show globals").stdout
    assert "FASTAGI=agi://127.0.0.1:" in working
    asterisk.run_cli(f"dialplan set global FASTAGI agi://127.0.0.1:{free_port()}")
    try:
        call = await originate_caller(callers, "4008201001", caller_number=VIP_NUMBER)
        await engine_events.wait_for(engine_events.of("StasisStart", call.inbound))
        found = await _variables(engine, call.inbound, "AGISTATUS", "CC_ENTRY")
        assert found == {"AGISTATUS": "FAILURE", "CC_ENTRY": None}
        await engine.channels.hangup(call.inbound)
    finally:
        fastagi_line = next(line for line in working.splitlines() if "FASTAGI=" in line)
        asterisk.run_cli(f"dialplan set global FASTAGI {fastagi_line.split('=', 1)[1].strip()}")


async def test_authenticity_check_with_the_callers_dtmf(
    fastagi: ThreadedFastAgi, engine_app: App, caller_app: App
) -> None:
    """DTMF sent by ARI on the Local channel's ``;1`` half reaches ``GET DATA`` on ``;2``."""
    engine, engine_events = engine_app
    callers, caller_events = caller_app
    call = await originate_caller(
        callers, "authenticity", context="callcenter-selfservice",
        caller_number="13700000001", answer=True,
    )  # fmt: skip
    await caller_events.wait_for(caller_events.of("StasisStart", call.caller))
    await _until(lambda: any(line.startswith("GET DATA") for line in _sent(fastagi, call.inbound)))
    # `before`: GET DATA is sent, but Asterisk must be reading digits before they arrive
    # (DTMF reaching the channel between AGI commands is read and dropped by res_agi).
    await callers.channels.send_dtmf(call.caller, CODE + "#", before=300, between=60)
    start = await engine_events.wait_for(engine_events.of("StasisStart", call.inbound))
    assert start.args == ("selfservice", "authenticity")  # type: ignore[attr-defined]
    found = await _variables(engine, call.inbound, "CC_AUTH_RESULT", "CC_AUTH_PRODUCT")
    assert found == {"CC_AUTH_RESULT": "genuine", "CC_AUTH_PRODUCT": "Tea 250 g"}
    replies = [line for d, line in fastagi.wire[call.inbound] if d == "in"]
    assert f"200 result={CODE}" in replies  # '#' ended the entry and is left out
    await engine.channels.hangup(call.inbound)


async def test_caller_hangs_up_during_get_data(fastagi: ThreadedFastAgi, caller_app: App) -> None:
    callers, caller_events = caller_app
    before = fastagi.outcomes().get("hung_up", 0)
    call = await originate_caller(
        callers, "authenticity", context="callcenter-selfservice",
        caller_number="13700000002", answer=True,
    )  # fmt: skip
    await caller_events.wait_for(caller_events.of("StasisStart", call.caller))
    await _until(lambda: any(line.startswith("GET DATA") for line in _sent(fastagi, call.inbound)))
    await callers.channels.hangup(call.caller)
    await _until(lambda: fastagi.outcomes().get("hung_up", 0) == before + 1)
    wire = fastagi.wire[call.inbound]
    get_data = max(i for i, (d, line) in enumerate(wire) if line.startswith("GET DATA"))
    # As the fake peer of tests/agi plays it: -1, then the probe that tells a hang-up from
    # a missing prompt gets the HANGUP notice and 511; nothing more is sent.
    assert wire[get_data + 1 :] == [
        ("in", "200 result=-1"),
        ("out", "CHANNEL STATUS"),
        ("in", "HANGUP"),
        ("in", DEAD),
    ]
    await _until(lambda: fastagi.server.stats.active == 0)


async def test_caller_hangs_up_between_commands_hangup_notice_then_511(
    fastagi: ThreadedFastAgi, caller_app: App
) -> None:
    """The script is busy (a slow lookup, say) when the caller leaves: Asterisk sends
    ``HANGUP``, and the next media command gets 511; the session ends quietly."""
    callers, caller_events = caller_app
    before = fastagi.outcomes().get("hung_up", 0)
    call = await originate_caller(
        callers, "s", context="test-wait-then-play", answer=True,
    )  # fmt: skip
    await caller_events.wait_for(caller_events.of("StasisStart", call.caller))
    await _until(lambda: "SET VARIABLE CC_WAITING 1" in _sent(fastagi, call.inbound))
    await callers.channels.hangup(call.caller)
    await asyncio.sleep(0.3)  # Asterisk notices and sends HANGUP
    fastagi.release()
    await _until(lambda: fastagi.outcomes().get("hung_up", 0) == before + 1)
    wire = fastagi.wire[call.inbound]
    played = wire.index(("out", 'STREAM FILE beep ""'))
    assert wire[played:] == [("out", 'STREAM FILE beep ""'), ("in", "HANGUP"), ("in", DEAD)]


async def test_a_prompt_not_installed_is_skipped_and_the_script_goes_on(
    fastagi: ThreadedFastAgi, engine_app: App, caller_app: App
) -> None:
    """Asterisk answers -1 for a missing file as for a hang-up; the probe tells them apart."""
    engine, engine_events = engine_app
    callers, _ = caller_app
    call = await originate_caller(callers, "s", context="test-play-missing", answer=True)
    await engine_events.wait_for(engine_events.of("StasisStart", call.inbound))
    assert fastagi.wire[call.inbound] == [
        ("out", f'STREAM FILE {MISSING_SOUND} ""'),
        ("in", "200 result=-1 endpos=0"),
        ("out", "CHANNEL STATUS"),
        ("in", "200 result=6"),  # up
        ("out", "SET VARIABLE CC_AFTER 1"),
        ("in", "200 result=1"),
    ]
    assert await _variables(engine, call.inbound, "CC_AFTER") == {"CC_AFTER": "1"}
    await engine.channels.hangup(call.inbound)


async def _set_after_a_pause(session: AgiSession, _context: ScriptContext) -> None:
    """Busy for a second (the test's caller hangs up meanwhile), then sets two variables
    in one EXEC MSet and plays a prompt."""
    await session.set_variable("CC_WAITING", "1")
    await asyncio.sleep(1.0)
    await session.set_variables({"CC_A": "x,y", "CC_B": "2"})
    await session.stream_file("beep")


async def test_exec_runs_on_a_dead_channel_and_media_gets_511(
    asterisk: Asterisk, fastagi: ThreadedFastAgi, caller_app: App
) -> None:
    """What the fake peer (tests/agi/keypad.py, PERMITTED_DEAD) does after a hang-up: EXEC,
    like SET VARIABLE, is still carried out (after the HANGUP notice), a prompt gets 511."""
    callers, caller_events = caller_app
    # A script and a context of this test's own, added to the running server and dialplan.
    scripts = cast(dict[str, Script], fastagi.server.scripts)
    scripts["set_after_a_pause"] = fastagi._recorded(_set_after_a_pause)
    asterisk.run_cli("dialplan add extension s,1,AGI(${FASTAGI}/set_after_a_pause) into "
                     "test-set-after-a-pause replace")  # fmt: skip
    before = fastagi.outcomes().get("hung_up", 0)
    call = await originate_caller(callers, "s", context="test-set-after-a-pause", answer=True)
    await caller_events.wait_for(caller_events.of("StasisStart", call.caller))
    await _until(lambda: "SET VARIABLE CC_WAITING 1" in _sent(fastagi, call.inbound))
    await callers.channels.hangup(call.caller)
    await _until(lambda: fastagi.outcomes().get("hung_up", 0) == before + 1)
    wire = fastagi.wire[call.inbound]
    mset = wire.index(("out", 'EXEC MSet "CC_A=x\\\\,y,CC_B=2"'))
    assert wire[mset + 1 :] == [
        ("in", "HANGUP"),
        ("in", "200 result=0"),
        ("out", 'STREAM FILE beep ""'),
        ("in", DEAD),
    ]
