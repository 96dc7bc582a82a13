"""The writer's batches: a run of operations gathered into a few multi-row statements
(callcenter/store/batch.py) leaves exactly the rows that applying them one by one, in
order, leaves; and a row the database rejects still costs only its own operation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Table, select

from callcenter.core.commands import AgentStateChanged, QueueLog
from callcenter.core.states import AgentState
from callcenter.store import Leg, Store, StoreTransaction, StoreWriter
from callcenter.store.schema import (
    agent_sessions,
    agent_state_changes,
    interaction_legs,
    interactions,
    queue_log,
)
from callcenter.store.transaction import interaction_values, opens_or_closes_a_session
from callcenter.store.writer import (
    AgentStates,
    InteractionUpsert,
    LegAdd,
    QueueLogLines,
    WriteOp,
)

S = AgentState


class NoteIfThere:
    """Not one of the writer's own operations: applied as itself, in its place. It only
    finds the interaction if the writes submitted before it are in the database."""

    def __init__(self, call_id: str, notes: str) -> None:
        self.call_id, self.notes = call_id, notes

    async def apply(self, tx: StoreTransaction) -> None:
        await tx.update_interaction(self.call_id, notes=self.notes)


def change(agent: str, previous: S, state: S, cause: str, call: str = "") -> AgentStateChanged:
    return AgentStateChanged(agent, previous, state, cause, call=call)


def mixed_operations() -> list[WriteOp]:
    """Two calls' worth of journal writes, interleaved, with the awkward cases: first
    values written twice, a leg before its interaction, an interaction with no field,
    a log-in and log-out in one batch, caller text with SQL and pipes in it."""
    line = QueueLog
    return [
        AgentStates((change("1001", S.LOGGED_OUT, S.READY, "login"),), 99.0),
        InteractionUpsert("c1", {"caller_number": "555'; DROP TABLE x;--", "arrived_at": 100.0}),
        QueueLogLines((line(100.0, "c1", "sales", "NONE", "DID", ("800",)),
                       line(100.5, "c1", "sales", "NONE", "ENTERQUEUE", ("", "555|1", "1")))),
        InteractionUpsert("c1", {"queue": "sales", "enqueued_at": 100.5, "arrived_at": 1.0}),
        LegAdd(Leg("c2", "1002", 101.0, "no_answer", "support", None, 104.0)),
        InteractionUpsert("c2", {}),
        InteractionUpsert("c1", {"offered_at": None}),
        NoteIfThere("c1", "noted between batches of rows"),
        InteractionUpsert("c1", {"offered_at": 102.0, "outcome": "pending"}),
        AgentStates((change("1001", S.READY, S.RINGING, "ring", "c1"),), 102.0),
        InteractionUpsert("c1", {"offered_at": 103.0, "agent": "1001", "answered_at": 105.0,
                                 "outcome": "answered", "queue": "vip"}),
        LegAdd(Leg("c1", "1001", 102.0, "answered", "sales", 105.0)),
        QueueLogLines((line(105.0, "c1", "sales", "1001", "CONNECT", ("5", "x", "3")),)),
        AgentStates((change("1001", S.RINGING, S.ON_CALL, "answer", "c1"),
                     change("1003", S.LOGGED_OUT, S.READY, "login")), 105.0),
        InteractionUpsert("c2", {"caller_number": "5550002", "outcome": "abandoned",
                                 "ended_at": 106.0}),
        QueueLogLines((line(106.0, "c2", "support", "NONE", "ABANDON", ("1", "1", "5")),)),
        AgentStates((change("1003", S.READY, S.LOGGED_OUT, "logout"),), 107.0),
        InteractionUpsert("c1", {"ended_at": 110.0, "talk_time": 5.0, "outcome": None}),
    ]  # fmt: skip


async def contents(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the writer touches, without the generated ids but in their order."""
    tables: dict[str, tuple[Table, Any]] = {
        "interactions": (interactions, interactions.c.call_id),
        "legs": (interaction_legs, interaction_legs.c.id),
        "queue_log": (queue_log, queue_log.c.id),
        "agent_state_changes": (agent_state_changes, agent_state_changes.c.id),
        "agent_sessions": (agent_sessions, agent_sessions.c.id),
    }
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with store.reading() as conn:
        for name, (table, order) in tables.items():
            columns = [c for c in table.c if c.name != "id"]
            rows = await conn.execute(select(*columns).order_by(order))
            found[name] = [tuple(row) for row in rows]
    return found


async def empty(store: Store) -> None:
    async with store.transaction() as tx:
        for table in (interaction_legs, interactions, queue_log, agent_state_changes,
                      agent_sessions):  # fmt: skip
            await tx.conn.execute(table.delete())


async def one_by_one(store: Store, operations: list[WriteOp]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows ``operations`` leave applied one at a time, in one transaction, on empty
    tables (emptied again after, for a writer still to be tested)."""
    await empty(store)
    async with store.transaction() as tx:
        for op in operations:
            await op.apply(tx)
    rows = await contents(store)
    await empty(store)
    return rows


async def test_a_batch_leaves_the_rows_of_its_operations_applied_one_by_one(
    store: Store,
) -> None:
    reference = await one_by_one(store, mixed_operations())

    async with StoreWriter(store, flush_interval=60.0) as writer:
        for op in mixed_operations():
            assert writer.submit(op)
    assert (writer.stats.batches, writer.stats.failed) == (1, 0)
    assert await contents(store) == reference

    [c1] = [row for row in reference["interactions"] if row[0] == "c1"]
    written = dict(zip([c.name for c in interactions.c], c1, strict=True))
    assert written["arrived_at"] == 100.0  # first values kept
    assert written["offered_at"] == 102.0
    assert written["first_queue"] == "sales"
    assert (written["queue"], written["outcome"]) == ("vip", None)  # the last one wins
    assert written["notes"] == "noted between batches of rows"
    assert written["caller_number"] == "555'; DROP TABLE x;--"
    assert len(reference["legs"]) == 2
    assert [row[0] for row in reference["agent_sessions"]] == ["1001", "1003"]
    assert reference["agent_sessions"][1][2] == 107.0  # logged out in the same batch


async def test_a_row_the_database_rejects_costs_only_its_operation(store: Store) -> None:
    bad = LegAdd(Leg("c9", "1009", None, "failed"))  # type: ignore[arg-type]  # NOT NULL
    async with StoreWriter(store, flush_interval=60.0) as writer:
        for op in mixed_operations()[:6]:
            writer.submit(op)
        writer.submit(bad)
        for op in mixed_operations()[6:]:
            writer.submit(op)
    assert writer.stats.failed == 1
    assert writer.stats.written == len(mixed_operations())
    written = await contents(store)
    assert written == await one_by_one(store, mixed_operations())


async def test_interactions_with_different_fields_are_written_together(store: Store) -> None:
    rows = {f"c{n}": interaction_values({"queue": "q", "enqueued_at": float(n)})
            for n in range(5)}  # fmt: skip
    rows |= {f"d{n}": interaction_values({"outcome": "abandoned"}) for n in range(3)}
    rows["e"] = {}
    later = {"c0": {"enqueued_at": 50.0}, "d0": interaction_values({"queue": "r"})}
    async with store.transaction() as tx:
        await tx.upsert_interactions(rows)
        await tx.upsert_interactions(later)
    c0, d0, e = [await store.get_interaction(c) for c in ("c0", "d0", "e")]
    assert c0 is not None
    assert (c0.queue, c0.enqueued_at) == ("q", 50.0)
    assert d0 is not None
    assert (d0.outcome, d0.queue, d0.first_queue) == ("abandoned", "r", "r")
    assert e is not None
    assert e.direction == "inbound"
    assert len((await contents(store))["interactions"]) == 9


def own_rows_only() -> list[WriteOp]:
    """``mixed_operations`` less what a batch written straight on sqlite3 cannot take
    (``callcenter/store/sqlite_batch.py``): other operations, logins and logouts."""
    kept = [
        op
        for op in mixed_operations()
        if not isinstance(op, NoteIfThere)
        and not (isinstance(op, AgentStates) and any(map(opens_or_closes_a_session, op.changes)))
    ]
    return [*kept, InteractionUpsert("c3", {"hold_time": 2})]  # an int for a Double column


async def test_a_batch_straight_on_an_sqlite_file_leaves_the_same_rows(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await Store.open(sqlite_url)
    try:
        reference = await one_by_one(store, own_rows_only())

        def no_sqlalchemy() -> None:
            raise AssertionError("the batch went through SQLAlchemy")

        monkeypatch.setattr(store, "transaction", no_sqlalchemy)
        async with StoreWriter(store, flush_interval=60.0) as writer:
            for op in own_rows_only():
                assert writer.submit(op)
        assert (writer.stats.batches, writer.stats.written) == (1, len(own_rows_only()))
        monkeypatch.undo()
        written = await contents(store)
        assert written == reference
        assert len(reference["legs"]) == 2
        assert len(reference["queue_log"]) == 4
        assert [(row[0], row[3]) for row in reference["legs"]] == [("c2", 101.0), ("c1", 102.0)]
        # A Double column's int comes back a float, as through SQLAlchemy.
        [c3] = [row for row in written["interactions"] if row[0] == "c3"]
        hold_time = dict(zip([c.name for c in interactions.c], c3, strict=True))["hold_time"]
        assert (type(hold_time), hold_time) == (float, 2.0)
    finally:
        await store.close()


async def test_a_row_rejected_straight_on_an_sqlite_file_costs_only_its_operation(
    sqlite_url: str,
) -> None:
    store = await Store.open(sqlite_url)
    bad = LegAdd(Leg("c9", "1009", None, "failed"))  # type: ignore[arg-type]  # NOT NULL
    try:
        async with StoreWriter(store, flush_interval=60.0) as writer:
            for op in [*own_rows_only()[:4], bad, *own_rows_only()[4:]]:
                writer.submit(op)
        assert (writer.stats.failed, writer.stats.written) == (1, len(own_rows_only()))
        written = await contents(store)
        assert written == await one_by_one(store, own_rows_only())
    finally:
        await store.close()
