"""What a restarted engine reads back from the store, and the bookings it keeps there.

The engine's writes go through the `StoreWriter`, which batches them for up to its
``flush_interval``: an engine killed inside that window loses what it had decided but
not written yet. A restarted engine therefore asks, for the calls it restores:

* `StoredRecords.written`: the queue_log lines already there for each call (verb and
  queue, in the order written) and whether its interaction records an answer, so that
  recovery writes the lines and facts that are missing and never one twice;
* `StoredRecords.bookings`: the booked callbacks (``booked_callbacks``): a caller who
  chose the callback has hung up, so Asterisk keeps nothing of it; the engine keeps the
  booking here from the booking (`BookingSaved`) until an agent takes it or it leaves
  the line (`BookingEnded`).

`BookingSaved` and `BookingEnded` are writer operations (``StoreWriter.submit``): the
booking is written in the writer's next batch, off the routing path. Values are bound
parameters; the caller's attributes are stored as JSON text, never as SQL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from callcenter.core.expression import Value
from callcenter.store.schema import booked_callbacks, interactions, queue_log
from callcenter.store.store import Store
from callcenter.store.transaction import StoreTransaction

log = logging.getLogger(__name__)

CHUNK = 500
"""Call ids per query (bound parameters: SQLite allows 32,766, PostgreSQL 65,535)."""


@dataclass(frozen=True, slots=True)
class Written:
    """What the store holds of one call."""

    lines: tuple[tuple[str, str], ...] = ()  # (verb, queue) in the order written
    answered_at: float | None = None  # the interaction's answer, if written


@dataclass(frozen=True, slots=True)
class Booking:
    """A booked callback: everything needed to put it back in line."""

    call_id: str
    server: str
    queue: str
    number: str  # to call back
    entered: float  # first entry in line
    booked_at: float
    caller_number: str = ""
    caller_name: str = ""
    exten: str = ""
    lang: str | None = None
    priority: int = 0
    attributes: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BookingSaved:
    """Write (or rewrite: a move to another queue) a booking."""

    booking: Booking

    async def apply(self, tx: StoreTransaction) -> None:
        b = self.booking
        values = {
            "call_id": b.call_id, "server": b.server, "queue": b.queue, "number": b.number,
            "caller_number": b.caller_number, "caller_name": b.caller_name, "exten": b.exten,
            "lang": b.lang, "priority": b.priority, "entered": b.entered,
            "booked_at": b.booked_at, "attributes": json.dumps(dict(b.attributes)),
        }  # fmt: skip
        insert = postgresql.insert if tx.conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(booked_callbacks).values(**values)
        # A rewrite (a move) keeps when it was booked.
        changed = {k: stmt.excluded[k] for k in values if k not in ("call_id", "booked_at")}
        await tx.conn.execute(stmt.on_conflict_do_update(index_elements=["call_id"], set_=changed))


@dataclass(frozen=True, slots=True)
class BookingEnded:
    """The booking is over: an agent took it, or it left the line."""

    call_id: str

    async def apply(self, tx: StoreTransaction) -> None:
        await tx.conn.execute(
            delete(booked_callbacks).where(booked_callbacks.c.call_id == self.call_id)
        )


class StoredRecords:
    """The reads of a restart, on ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def written(self, calls: Sequence[str]) -> dict[str, Written]:
        """Per call id: its queue_log lines (verb, queue) and its interaction's answer."""
        lines: dict[str, list[tuple[str, str]]] = {}
        answered: dict[str, float | None] = {}
        async with self.store.reading() as conn:
            for start in range(0, len(calls), CHUNK):
                chunk = list(calls[start : start + CHUNK])
                rows = await conn.execute(
                    select(queue_log.c.callid, queue_log.c.event, queue_log.c.queuename)
                    .where(queue_log.c.callid.in_(chunk))
                    .order_by(queue_log.c.id)
                )
                for call, verb, queue in rows:
                    lines.setdefault(call, []).append((verb, queue))
                found = await conn.execute(
                    select(interactions.c.call_id, interactions.c.answered_at).where(
                        interactions.c.call_id.in_(chunk)
                    )
                )
                answered.update((call, at) for call, at in found)
        return {
            call: Written(tuple(lines.get(call, ())), answered.get(call))
            for call in calls
            if call in lines or call in answered
        }

    async def bookings(self) -> list[Booking]:
        """Every booked callback, oldest entry first."""
        async with self.store.reading() as conn:
            rows = await conn.execute(
                select(booked_callbacks).order_by(
                    booked_callbacks.c.entered, booked_callbacks.c.call_id
                )
            )
            return [_booking(row) for row in rows]


def _booking(row: Row[Any]) -> Booking:
    try:
        attributes = _attributes(row.attributes)
    except ValueError:  # written by hand, or damaged: the booking still counts
        log.warning("booking call=%s: attributes unreadable, dropped", row.call_id)
        attributes = {}
    return Booking(
        row.call_id, row.server, row.queue, row.number, row.entered, row.booked_at,
        row.caller_number, row.caller_name, row.exten, row.lang, row.priority, attributes,
    )  # fmt: skip


def _attributes(text: str) -> dict[str, Value]:
    loaded = json.loads(text or "{}")
    if not isinstance(loaded, dict):
        raise ValueError("attributes are not an object")
    plain = (str, int, float, bool, type(None))
    return {str(k): v for k, v in loaded.items() if isinstance(v, plain)}
