"""Interactions, agent legs and customers; caller text is stored literally."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect

from callcenter.store import Interaction, Leg, LegResult, Outcome, Store

HOSTILE = "O'Brien \"VIP\" 张'); DROP TABLE customers;--"


async def test_upsert_creates_then_changes_only_the_fields_given(store: Store) -> None:
    await store.upsert_interaction(
        "c1",
        caller_number="5551234",
        caller_name="Ann",
        dnis="4001",
        campaign="tv",
        arrived_at=100.0,
    )
    await store.upsert_interaction("c1", ivr_path="main>2>1", queue="support", enqueued_at=130.0)
    await store.upsert_interaction("c1", agent="1001", offered_at=131.0, answered_at=136.0)
    assert await store.get_interaction("c1") == Interaction(
        call_id="c1",
        caller_number="5551234",
        caller_name="Ann",
        dnis="4001",
        campaign="tv",
        arrived_at=100.0,
        ivr_path="main>2>1",
        queue="support",
        first_queue="support",
        enqueued_at=130.0,
        agent="1001",
        offered_at=131.0,
        answered_at=136.0,
    )


async def test_first_queue_first_offer_and_arrival_keep_their_first_value(store: Store) -> None:
    await store.upsert_interaction("c1", arrived_at=100.0, queue="support", offered_at=131.0)
    await store.upsert_interaction("c1", arrived_at=999.0, queue="billing", offered_at=200.0)
    assert await store.update_interaction("c1", queue="vip", offered_at=300.0, arrived_at=1.0)
    call = await store.get_interaction("c1")
    assert call is not None
    assert (call.queue, call.first_queue) == ("vip", "support")
    assert (call.arrived_at, call.offered_at) == (100.0, 131.0)


async def test_update_of_an_unknown_call_says_so(store: Store) -> None:
    assert not await store.update_interaction("nobody", outcome=Outcome.ABANDONED)
    await store.upsert_interaction("c1")
    assert await store.update_interaction("c1")
    assert await store.update_interaction("c1", outcome=Outcome.ANSWERED, hold_time=12.5)
    call = await store.get_interaction("c1")
    assert call is not None
    assert (call.outcome, call.hold_time) == ("answered", 12.5)


async def test_unknown_fields_are_refused(store: Store) -> None:
    fields: dict[str, Any] = {"caller": "x"}
    with pytest.raises(TypeError, match="unknown interaction field"):
        await store.upsert_interaction("c1", **fields)
    assert await store.get_interaction("c1") is None


async def test_legs_are_kept_in_offer_order_and_create_the_interaction(store: Store) -> None:
    first = Leg(
        "c1", "1001", offered_at=10.0, result=LegResult.NO_ANSWER, queue="support", ended_at=25.0
    )
    second = Leg(
        "c1", "1002", offered_at=26.0, result=LegResult.ANSWERED, queue="support", answered_at=30.0
    )
    second_id = await store.add_leg(second)
    first_id = await store.add_leg(first)
    assert await store.get_interaction("c1") == Interaction(call_id="c1")
    assert await store.legs("c1") == [
        Leg("c1", "1001", 10.0, "no_answer", "support", None, 25.0, first_id),
        Leg("c1", "1002", 26.0, "answered", "support", 30.0, None, second_id),
    ]
    assert await store.legs("c2") == []


async def test_caller_history_is_newest_first(store: Store) -> None:
    for n, at in enumerate((300.0, 100.0, 200.0)):
        await store.upsert_interaction(f"c{n}", caller_number="5551234", arrived_at=at)
    await store.upsert_interaction("other", caller_number="5559999", arrived_at=400.0)
    history = await store.interactions_of_caller("5551234", limit=2)
    assert [call.call_id for call in history] == ["c0", "c2"]


async def test_hostile_caller_text_is_stored_and_read_back_literally(store: Store) -> None:
    await store.upsert_interaction(
        HOSTILE,
        caller_number=HOSTILE,
        caller_name=HOSTILE,
        ivr_path=HOSTILE,
        notes=HOSTILE,
        disposition=HOSTILE,
        queue=HOSTILE,
    )
    await store.upsert_customer(HOSTILE, name=HOSTILE, notes=HOSTILE, language=HOSTILE)
    await store.add_customer_tag(HOSTILE, HOSTILE)
    await store.add_customer_note(HOSTILE, HOSTILE, author=HOSTILE, at=1.0)

    call = await store.get_interaction(HOSTILE)
    assert call is not None
    assert {
        call.call_id,
        call.caller_number,
        call.caller_name,
        call.ivr_path,
        call.notes,
        call.disposition,
        call.queue,
        call.first_queue,
    } == {HOSTILE}
    customer = await store.get_customer(HOSTILE)
    assert customer is not None
    assert (customer.name, customer.notes, customer.language, customer.tags) == (
        HOSTILE,
        HOSTILE,
        HOSTILE,
        (HOSTILE,),
    )
    [note] = await store.customer_notes(HOSTILE)
    assert (note.text, note.author) == (HOSTILE, HOSTILE)
    async with store.reading() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert "customers" in tables


async def test_customer_upsert_changes_only_the_fields_given(store_url: str) -> None:
    now = [10.0]
    async with await Store.open(store_url, clock=lambda: now[0]) as store:
        created = await store.upsert_customer("5551234", name="Wang Fang", language="zh")
        assert (created.created_at, created.updated_at, created.vip) == (10.0, 10.0, False)
        now[0] = 20.0
        updated = await store.upsert_customer("5551234", vip=True)
        assert (updated.name, updated.language, updated.vip) == ("Wang Fang", "zh", True)
        assert (updated.created_at, updated.updated_at) == (10.0, 20.0)
    assert await store.get_customer("5550000") is None


async def test_customer_tags_and_note_history(store: Store) -> None:
    await store.add_customer_tag("5551234", "returning")  # creates the customer
    await store.add_customer_tag("5551234", "complaint")
    await store.add_customer_tag("5551234", "returning")
    await store.remove_customer_tag("5551234", "complaint")
    await store.add_customer_note("5551234", "asked about the outage", author="1001", at=200.0)
    await store.add_customer_note("5551234", "called back, fixed", author="1002", at=300.0)
    customer = await store.get_customer("5551234")
    assert customer is not None
    assert customer.tags == ("returning",)
    assert [(n.at, n.author, n.text) for n in await store.customer_notes("5551234")] == [
        (200.0, "1001", "asked about the outage"),
        (300.0, "1002", "called back, fixed"),
    ]
