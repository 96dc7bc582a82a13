"""``outage_notice`` over FastAGI, and ``callcenter outage declare|end|list``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from agi_scripts.runner import ScriptContext
from callcenter.cli import main
from callcenter.store import Store
from callcenter.store.accounts import Account, import_accounts
from callcenter.store.outages import declare_outage
from tests.agi.keypad import Clock, Keypad, SlowStore, call, serving

NOW = 1_795_753_044.0
FALLBACK = "queue:service-desk"


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "cc.db") as store:
        await import_accounts(
            store,
            [
                Account("10002000", "5551234", area="021"),
                Account("20002000", "5559999", area="021"),
                Account("20002001", "5559999", area="010"),  # two areas: asked
            ],
            at=0.0,
        )
        await declare_outage(
            store, "021", starts_at=NOW - 600, notice="Substation 3 tripped; crews on site",
            at=NOW - 600, expected_end_at=NOW + 3600, households=12_000,
        )  # fmt: skip
        yield store


@pytest.fixture
async def server(store) -> AsyncIterator[object]:
    context = ScriptContext(store=store, clock=Clock(NOW), fallback=FALLBACK)
    async with serving(context) as served:
        yield served


OUTAGE = {
    "CC_OUTAGE": "1",
    "CC_OUTAGE_AREA": "021",
    "CC_OUTAGE_NOTICE": "Substation 3 tripped; crews on site",
    "CC_OUTAGE_ID": "1",
    "CC_OUTAGE_GRADE": "2",
    "CC_OUTAGE_END": f"{NOW + 3600:.0f}",
    "CC_STATUS": "ok",
}


async def test_area_from_the_callers_account_hears_the_notice_and_the_end(server):
    caller = await call(server, Keypad([]), "outage_notice", callerid="5551234")
    assert caller.variables == OUTAGE
    assert caller.played == [
        "cc/outage-in-your-area",
        "cc/outage-expected-end",
        f"SAY DATETIME {NOW + 3600:.0f}",
    ]


async def test_area_from_account_lookup_earlier_in_the_call(server):
    keypad = Keypad([], {"CC_ACCOUNT_AREA": "021"})
    caller = await call(server, keypad, "outage_notice?play=0", callerid="unknown")
    assert caller.variables["CC_OUTAGE"] == "1"
    assert caller.played == []


async def test_area_keyed_by_a_caller_with_accounts_in_two_areas(server):
    caller = await call(server, Keypad(["010"]), "outage_notice", callerid="5559999")
    assert caller.played == ["cc/outage-enter-area"]
    assert caller.variables == {"CC_OUTAGE": "0", "CC_OUTAGE_AREA": "010", "CC_STATUS": "ok"}


async def test_area_given_by_the_dialplan(server):
    assert (await call(server, Keypad([]), "outage_notice?area=021")).variables == OUTAGE
    given = await call(server, Keypad([]), "outage_notice", arg_1="010")
    assert given.variables["CC_OUTAGE"] == "0"


async def test_junk_and_over_long_area_codes_are_asked_again(server):
    keyed = ["*", "12345678901", "021"]
    caller = await call(server, Keypad(keyed), "outage_notice", callerid="unknown")
    assert caller.variables["CC_OUTAGE"] == "1"
    assert caller.played[:4] == [
        "cc/outage-enter-area",
        "cc/outage-invalid-area",
        "cc/outage-enter-area",
        "cc/outage-invalid-area",
    ]


@pytest.mark.parametrize("area", ["021' OR '1'='1", "021;DROP"])
async def test_hostile_area_argument_is_no_area(server, area):
    caller = await call(server, Keypad([]), "outage_notice", arg_1=area)
    assert caller.variables == {"CC_OUTAGE": "0", "CC_STATUS": "unknown"}


async def test_no_area_and_no_asking(server):
    caller = await call(server, Keypad([]), "outage_notice?ask=0", callerid="unknown")
    assert caller.variables == {"CC_OUTAGE": "0", "CC_STATUS": "unknown"}


async def test_caller_hangs_up_during_the_notice(server):
    keypad = Keypad([], hang_up_before="STREAM FILE")
    caller = await call(server, keypad, "outage_notice?area=021")
    assert caller.commands[-1].startswith("STREAM FILE")


async def test_caller_hangs_up_while_keying_the_area(server):
    caller = await call(server, Keypad([]), "outage_notice", callerid="unknown")
    assert caller.hung_up
    assert caller.variables == {}


async def test_slow_store_falls_back():
    context = ScriptContext(store=cast(Store, SlowStore()), db_timeout=0.1, fallback=FALLBACK)
    async with serving(context) as server:
        caller = await asyncio.wait_for(call(server, Keypad([]), "outage_notice?area=021"), 3)
    assert caller.variables == {"CC_STATUS": "fallback", "CC_ROUTE": FALLBACK}


def test_outage_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(tmp_path / "cc.db")]
    declare = ["outage", "declare", "--area", "021", "--notice", "Feeder 3 down", *db]
    assert main([*declare, "--households", "1500", "--start", "2026-11-27T08:00",
                 "--expected-end", "2026-11-27T12:00"]) == 0  # fmt: skip
    assert "outage 1 declared in area 021, grade 3 (serious)" in capsys.readouterr().out
    assert main(["outage", "list", *db]) == 0
    listing = capsys.readouterr().out
    assert "2026-11-27 08:00" in listing
    assert "2026-11-27 12:00" in listing
    assert "Feeder 3 down" in listing
    assert main(["outage", "end", "1", *db]) == 0
    assert main(["outage", "end", "1", *db]) == 1
    capsys.readouterr()
    assert main(["outage", "list", *db]) == 0
    assert "Feeder 3 down" not in capsys.readouterr().out
    assert main(["outage", "list", "--all", *db]) == 0
    assert "Feeder 3 down" in capsys.readouterr().out
    assert main([*declare, "--prompt", "../x"]) == 1
    assert "not a sound name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["outage", "declare", "--area", "02a", "--notice", "x", *db])
