"""The dialplan scripts over FastAGI, against a SQLite store and the sample configuration."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import text

from agi_scripts.catalog import SCRIPTS
from agi_scripts.fastagi import FastAgiServer
from agi_scripts.runner import ScriptContext
from callcenter.config import load_config
from callcenter.store import Store
from tests.agi.peer import channel, environment_lines, fake_call

QUEUES = Path(__file__).resolve().parents[2] / "queues"
# Wednesday 2026-03-04 10:00 in Shanghai: the hotline is open.
OPEN = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()
NIGHT = OPEN + 14 * 3600  # midnight: closed
FALLBACK = "queue:service-desk"


@pytest.fixture(scope="module")
def config() -> Any:
    return load_config(QUEUES)


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "cc.db") as store:
        await store.upsert_customer("5551234", name='O\'Brien "VIP" 张', vip=True, language="zh")
        await store.add_customer_tag("5551234", "repeat")
        await store.add_customer_tag("5551234", "complaint")
        await store.upsert_interaction("old-1", caller_number="5551234", agent="1001", arrived_at=1)
        await store.upsert_interaction("old-2", caller_number="5551234", agent="1002", arrived_at=2)
        yield store


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def served(store, config) -> AsyncIterator[tuple[FastAgiServer, ScriptContext, Clock]]:
    clock = Clock(OPEN)
    context = ScriptContext(store=store, config=config, clock=clock, fallback=FALLBACK)
    server = FastAgiServer(SCRIPTS, context, header_timeout=1.0, reply_timeout=1.0)
    await server.start("127.0.0.1", 0)
    yield server, context, clock
    await server.close()


async def _call(server: FastAgiServer, script: str, **env: str) -> dict[str, str]:
    variables: dict[str, str] = {}
    await fake_call(
        server.port, script, channel(variables), header=environment_lines(script, **env)
    )
    return variables


async def test_caller_lookup_sets_the_customer_profile(served):
    server, _, _ = served
    assert await _call(server, "caller_lookup") == {
        "CC_CUSTOMER_NAME": 'O\'Brien "VIP" 张',
        "CC_CUSTOMER_TAGS": "complaint,repeat",
        "CC_VIP": "1",
        "CC_LANG": "zh",
        "CC_LAST_AGENT": "1002",
        "CC_STATUS": "ok",
    }


@pytest.mark.parametrize("number", ["5550000", "' OR 1=1 --", "5551234'; DROP TABLE customers;--"])
async def test_unknown_or_hostile_caller_number_is_just_unknown(served, store, number):
    server, _, _ = served
    assert await _call(server, "caller_lookup", callerid=number) == {
        "CC_STATUS": "unknown",
        "CC_VIP": "0",
    }
    assert (await store.get_customer("5551234")) is not None


async def test_withheld_number_is_unknown_without_a_lookup(served):
    server, _, _ = served
    assert (await _call(server, "caller_lookup", callerid="unknown"))["CC_STATUS"] == "unknown"


async def test_slow_store_falls_back_and_the_call_moves_on(config):
    class SlowStore:
        @asynccontextmanager
        async def reading(self) -> AsyncIterator[None]:
            await asyncio.sleep(30)
            yield None

    context = ScriptContext(
        store=cast(Store, SlowStore()), config=config, db_timeout=0.1, fallback=FALLBACK
    )
    server = FastAgiServer(SCRIPTS, context)
    await server.start("127.0.0.1", 0)
    try:
        variables = await asyncio.wait_for(_call(server, "caller_lookup"), 3)
    finally:
        await server.close()
    assert variables == {"CC_STATUS": "fallback", "CC_ROUTE": FALLBACK}


async def test_a_failing_store_read_falls_back(served, store, caplog):
    # caller_lookup reads SQLite straight in the event loop (no await, no timeout to arm):
    # a driver error there must still end in the fallback route, like a slow store, as an
    # expected failure (a warning, no traceback).
    async with store.transaction() as tx:
        await tx.conn.execute(text("DROP TABLE customer_tags"))
    server, _, _ = served
    assert await _call(server, "caller_lookup") == {"CC_STATUS": "fallback", "CC_ROUTE": FALLBACK}
    assert server.stats.outcomes == {"fallback": 1}
    [record] = [r for r in caplog.records if "store failed" in r.getMessage()]
    assert record.levelname == "WARNING"
    assert record.exc_info is None


async def test_dnis_route_sets_entry_and_campaign_and_counts_the_call(served, store):
    server, _, _ = served
    variables = await _call(server, "dnis_route", uniqueid="1795753044.200", extension="4008201002")
    assert variables == {
        "CC_DNIS": "4008201002",
        "CC_ENTRY": "ivr:hotline-main",
        "CC_CAMPAIGN": "cctv1-evening",
        "CC_LANG": "zh",
        "CC_STATUS": "ok",
    }
    counted = await store.get_interaction("1795753044.200")
    assert counted is not None
    assert (counted.dnis, counted.campaign, counted.arrived_at) == (
        "4008201002",
        "cctv1-evening",
        OPEN,
    )


async def test_dnis_route_takes_the_number_from_the_argument(served):
    server, _, _ = served
    variables = await _call(server, "dnis_route", arg_1="4008201888")
    assert variables["CC_ENTRY"] == "queue:vip"


async def test_unknown_dialed_number_goes_to_the_fallback(served):
    server, _, _ = served
    variables = await _call(server, "dnis_route", extension="999")
    assert variables == {"CC_DNIS": "999", "CC_ENTRY": FALLBACK, "CC_STATUS": "unknown"}


async def test_business_hours_open_and_closed(served):
    server, _, clock = served
    assert (await _call(server, "business_hours", extension="4008201002"))["CC_OPEN"] == "1"
    clock.now = NIGHT
    closed = await _call(server, "business_hours", extension="4008201002")
    assert closed["CC_OPEN"] == "0"
    assert closed["CC_ROUTE"] == "announcement:hotline-closed"


async def test_fault_line_is_always_open(served):
    server, _, clock = served
    clock.now = NIGHT
    assert (await _call(server, "business_hours", extension="02160001100"))["CC_OPEN"] == "1"


async def test_enqueue_from_the_entry_with_vip_priority(served):
    server, _, _ = served
    variables = {"CC_ENTRY": "queue:sales", "CC_VIP": "1"}
    await fake_call(server.port, "enqueue", channel(variables))
    assert variables["CC_QUEUE"] == "sales"
    assert variables["CC_PRIORITY"] == "10"
    assert float(variables["CC_ENQUEUED_AT"]) == OPEN


@pytest.mark.parametrize("script", ["enqueue?queue=nonesuch", "enqueue?queue=;DROP"])
async def test_enqueue_refuses_an_unknown_queue(served, script):
    server, _, _ = served
    variables: dict[str, str] = {}
    await fake_call(server.port, script, channel(variables))
    assert variables == {"CC_STATUS": "unknown", "CC_ROUTE": FALLBACK}
