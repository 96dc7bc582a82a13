"""StoreWriter: batches by count and by time, never blocks, retries, flushes on close."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from callcenter.core.commands import AgentStateChanged, QueueLog
from callcenter.core.states import AgentState
from callcenter.store import Leg, QueueLogFile, Store, StoreTransaction, StoreWriter
from callcenter.store.queue_log import read_queue_log_file
from callcenter.store.sqlite_batch import SqliteBatches
from callcenter.store.writer import InteractionUpsert


def line(n: int) -> QueueLog:
    return QueueLog(1000.0 + n, f"c{n}", "support", "NONE", "ENTERQUEUE", ("", f"555{n}", "1"))


async def eventually(condition: Callable[[], bool], within: float = 5.0) -> None:
    for _ in range(int(within / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"not true within {within} s")


async def test_a_full_batch_is_written_at_once_and_the_rest_on_close(store: Store) -> None:
    writer = StoreWriter(store, batch_size=10, flush_interval=60.0)
    writer.start()
    assert all(writer.queue_log(line(n)) for n in range(25))
    await eventually(lambda: writer.stats.written == 20)
    assert writer.stats.batches == 2
    assert len(await store.queue_log()) == 20
    await writer.close()
    assert (writer.stats.written, writer.stats.batches) == (25, 3)
    assert await store.queue_log() == [line(n) for n in range(25)]


async def test_a_batch_gathering_is_cut_short_by_a_full_batch_or_a_flush(store: Store) -> None:
    async with asyncio.timeout(10):  # far below the 60 s interval
        async with StoreWriter(store, batch_size=10, flush_interval=60.0) as writer:
            writer.queue_log(line(0))
            await eventually(lambda: writer._woken is not None)  # the batch gathers
            for n in range(1, 10):
                writer.queue_log(line(n))
            await eventually(lambda: writer.stats.written == 10)  # full: written at once
            writer.queue_log(line(10))
            await eventually(lambda: writer._woken is not None)
            await writer.flush()
            assert (writer.stats.written, writer.stats.batches) == (11, 2)


async def test_a_partial_batch_is_written_after_the_flush_interval(store: Store) -> None:
    async with StoreWriter(store, batch_size=1000, flush_interval=0.05) as writer:
        for n in range(3):
            writer.queue_log(line(n))
        await eventually(lambda: writer.stats.written == 3)
        assert writer.stats.batches == 1
        assert len(await store.queue_log()) == 3


async def test_submitting_never_waits_and_refuses_when_full(store: Store) -> None:
    writer = StoreWriter(store, max_pending=5)  # not started: nothing drains the queue
    accepted = [writer.queue_log(line(n)) for n in range(7)]
    assert accepted == [True] * 5 + [False] * 2
    assert writer.stats.dropped == 2
    writer.start()
    await writer.close()
    assert len(await store.queue_log()) == 5
    assert not writer.queue_log(line(99))  # closed


async def test_flush_waits_for_everything_submitted_before_it(store: Store) -> None:
    async with StoreWriter(store, flush_interval=60.0) as writer:
        writer.interaction("c1", caller_number="5551234", arrived_at=10.0)
        writer.leg(Leg("c1", "1001", offered_at=12.0, result="answered", answered_at=15.0))
        writer.interaction("c1", answered_at=15.0, agent="1001")
        await writer.flush()
        call = await store.get_interaction("c1")
        assert call is not None
        assert (call.caller_number, call.agent, call.answered_at) == ("5551234", "1001", 15.0)
        assert len(await store.legs("c1")) == 1


async def test_core_commands_go_to_the_table_and_the_file(store: Store, tmp_path: Path) -> None:
    queue_log_file = QueueLogFile(tmp_path / "queue_log")
    async with StoreWriter(store, queue_log_file=queue_log_file) as writer:
        writer.command(line(1), at=1001.0)
        writer.command(
            AgentStateChanged("1001", AgentState.LOGGED_OUT, AgentState.READY, "login"), at=1002.0
        )
        writer.command(line(2), at=1003.0)
    assert await store.queue_log() == [line(1), line(2)]
    [record] = await store.agent_state_changes()
    assert (record.agent, record.time, record.state) == ("1001", 1002.0, AgentState.READY)
    assert read_queue_log_file(tmp_path / "queue_log") == [line(1), line(2)]
    assert writer.stats.file_lines == 2


class FlakyStore(Store):
    """Fails to begin a transaction the first ``failures`` times, like a locked database."""

    failures = 2

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[StoreTransaction]:
        if self.failures:
            self.failures -= 1
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        async with super().transaction() as tx:
            yield tx


async def test_transient_failures_are_retried_until_written(store_url: str) -> None:
    store = await Store.open(store_url)
    flaky = FlakyStore(store.engine)
    try:
        writer = StoreWriter(flaky, retry_delay=0.01)
        writer.sqlite_batches = None  # through SQLAlchemy; straight on sqlite3: the next test
        async with writer:
            writer.queue_log(line(1), line(2))
        assert (writer.stats.retries, writer.stats.written, writer.stats.failed) == (2, 1, 0)
        assert len(await store.queue_log()) == 2
    finally:
        await store.close()


async def test_a_locked_sqlite_file_is_retried_until_the_lock_goes(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    holder = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing, for a while
        writer = StoreWriter(store, retry_delay=0.01, flush_interval=0.0)
        assert isinstance(writer.sqlite_batches, SqliteBatches)  # straight on sqlite3
        writer.sqlite_batches.busy_timeout = 0.05  # instead of 30 s
        async with writer:
            writer.queue_log(line(1), line(2))
            await eventually(lambda: writer.stats.retries >= 2)
            assert writer.stats.written == 0
            holder.execute("COMMIT")
            await writer.flush()
        assert (writer.stats.written, writer.stats.failed) == (1, 0)
        assert [entry.verb for entry in await store.queue_log()] == ["ENTERQUEUE"] * 2
    finally:
        holder.close()
        await store.close()


async def test_a_misspelt_interaction_field_fails_at_the_call_site(store: Store) -> None:
    fields: dict[str, Any] = {"caller": "x"}
    async with StoreWriter(store) as writer:
        with pytest.raises(TypeError, match="unknown interaction field"):
            writer.interaction("c1", **fields)
    assert writer.stats.submitted == 0


async def test_a_rejected_write_costs_only_itself(store: Store) -> None:
    async with StoreWriter(store, flush_interval=60.0) as writer:
        writer.queue_log(line(1))
        writer.submit(InteractionUpsert("c1", {"no_such_column": 1}))
        writer.interaction("c2", outcome="abandoned")
    assert (writer.stats.written, writer.stats.failed) == (2, 1)
    assert len(await store.queue_log()) == 1
    assert await store.get_interaction("c2") is not None
    assert await store.get_interaction("c1") is None
