"""``survey`` over FastAGI: a 1-5 score kept on the original call's interaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest

from agi_scripts.runner import ScriptContext
from callcenter.store import Store
from tests.agi.keypad import Keypad, SlowStore, call, serving

CALL = "1795753044.138"
FALLBACK = "queue:service-desk"


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "cc.db") as store:
        await store.upsert_interaction(CALL, caller_number="5551234", agent="1001")
        yield store


@pytest.fixture
async def server(store) -> AsyncIterator[object]:
    async with serving(ScriptContext(store=store, fallback=FALLBACK)) as served:
        yield served


async def _score(store: Store, call_id: str = CALL) -> int | None:
    found = await store.get_interaction(call_id)
    assert found is not None
    return found.survey_score


async def test_score_is_stored_on_the_original_call(server, store):
    caller = await call(server, Keypad(["4"]), "survey", arg_1=CALL, uniqueid="1795753099.1")
    assert caller.variables == {
        "CC_SURVEY_RESULT": "recorded",
        "CC_SURVEY_SCORE": "4",
        "CC_STATUS": "ok",
    }
    assert caller.played == ["cc/survey-rate-1-to-5", "cc/survey-thanks"]
    assert caller.commands[0] == "GET DATA cc/survey-rate-1-to-5 6000 2"
    assert await _score(store) == 4
    await call(server, Keypad(["2"]), f"survey?call={CALL}")
    assert await _score(store) == 2  # answered again: the last answer counts


@pytest.mark.parametrize("junk", ["0", "9", "*", "45", ""])
async def test_junk_then_a_score(server, store, junk):
    caller = await call(server, Keypad([junk, "5"]), "survey", arg_1=CALL)
    assert caller.variables["CC_SURVEY_SCORE"] == "5"
    assert caller.played[1] == ("cc/survey-no-input" if junk == "" else "cc/survey-invalid")
    assert await _score(store) == 5


async def test_only_junk_stores_nothing(server, store):
    caller = await call(server, Keypad(["7", "0"]), "survey", arg_1=CALL)
    assert caller.variables == {"CC_SURVEY_RESULT": "invalid", "CC_STATUS": "ok"}
    assert await _score(store) is None


async def test_unknown_call_is_not_created(server, store):
    caller = await call(server, Keypad(["3"]), "survey", arg_1="1795753044.999")
    assert caller.variables["CC_SURVEY_RESULT"] == "unknown_call"
    assert await store.get_interaction("1795753044.999") is None


@pytest.mark.parametrize("call_id", ["", "' OR 1=1 --", "x; DROP TABLE interactions", "a" * 65])
async def test_missing_or_hostile_call_id_is_refused_before_asking(server, store, call_id):
    caller = await call(server, Keypad(["5"]), f"survey?call={call_id}")
    assert caller.variables == {"CC_SURVEY_RESULT": "no_call", "CC_STATUS": "unknown"}
    assert caller.played == []
    assert await _score(store) is None


async def test_hostile_call_id_reaches_the_store_only_as_a_value(store):
    hostile = "1'; UPDATE interactions SET survey_score=1; --"
    assert not await store.update_interaction(hostile, survey_score=5)
    assert await _score(store) is None


async def test_caller_hangs_up_instead_of_scoring(server, store):
    caller = await call(server, Keypad([]), "survey", arg_1=CALL)
    assert caller.hung_up
    assert caller.variables == {}
    assert await _score(store) is None


async def test_caller_gone_before_the_thanks_keeps_the_score(server, store):
    caller = await call(server, Keypad(["5"], hang_up_before="EXEC MSet"), "survey", arg_1=CALL)
    assert caller.hung_up
    # EXEC runs on a dead channel too (res_agi.c); the thanks, a prompt, gets 511.
    last = [c.split(" ")[:2] for c in caller.commands[-2:]]
    assert last == [["EXEC", "MSet"], ["STREAM", "FILE"]]
    assert await _score(store) == 5


async def test_slow_store_falls_back():
    context = ScriptContext(store=cast(Store, SlowStore()), db_timeout=0.1, fallback=FALLBACK)
    async with serving(context) as server:
        caller = await asyncio.wait_for(call(server, Keypad(["5"]), "survey", arg_1=CALL), 3)
    assert caller.variables == {
        "CC_SURVEY_RESULT": "unavailable",
        "CC_STATUS": "fallback",
        "CC_ROUTE": FALLBACK,
    }
