"""``account_lookup`` against account-number guessing: per caller, per account, overall."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from agi_scripts.account_lookup import GUARD, PROMPT_TOO_MANY
from agi_scripts.fastagi import FastAgiServer
from agi_scripts.guard import GuardLimits, LookupGuard, Refusal
from agi_scripts.runner import ScriptContext
from callcenter.store import Store
from callcenter.store.accounts import Account, import_accounts
from tests.agi.keypad import Clock, Keypad, call, serving

FALLBACK = "queue:service-desk"
KNOWN = "10002000"
NOW = 1_795_753_044.0


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def guard() -> LookupGuard:
    return LookupGuard(GuardLimits(per_caller=3, per_account=4, overall=6, window=600.0))


@pytest.fixture
async def server(tmp_path, clock, guard) -> AsyncIterator[FastAgiServer]:
    async with await Store.open(tmp_path / "cc.db") as store:
        await import_accounts(store, [Account(KNOWN, None, "Li", 300, None, None)], at=0.0)
        context = ScriptContext(store=store, fallback=FALLBACK, clock=clock, extras={GUARD: guard})
        async with serving(context) as served:
            yield served


async def _lookup(server: FastAgiServer, entry: str, caller: str, query: str = "") -> Keypad:
    return await call(server, Keypad([entry]), f"account_lookup{query}", callerid=caller)


def _refused(keypad: Keypad, route: str = FALLBACK) -> bool:
    return keypad.variables == {
        "CC_ACCOUNT_RESULT": "limited", "CC_STATUS": "ok", "CC_ROUTE": route
    } and keypad.played[-1] == PROMPT_TOO_MANY  # fmt: skip


async def test_a_caller_guessing_is_refused_before_being_asked_and_it_is_logged(server, caplog):
    for guess in ("90000001", "90000002", "90000003"):
        assert (await _lookup(server, guess, "13800000001")).variables[
            "CC_ACCOUNT_RESULT"
        ] == "unknown"
    with caplog.at_level(logging.WARNING, logger="agi_scripts.account_lookup"):
        fourth = await _lookup(server, KNOWN, "13800000001", "?refuse=queue:security")
    assert _refused(fourth, "queue:security")
    assert not any(c.startswith("GET DATA") for c in fourth.commands)  # not even asked
    assert "refused (caller): caller 13800000001" in caplog.text
    # Someone else is served as usual.
    other = await _lookup(server, KNOWN, "13900000002")
    assert other.variables["CC_ACCOUNT_RESULT"] == "found"


async def test_junk_entries_count_as_failures(server):
    for _ in range(3):
        junk = await call(server, Keypad(["*", "", "12"]), "account_lookup", callerid="13800000003")
        assert junk.variables["CC_ACCOUNT_RESULT"] == "invalid"
    assert _refused(await _lookup(server, KNOWN, "13800000003"))


async def test_the_window_passes_and_the_caller_may_try_again(server, clock):
    for guess in ("90000001", "90000002", "90000003"):
        await _lookup(server, guess, "13800000004")
    assert _refused(await _lookup(server, KNOWN, "13800000004"))
    clock.now += 601
    assert (await _lookup(server, KNOWN, "13800000004")).variables["CC_ACCOUNT_RESULT"] == "found"


async def test_one_account_probed_from_many_numbers_is_refused_without_saying_if_it_exists(
    server, caplog
):
    for n in range(4):
        found = await _lookup(server, KNOWN, f"1370000000{n}")
        assert found.variables["CC_ACCOUNT_RESULT"] == "found"
    with caplog.at_level(logging.WARNING, logger="agi_scripts.account_lookup"):
        probe = await _lookup(server, KNOWN, "13799999999")
    assert _refused(probe)
    assert "CC_ACCOUNT_NUMBER" not in probe.variables
    assert "refused (account)" in caplog.text
    assert KNOWN not in caplog.text


async def test_guessing_spread_over_many_numbers_is_refused_for_everyone(server):
    for n in range(6):  # one failure each: no single caller reaches per_caller
        await _lookup(server, f"9000000{n}", f"1360000000{n}")
    assert _refused(await _lookup(server, KNOWN, "13500000000"))


async def test_withheld_numbers_share_one_allowance(server):
    for guess in ("90000001", "90000002", "90000003"):
        await _lookup(server, guess, "unknown")  # Asterisk's agi_callerid when withheld
    assert _refused(await _lookup(server, KNOWN, "unknown"))


def test_the_guard_tracks_a_bounded_number_of_callers():
    guard = LookupGuard(GuardLimits(per_caller=1, overall=10**9, max_keys=100))
    for n in range(1000):
        guard.failed(f"caller-{n}", NOW)
    assert guard.refuse_caller("caller-999", NOW) is Refusal.CALLER
    assert guard.refuse_caller("caller-0", NOW) is None  # forgotten, memory stays bounded
    assert len(guard._failures._keys) == 100
