"""The screen pop's combined caller lookup gives exactly what the three separate reads give,
on both backends (``callcenter/store/caller_lookup.py``)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert

from callcenter.store import Store
from callcenter.store.caller_lookup import CallerRecord, look_up_caller, read_caller_now
from callcenter.store.schema import ticket_events
from callcenter.store.tickets import (
    TicketStatus,
    assign_ticket,
    close_ticket,
    create_ticket,
    follow_up,
    open_tickets_of,
)

NOW = 1_795_753_044.0
KNOWN = "13800138000"
HOSTILE = "' OR '1'='1'; DROP TABLE customers; --"


async def separately(store: Store, number: str, history: int, tickets: int) -> CallerRecord:
    return CallerRecord(
        await store.get_customer(number),
        await store.interactions_of_caller(number, limit=history),
        await open_tickets_of(store, number, limit=tickets),
    )


async def test_a_known_customer_with_tickets_and_history(store: Store) -> None:
    await store.upsert_customer(KNOWN, name="Li Na", notes="[b]prefers email[/b]", vip=True)
    for tag in ("silver", "gold", "complained"):
        await store.add_customer_tag(KNOWN, tag)
    # 14 past calls (one without an arrival time), more than the screen pop shows.
    for k in range(13):
        await store.upsert_interaction(
            f"past-{k:02d}", caller_number=KNOWN, arrived_at=NOW - 1000 + 10 * k, queue="sales",
            agent="1001", disposition="resolved", notes=f"call {k}", hold_time=1.5,
        )  # fmt: skip
    await store.upsert_interaction("past-undated", caller_number=KNOWN, queue="sales")
    await store.upsert_interaction("someone-else", caller_number="5550000", arrived_at=NOW)

    async def create(at: float, summary: str, customer: str = KNOWN) -> int:
        return await create_ticket(
            store, department="quality", summary=summary, actor="1001", at=NOW + at,
            customer=customer,
        )  # fmt: skip

    closed = await create(1, "old complaint")
    await close_ticket(store, closed, text="settled", actor="1001", at=NOW + 2)
    assigned = await create(3, "broken on arrival")
    await assign_ticket(store, assigned, department="logistics", actor="1002", at=NOW + 4)
    await follow_up(store, assigned, text="[b]refund[/b] promised", actor="1002", at=NOW + 5)
    # Two entries at the same moment: the later written is the latest.
    same_time = await create(6, "late delivery")
    await follow_up(store, same_time, text="first", actor="1003", at=NOW + 7)
    await follow_up(store, same_time, text="second", actor="1003", at=NOW + 7)
    # An entry dated before the ticket's last one (a late import): by time, not by id.
    backdated = await create(8, "wrong colour")
    async with store.transaction() as tx:
        await tx.conn.execute(insert(ticket_events).values(
            ticket_id=backdated, at=NOW + 1, actor="import", action="note", text="backdated",
        ))  # fmt: skip
    for k in range(4):
        await create(10 + k, f"more {k}")
    await create(20, "not this caller's", customer="5550000")

    combined = await look_up_caller(store, KNOWN, history_limit=11, tickets_limit=5)

    assert combined == await separately(store, KNOWN, 11, 5)
    customer = combined.customer
    assert customer is not None
    assert (customer.name, customer.notes, customer.vip) == ("Li Na", "[b]prefers email[/b]", True)
    assert customer.tags == ("complained", "gold", "silver")
    assert len(combined.history) == 11
    assert {past.caller_number for past in combined.history} == {KNOWN}
    dated = [past.arrived_at for past in combined.history if past.arrived_at is not None]
    assert dated == sorted(dated, reverse=True)
    assert len(combined.open_tickets) == 5
    assert closed not in {ticket.id for ticket in combined.open_tickets}
    every = await look_up_caller(store, KNOWN, history_limit=20, tickets_limit=20)
    assert every == await separately(store, KNOWN, 20, 20)
    assert len(every.history) == 14
    latest = {
        ticket.id: [(e.action, e.text) for e in ticket.history] for ticket in every.open_tickets
    }
    assert latest[assigned] == [("note", "[b]refund[/b] promised")]
    assert latest[same_time] == [("note", "second")]
    assert latest[backdated] == [("create", "wrong colour")]
    statuses = {ticket.id: ticket.status for ticket in every.open_tickets}
    assert statuses[assigned] is TicketStatus.ASSIGNED


async def test_an_unknown_number_with_history(store: Store) -> None:
    await store.upsert_interaction(
        "past-1", caller_number="5550000", arrived_at=NOW, notes="called", survey_score=4
    )
    await store.upsert_interaction("past-2", caller_number="5550000", arrived_at=NOW + 60)

    combined = await look_up_caller(store, "5550000", history_limit=11, tickets_limit=5)

    assert combined == await separately(store, "5550000", 11, 5)
    assert combined.customer is None
    assert [past.call_id for past in combined.history] == ["past-2", "past-1"]
    assert combined.history[1].survey_score == 4
    assert combined.open_tickets == []


async def test_nothing_at_all(store: Store) -> None:
    await store.upsert_customer(KNOWN, name="Li Na")
    await store.upsert_interaction("past-1", caller_number=KNOWN, arrived_at=NOW)

    combined = await look_up_caller(store, "5559999", history_limit=11, tickets_limit=5)

    assert combined == CallerRecord()
    assert combined == await separately(store, "5559999", 11, 5)


async def test_a_customer_without_tags_or_tickets(store: Store) -> None:
    await store.upsert_customer(KNOWN, name=None, vip=False)

    combined = await look_up_caller(store, KNOWN, history_limit=11, tickets_limit=5)

    assert combined == await separately(store, KNOWN, 11, 5)
    assert combined.customer is not None
    assert (combined.customer.tags, combined.customer.vip) == ((), False)


async def test_the_number_is_only_ever_a_bound_parameter(store: Store) -> None:
    await store.upsert_customer(KNOWN, name="Li Na")
    await store.upsert_customer(HOSTILE, name="Mallory")
    await store.upsert_interaction("past-1", caller_number=HOSTILE, arrived_at=NOW)

    found = await look_up_caller(store, HOSTILE, history_limit=11, tickets_limit=5)

    assert found.customer is not None
    assert found.customer.name == "Mallory"
    assert [past.call_id for past in found.history] == ["past-1"]
    assert await store.get_customer(KNOWN) is not None  # the table is still there


async def test_lookups_cancelled_halfway_leave_the_store_usable(store: Store) -> None:
    # The desk cancels a lookup when the call ends or its timeout passes.
    await store.upsert_customer(KNOWN, name="Li Na")
    await store.upsert_interaction("past-1", caller_number=KNOWN, arrived_at=NOW)
    # Cancelled after 0, 1, ... turns of the event loop, then after some milliseconds
    # (PostgreSQL's round trips; an SQLite file's lookup never awaits).
    for steps, delay in [*((n, 0.0) for n in range(40)), *((0, d / 1000) for d in range(1, 8))]:
        task = asyncio.create_task(look_up_caller(store, KNOWN, history_limit=11))
        for _ in range(steps):
            await asyncio.sleep(0)
        await asyncio.sleep(delay)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    found = await asyncio.gather(
        *[look_up_caller(store, KNOWN, history_limit=11) for _ in range(8)]
    )
    expected = await separately(store, KNOWN, 11, 5)
    assert found == [expected] * 8
    assert expected.customer is not None


async def test_an_sqlite_file_is_read_in_the_event_loop_without_the_pool(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Straight on the store's sqlite3 reader: no pooled aiosqlite connection, whose
    # every statement is a hop to its thread (callcenter/store/sqlite_reader.py).
    store = await Store.open(sqlite_url)
    try:
        await store.upsert_customer(KNOWN, name="Li Na", vip=True)
        await store.upsert_interaction("past-1", caller_number=KNOWN, arrived_at=NOW)
        expected = await separately(store, KNOWN, 11, 5)

        def no_pool(_engine: object) -> None:
            raise AssertionError("the lookup took a pooled connection")

        monkeypatch.setattr(type(store.engine), "connect", no_pool)
        assert await look_up_caller(store, KNOWN, history_limit=11, tickets_limit=5) == expected
        assert read_caller_now(store, KNOWN, history_limit=11, tickets_limit=5) == expected
    finally:
        monkeypatch.undo()
        await store.close()


async def test_an_in_memory_sqlite_store_is_read_through_its_pool() -> None:
    # No file for a second connection to open: the reads go through aiosqlite.
    store = await Store.open("sqlite+aiosqlite:///:memory:")
    try:
        await store.upsert_customer(KNOWN, name="Li Na")
        for tag in ("gold", "complained"):
            await store.add_customer_tag(KNOWN, tag)
        await store.upsert_interaction("past-1", caller_number=KNOWN, arrived_at=NOW)
        await create_ticket(store, department="billing", summary="refund", actor="1001",
                            customer=KNOWN, at=NOW)  # fmt: skip

        combined = await look_up_caller(store, KNOWN, history_limit=11, tickets_limit=5)

        assert read_caller_now(store, KNOWN) is None  # it has to be awaited
        assert combined == await separately(store, KNOWN, 11, 5)
        assert combined.customer is not None
        assert combined.customer.tags == ("complained", "gold")
        assert [t.summary for t in combined.open_tickets] == ["refund"]
    finally:
        await store.close()
