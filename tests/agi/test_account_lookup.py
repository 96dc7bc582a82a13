"""``account_lookup`` over FastAGI: the caller keys an account number, hears it and its figures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest

from agi_scripts.account_lookup import balance_text
from agi_scripts.runner import ScriptContext
from callcenter.store import Store
from callcenter.store.accounts import Account, import_accounts
from tests.agi.keypad import Keypad, SlowStore, call, serving
from tests.agi.peer import channel, environment_lines, fake_call

FALLBACK = "queue:service-desk"


@pytest.fixture
async def server(tmp_path) -> AsyncIterator[object]:
    async with await Store.open(tmp_path / "cc.db") as store:
        await import_accounts(
            store,
            [
                Account("10002000", "5551234", "O'Brien", -123450, "shipped", "021"),
                Account("10002001", None, "", 300, None, None),
                Account("10002002", None, "", None, "../../etc/passwd", None),
            ],
            at=0.0,
        )
        async with serving(ScriptContext(store=store, fallback=FALLBACK)) as served:
            yield served


@pytest.mark.parametrize(
    ("cents", "text"), [(-123450, "-1234.50"), (300, "3.00"), (5, "0.05"), (0, "0.00")]
)
def test_balance_text(cents, text):
    assert balance_text(cents) == text


async def test_arrears_are_set_and_said_with_the_account_number_first(server):
    caller = await call(server, Keypad(["10002000"]), "account_lookup")
    assert caller.variables == {
        "CC_ACCOUNT_RESULT": "found",
        "CC_ACCOUNT_NUMBER": "10002000",
        "CC_ACCOUNT_BALANCE": "-1234.50",
        "CC_ACCOUNT_ORDER_STATUS": "shipped",
        "CC_ACCOUNT_AREA": "021",
        "CC_ACCOUNT_HOLDER": "O'Brien",
        "CC_STATUS": "ok",
    }
    assert caller.played == [
        "cc/acct-enter-number",
        "cc/acct-account",
        "SAY DIGITS 10002000",
        "cc/acct-arrears-are",
        "SAY NUMBER 1234",
        "cc/acct-yuan",
        "SAY NUMBER 50",
        "cc/acct-fen",
    ]
    assert caller.commands[0] == "GET DATA cc/acct-enter-number 8000 21"


async def test_whole_balance_has_no_cents(server):
    caller = await call(server, Keypad(["10002001"]), "account_lookup")
    assert caller.played[-3:] == ["cc/acct-balance-is", "SAY NUMBER 3", "cc/acct-yuan"]


async def test_order_status_is_played_by_name(server):
    caller = await call(server, Keypad(["10002000"]), "account_lookup?what=order")
    assert caller.played[-1] == "cc/order-shipped"


async def test_a_status_that_is_no_file_name_is_not_played(server):
    caller = await call(server, Keypad(["10002002"]), "account_lookup?what=order")
    assert caller.played[-1] == "cc/order-none"


async def test_unknown_account(server):
    caller = await call(server, Keypad(["99999999"]), "account_lookup")
    assert caller.variables == {"CC_ACCOUNT_RESULT": "unknown", "CC_STATUS": "ok"}
    assert caller.played[-1] == "cc/acct-unknown"


async def test_junk_and_over_long_entries_are_asked_again(server):
    keyed = ["*1#", "123456789012345678901", "", "10002001"]
    caller = await call(server, Keypad(keyed), "account_lookup?tries=4")
    assert caller.variables["CC_ACCOUNT_RESULT"] == "found"
    assert caller.played[:6] == [
        "cc/acct-enter-number",
        "cc/acct-invalid-number",
        "cc/acct-enter-number",
        "cc/acct-invalid-number",
        "cc/acct-enter-number",
        "cc/acct-no-input",
    ]


async def test_only_junk_ends_invalid(server):
    caller = await call(server, Keypad(["1", "2", "3"]), "account_lookup")
    assert caller.variables == {"CC_ACCOUNT_RESULT": "invalid", "CC_STATUS": "ok"}
    assert caller.played[-1] == "cc/acct-goodbye"


async def test_caller_hangs_up_while_the_balance_is_said(server):
    caller = await call(server, Keypad(["10002000"], hang_up_before="SAY NUMBER"), "account_lookup")
    assert caller.commands[-1].startswith("SAY NUMBER")  # 511: nothing after it


async def test_caller_hangs_up_at_the_prompt(server):
    caller = await call(server, Keypad([]), "account_lookup")
    assert caller.hung_up
    assert caller.variables == {}
    # GET DATA's -1 is told apart from a missing prompt by one probe, refused with 511.
    assert caller.commands[1:] == ["CHANNEL STATUS"]


@pytest.mark.parametrize("hostile", ["1' OR '1'='1", "10002000; DROP TABLE accounts"])
async def test_hostile_entry_never_reaches_the_store_as_sql(server, hostile):
    # GET DATA gives digits only from a real keypad; a hostile peer could send anything.
    variables: dict[str, str] = {}
    respond = channel(variables)

    def keyed(line: str) -> list[str]:
        if line.startswith("GET DATA"):
            return [f"200 result={hostile.replace(' ', '')}"]
        return respond(line)

    header = environment_lines("account_lookup")
    await fake_call(server.port, "account_lookup", keyed, header=header)
    assert variables == {"CC_ACCOUNT_RESULT": "invalid", "CC_STATUS": "ok"}
    again = await call(server, Keypad(["10002000"]), "account_lookup")
    assert again.variables["CC_ACCOUNT_RESULT"] == "found"


async def test_slow_store_falls_back():
    context = ScriptContext(store=cast(Store, SlowStore()), db_timeout=0.1, fallback=FALLBACK)
    async with serving(context) as server:
        caller = await asyncio.wait_for(call(server, Keypad(["10002000"]), "account_lookup"), 3)
    assert caller.variables == {
        "CC_ACCOUNT_RESULT": "unavailable",
        "CC_STATUS": "fallback",
        "CC_ROUTE": FALLBACK,
    }
