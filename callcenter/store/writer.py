"""``StoreWriter``: the engine's writes, batched, off the routing path.

The engine must never wait on the database while it routes calls. It calls
the writer's submit methods, which only append to an in-memory queue and
return at once (no await). One asyncio task drains the queue: it writes a
batch when ``batch_size`` operations are waiting or ``flush_interval`` seconds
after the first one arrived, whichever comes first, in one transaction (on
SQLite one ``BEGIN IMMEDIATE``), and appends the batch's queue_log lines to the
queue_log file when one is configured (flushed once per batch). The writer's own
operations are gathered into a few multi-row statements (``batch.py``); any other
operation (``submit``) is applied as itself, in its place in the order. On an SQLite
file, a batch of only the writer's own rows (no login or logout in it) is written
straight on sqlite3, in one trip to a thread of its own (``sqlite_batch.py``).

Bounded: past ``max_pending`` waiting operations a submit is refused (returns
False, counted in ``stats.dropped``, logged) rather than letting memory grow
without end while the database is away.

Failures: a batch that fails for a transient reason (connection lost,
database locked past the busy timeout, server restarting) is retried with
backoff until it goes through or the writer is closed; a batch that fails for
another reason (a bad value) is retried one operation per transaction, so only
the bad operation is lost (counted in ``stats.failed``, logged with the error).

``close()`` writes everything submitted before it, then stops.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self, Unpack

from sqlalchemy import exc as sa_exc

from callcenter.core.commands import AgentStateChanged, QueueLog
from callcenter.store.batch import BatchRows
from callcenter.store.queue_log import QueueLogFile
from callcenter.store.records import INTERACTION_FIELDS, InteractionFields, Leg
from callcenter.store.sqlite_batch import SqliteBatches
from callcenter.store.store import Store
from callcenter.store.transaction import Statement, StoreTransaction

log = logging.getLogger(__name__)


class WriteOp(Protocol):
    async def apply(self, tx: StoreTransaction) -> None: ...


@dataclass(frozen=True, slots=True)
class QueueLogLines:
    lines: tuple[QueueLog, ...]

    async def apply(self, tx: StoreTransaction) -> None:
        await tx.append_queue_log(self.lines)

    def gather(self, rows: BatchRows) -> None:
        rows.lines.extend(self.lines)


@dataclass(frozen=True, slots=True)
class AgentStates:
    changes: tuple[AgentStateChanged, ...]
    at: float

    async def apply(self, tx: StoreTransaction) -> None:
        await tx.record_agent_state(self.changes, self.at)

    def gather(self, rows: BatchRows) -> None:
        rows.states.append((self.changes, self.at))


@dataclass(frozen=True, slots=True)
class InteractionUpsert:
    call_id: str
    fields: Mapping[str, Any]

    async def apply(self, tx: StoreTransaction) -> None:
        await tx.upsert_interaction(self.call_id, **self.fields)

    def gather(self, rows: BatchRows) -> None:
        rows.interaction(self.call_id, self.fields)


@dataclass(frozen=True, slots=True)
class LegAdd:
    leg: Leg

    async def apply(self, tx: StoreTransaction) -> None:
        await tx.add_leg(self.leg)

    def gather(self, rows: BatchRows) -> None:
        rows.legs.append(self.leg)


_GATHERED = (QueueLogLines, AgentStates, InteractionUpsert, LegAdd)


@dataclass(slots=True)
class WriterStats:
    submitted: int = 0
    written: int = 0  # operations committed
    batches: int = 0  # transactions committed
    dropped: int = 0  # refused because the queue was full, or submitted after close
    failed: int = 0  # rejected by the database
    retries: int = 0
    file_lines: int = 0
    file_errors: int = 0


def _future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True)
class _Flush:
    done: asyncio.Future[None] = field(default_factory=_future)


class _Stop:
    pass


# sqlite3's own: from the batches written straight on sqlite3 (sqlite_batch.py).
_TRANSIENT = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sqlite3.OperationalError, OSError,
    TimeoutError,
)  # fmt: skip


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _TRANSIENT)


class StoreWriter:
    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        max_pending: int = 50_000,
        queue_log_file: QueueLogFile | None = None,
        retry_delay: float = 0.1,
        max_retry_delay: float = 5.0,
    ) -> None:
        if batch_size < 1 or flush_interval < 0 or max_pending < 1:
            raise ValueError("batch_size and max_pending must be >= 1, flush_interval >= 0")
        self.store = store
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self.queue_log_file = queue_log_file
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.stats = WriterStats()
        self._queue: asyncio.Queue[WriteOp | _Flush | _Stop] = asyncio.Queue()
        self._pending = 0
        self._task: asyncio.Task[None] | None = None
        self._woken: asyncio.Future[None] | None = None
        """Set while a batch gathers (``_gathering``): done to write it at once."""
        self._hurry = False
        """A flush, the stop or a full batch came while no batch gathered: the next
        one is written without gathering."""
        self._closed = False
        self.sqlite_batches = SqliteBatches.of(store)
        """Where the batches of the writer's own rows go on an SQLite file, straight on
        sqlite3 (``sqlite_batch.py``); None: every batch through SQLAlchemy."""

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        """Start the writing task (needs a running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="store-writer")
            self._task.add_done_callback(self._on_stopped)

    def _on_stopped(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._closed = True  # refuse further writes loudly rather than queue them forever
            log.error("store writer stopped", exc_info=task.exception())

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def flush(self) -> None:
        """Return once everything submitted before this call is written (or given up).

        A writer that was never started writes nothing, and returns at once.
        """
        if self._task is None or self._task.done():
            return
        marker = _Flush()
        self._queue.put_nowait(marker)
        self._wake()
        await asyncio.shield(marker.done)

    async def close(self, grace: float = 30.0) -> None:
        """Write what was submitted, then stop. After ``grace`` seconds give up (logged)."""
        self._closed = True
        task, self._task = self._task, None
        try:
            if task is None or task.done():
                if self._pending:
                    log.error("store writer not running: %d writes lost", self._pending)
                return
            self._queue.put_nowait(_Stop())
            self._wake()
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
            except TimeoutError:
                task.cancel()
                log.error("store writer closed with %d operations not written", self._pending)
            except Exception:  # noqa: S110 - already logged by _on_stopped
                pass
        finally:
            if self.queue_log_file is not None:
                self.queue_log_file.close()
            if self.sqlite_batches is not None:
                await self.sqlite_batches.close()

    # -- submitting: never blocks, never awaits ------------------------------------------

    def submit(self, op: WriteOp) -> bool:
        """Queue ``op`` for writing; False when refused (queue full or writer closed)."""
        if self._closed:
            self.stats.dropped += 1
            log.error("store writer is closed; dropped %r", op)
            return False
        if self._pending >= self.max_pending:
            self.stats.dropped += 1
            if self.stats.dropped == 1 or self.stats.dropped % 1000 == 0:
                log.error(
                    "store writer full (%d pending): %d writes dropped so far",
                    self._pending,
                    self.stats.dropped,
                )
            return False
        self._pending += 1
        self.stats.submitted += 1
        self._queue.put_nowait(op)
        if self._queue.qsize() >= self.batch_size - 1:  # with the one taken: a full batch
            self._wake()
        return True

    def queue_log(self, *lines: QueueLog) -> bool:
        return self.submit(QueueLogLines(lines))

    def agent_state(
        self, changes: AgentStateChanged | Sequence[AgentStateChanged], at: float
    ) -> bool:
        batch = (changes,) if isinstance(changes, AgentStateChanged) else tuple(changes)
        return self.submit(AgentStates(batch, at))

    def interaction(self, call_id: str, **fields: Unpack[InteractionFields]) -> bool:
        """Create or update (only the fields given) the interaction.

        A misspelt field raises TypeError here, in the caller, not later in the writer.
        """
        unknown = set(fields) - INTERACTION_FIELDS
        if unknown:
            raise TypeError(f"unknown interaction field(s): {', '.join(sorted(unknown))}")
        return self.submit(InteractionUpsert(call_id, dict(fields)))

    def leg(self, leg: Leg) -> bool:
        return self.submit(LegAdd(leg))

    def command(self, command: QueueLog | AgentStateChanged, at: float) -> bool:
        """A core command meant for the store; ``at`` is when the core issued it."""
        if isinstance(command, QueueLog):
            return self.queue_log(command)
        return self.agent_state(command, at)

    # -- the writing task -----------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            batch: list[WriteOp] = []
            flushes: list[_Flush] = []
            stop = self._take(await self._queue.get(), batch, flushes)
            if not stop and not flushes:
                await self._gathering()
            while not stop and not flushes and len(batch) < self.batch_size:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                stop = self._take(item, batch, flushes)
            if batch:
                await self._write(batch)
            for marker in flushes:
                if not marker.done.done():
                    marker.done.set_result(None)
            if stop:
                return

    async def _gathering(self) -> None:
        """While a batch gathers: ``flush_interval`` seconds after its first operation, or
        less when a flush, the stop or a full batch comes (``_wake``). One timer per batch:
        a wait per operation (``asyncio.wait_for`` on the queue, a task each) cost more CPU
        than the writing at 40 calls/s (py-spy on the engine, bench.asterisk)."""
        if self._hurry or self._queue.qsize() >= self.batch_size - 1:
            self._hurry = False  # asked for before the batch began: no gathering
            return
        loop = asyncio.get_running_loop()
        woken = self._woken = loop.create_future()
        timer = loop.call_later(self.flush_interval, self._wake)
        try:
            await woken
        finally:
            timer.cancel()
            self._woken = None

    def _wake(self) -> None:
        if self._woken is None:
            self._hurry = True
        elif not self._woken.done():
            self._woken.set_result(None)

    def _take(
        self, item: WriteOp | _Flush | _Stop, batch: list[WriteOp], flushes: list[_Flush]
    ) -> bool:
        if isinstance(item, _Stop):
            return True
        if isinstance(item, _Flush):
            flushes.append(item)
        else:
            batch.append(item)
        return False

    async def _write(self, batch: list[WriteOp]) -> None:
        lines = [line for op in batch if isinstance(op, QueueLogLines) for line in op.lines]
        if self.queue_log_file is not None and lines:
            try:
                self.stats.file_lines += await asyncio.to_thread(self.queue_log_file.append, lines)
            except Exception:  # a full disk, or text the file cannot encode
                self.stats.file_errors += 1
                log.exception(
                    "could not append %d lines to %s", len(lines), self.queue_log_file.path
                )
        delay = self.retry_delay
        while True:
            try:
                await self._write_batch(batch)
            except Exception as error:
                if not _is_transient(error):
                    log.warning(
                        "batch of %d writes failed (%s); writing one by one", len(batch), error
                    )
                    await self._write_one_by_one(batch)
                    return
                self.stats.retries += 1
                log.warning(
                    "store unavailable (%s); retrying %d writes in %.1fs", error, len(batch), delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay)
            else:
                self._done(len(batch))
                self.stats.written += len(batch)
                self.stats.batches += 1
                return

    async def _write_batch(self, batch: list[WriteOp]) -> None:
        """In one transaction: straight on sqlite3 when only the writer's own rows are in
        it and the store is an SQLite file, through SQLAlchemy otherwise."""
        parts = _parts(batch)
        statements = _sqlite_statements(parts, self.store) if self.sqlite_batches else None
        if statements is not None and self.sqlite_batches is not None:
            await self.sqlite_batches.write(statements)
            return
        async with self.store.transaction() as tx:
            for part in parts:
                await part.apply(tx)

    async def _write_one_by_one(self, batch: list[WriteOp]) -> None:
        for op in batch:
            try:
                async with self.store.transaction() as tx:
                    await op.apply(tx)
            except Exception:
                self.stats.failed += 1
                log.exception("store rejected %r; dropped", op)
            else:
                self.stats.written += 1
                self.stats.batches += 1
            self._done(1)

    def _done(self, count: int) -> None:
        self._pending -= count


def _sqlite_statements(parts: list[WriteOp | BatchRows], store: Store) -> list[Statement] | None:
    """The batch as SQLite statements; None when a part is not the writer's own rows."""
    statements: list[Statement] = []
    for part in parts:
        if not isinstance(part, BatchRows):
            return None
        found = part.statements("sqlite", store.member_name)
        if found is None:
            return None
        statements += found
    return statements


def _parts(batch: list[WriteOp]) -> list[WriteOp | BatchRows]:
    """Each run of the writer's own operations gathered into rows (``batch.py``); any
    other operation on its own, between them: the order is kept. An unknown interaction
    field raises TypeError here, inside the transaction: the batch goes one by one."""
    parts: list[WriteOp | BatchRows] = []
    rows: BatchRows | None = None
    for op in batch:
        if isinstance(op, _GATHERED):
            if rows is None:
                rows = BatchRows()
                parts.append(rows)
            op.gather(rows)
        else:
            parts.append(op)
            rows = None
    return parts
